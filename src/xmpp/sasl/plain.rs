//! SASL PLAIN (RFC 4616): `authzid NUL authcid NUL password`, with the SASLprep and
//! nodeprep Prosody applies before looking the user up.

use super::SaslError;
use crate::xmpp::jid::{self, Jid};

const BAD_CREDENTIALS: &str = "Invalid username or password.";

/// The three fields of a PLAIN message after preparation.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainCredentials {
    /// As sent; empty when the client asked for no separate identity.
    pub authzid: String,
    /// SASLprep'd and nodeprep'd username.
    pub authcid: String,
    /// SASLprep'd password.
    pub password: String,
}

impl std::fmt::Debug for PlainCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password must never reach a log line.
        f.debug_struct("PlainCredentials")
            .field("authzid", &self.authzid)
            .field("authcid", &self.authcid)
            .finish_non_exhaustive()
    }
}

impl PlainCredentials {
    /// Accepts an empty authzid or one naming `authcid@host` itself; anything else is
    /// [`SaslError::InvalidAuthzid`] (we do not let one user act as another).
    pub fn check_authzid(&self, host: &str) -> Result<(), SaslError> {
        if self.authzid.is_empty() {
            return Ok(());
        }
        let own = Jid::from_parts(Some(&self.authcid), host, None);
        match (Jid::parse(&self.authzid), own) {
            (Ok(asked), Ok(own)) if asked == own => Ok(()),
            _ => Err(SaslError::InvalidAuthzid),
        }
    }
}

/// Parses a decoded PLAIN message. Empty username or password, a missing separator, extra
/// NULs or invalid UTF-8 are `malformed-request`, as in Prosody.
pub fn parse_plain(msg: &[u8]) -> Result<PlainCredentials, SaslError> {
    let mut parts = msg.split(|&b| b == 0);
    let (Some(authzid), Some(authcid), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SaslError::MalformedRequest(""));
    };
    if authcid.is_empty() || password.is_empty() {
        return Err(SaslError::MalformedRequest(""));
    }
    let utf8 = |b: &[u8]| {
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| SaslError::MalformedRequest(BAD_CREDENTIALS))
    };
    let authzid = utf8(authzid)?;
    let authcid = utf8(authcid)?;
    let password = utf8(password)?;
    let prep = |s: &str| {
        stringprep::saslprep(s)
            .map(|c| c.into_owned())
            .map_err(|_| SaslError::MalformedRequest(BAD_CREDENTIALS))
    };
    let authcid = prep(&authcid)?;
    let password = prep(&password)?;
    if authcid.is_empty() || password.is_empty() {
        return Err(SaslError::MalformedRequest(BAD_CREDENTIALS));
    }
    let authcid =
        jid::nodeprep(&authcid).map_err(|_| SaslError::MalformedRequest(BAD_CREDENTIALS))?;
    Ok(PlainCredentials {
        authzid,
        authcid,
        password,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_without_authzid_parses_and_nodepreps_username() {
        let c = parse_plain(b"\0Alice\0pencil").unwrap();
        assert_eq!(c.authzid, "");
        assert_eq!(c.authcid, "alice");
        assert_eq!(c.password, "pencil");
    }

    #[test]
    fn plain_keeps_authzid_for_the_caller_to_check() {
        let c = parse_plain(b"alice@example.com\0alice\0pw").unwrap();
        assert_eq!(c.authzid, "alice@example.com");
        assert!(c.check_authzid("example.com").is_ok());
        assert!(c.check_authzid("EXAMPLE.com").is_ok());
        let other = parse_plain(b"bob@example.com\0alice\0pw").unwrap();
        assert_eq!(
            other.check_authzid("example.com"),
            Err(SaslError::InvalidAuthzid)
        );
    }

    #[test]
    fn plain_malformed_messages_are_rejected() {
        for bad in [
            &b""[..],
            b"alice",
            b"\0alice",
            b"\0\0pw",
            b"\0alice\0",
            b"\0alice\0pw\0extra",
            b"\0al\xffice\0pw",
            b"\0a b\0pw",
        ] {
            let err = parse_plain(bad).unwrap_err();
            assert_eq!(err.condition(), "malformed-request", "{bad:?}");
        }
    }

    #[test]
    fn plain_password_is_saslprepped() {
        // U+00A0 (no-break space) maps to a plain space under SASLprep.
        let c = parse_plain("\0alice\0a\u{a0}b".as_bytes()).unwrap();
        assert_eq!(c.password, "a b");
        assert!(!format!("{c:?}").contains("a b"));
    }
}
