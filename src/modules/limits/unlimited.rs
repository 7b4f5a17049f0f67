//! `unlimited_jids` (a host option, inherited set): who has their limit lifted once
//! authenticated — a c2s session by its bare JID, an s2s session by its remote domain.

use std::collections::BTreeSet;

use super::parse::SessionKind;

/// The entries of `unlimited_jids`, compared case-insensitively (JIDs are case-folded by
/// stringprep; config authors write them as they like).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnlimitedJids {
    jids: BTreeSet<String>,
}

impl UnlimitedJids {
    /// From the host's `inherited_set("unlimited_jids")`.
    pub fn new<I, S>(jids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        UnlimitedJids {
            jids: jids
                .into_iter()
                .map(|j| j.as_ref().to_lowercase())
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.jids.is_empty()
    }

    /// Whether a session that just authenticated is exempt. `identity` is the bare JID
    /// (`user@host`) for c2s/WebSocket — on `authentication-success` — and the remote
    /// domain for s2sin/s2sout — on `s2sin-established`/`s2sout-established`. Components
    /// are never exempted, as in Prosody.
    pub fn lifts(&self, kind: SessionKind, identity: &str) -> bool {
        match kind {
            SessionKind::C2s
            | SessionKind::WebSocket
            | SessionKind::S2sIn
            | SessionKind::S2sOut => self.jids.contains(&identity.to_lowercase()),
            SessionKind::Component => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_bare_jid_and_remote_domain_are_lifted_others_not() {
        let u = UnlimitedJids::new(["Admin@Example.com", "trusted.example"]);
        assert!(u.lifts(SessionKind::C2s, "admin@example.com"));
        assert!(u.lifts(SessionKind::WebSocket, "admin@example.com"));
        assert!(u.lifts(SessionKind::S2sIn, "trusted.example"));
        assert!(u.lifts(SessionKind::S2sOut, "Trusted.Example"));
        assert!(!u.lifts(SessionKind::C2s, "bob@example.com"));
        assert!(!u.lifts(SessionKind::Component, "trusted.example"));
        assert!(UnlimitedJids::default().is_empty());
    }
}
