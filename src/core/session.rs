//! Bound sessions as the core sees them, and the messages that cross between the core
//! thread and connection tasks.

use std::net::IpAddr;
use std::sync::Arc;

use tokio::sync::oneshot;

use crate::xml::Element;

/// Identifies a connection for its whole life.
pub type SessionId = u64;

/// What the core asks a connection task to do.
#[derive(Debug)]
pub enum Outbound {
    /// Serialise and write this stanza.
    Stanza(Arc<Element>),
    /// Write this stanza shared with other sessions (a room's broadcast), addressed to
    /// this session's full JID (the session's own string).
    Shared(Arc<crate::xml::Fanout>, Arc<str>),
    /// Close the stream, with a `<stream:error>` when given (boxed: the channel's slots
    /// are sized for the largest variant, and idle sessions each keep a block of them).
    Close(Option<Box<Element>>),
}

/// The sending half a connection task gives the core.
pub use super::outbound::OutboundTx;

/// A request from a connection task to bind a resource.
#[derive(Debug)]
pub struct BindRequest {
    pub session: SessionId,
    pub username: String,
    pub host: String,
    /// Already resourceprep'd; empty means "pick one".
    pub resource: String,
    pub ip: Option<IpAddr>,
    pub secure: bool,
    pub transport: &'static str,
    pub tx: OutboundTx,
    /// The bound full JID, the session's own string (shared, not copied).
    pub reply: oneshot::Sender<Result<Arc<str>, BindError>>,
}

/// Why a bind was refused: the stanza error to answer the bind with.
pub type BindError = crate::xmpp::error::StanzaError;

/// Messages into the core thread.
#[derive(Debug)]
pub enum CoreMsg {
    Bind(BindRequest),
    Stanza {
        session: SessionId,
        stanza: Element,
        /// Its size as the connection counted it in flight (`Element::approx_bytes`),
        /// handed back when the core has handled it.
        bytes: usize,
    },
    /// The connection is gone (or closing); `error` is the reason for the unavailable
    /// presence ("Disconnected: <error>").
    Unbind {
        session: SessionId,
        error: Option<String>,
    },
    /// Close every session with `system-shutdown` and `reason` as its text.
    Shutdown {
        reason: Option<String>,
        done: oneshot::Sender<()>,
    },
    /// Work to run on the core thread with the core in hand (the admin console's
    /// commands; the task answers through a channel of its own).
    Task(CoreTask),
    /// A stream on a host with `stream-features` hooks asks for its features (boxed: the
    /// per-stanza messages should not grow for it).
    StreamFeatures(Box<StreamFeaturesRequest>),
}

/// A closure run on the core thread by [`CoreMsg::Task`].
pub struct CoreTask(pub Box<dyn FnOnce(&mut super::Core) + Send>);

impl std::fmt::Debug for CoreTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CoreTask")
    }
}

/// A c2s stream before it is bound, as `stream-features` handlers see it
/// (Prosody's session fields of reference §4.8).
#[derive(Debug, Clone)]
pub struct StreamInfo {
    pub session: SessionId,
    pub host: String,
    /// Set after SASL success.
    pub username: Option<String>,
    pub secure: bool,
    /// True only for real TLS.
    pub encrypted: bool,
    pub ip: Option<IpAddr>,
    /// Connect time, seconds since the epoch.
    pub conntime: f64,
    pub transport: &'static str,
}

/// `stream-features` for one stream: the features built so far, answered with the
/// element to send.
#[derive(Debug)]
pub struct StreamFeaturesRequest {
    pub info: StreamInfo,
    pub features: Element,
    pub reply: oneshot::Sender<Element>,
}

/// A bound c2s session, owned by the core.
///
/// The JID is kept once, as the full JID shared with the core's `full_sessions` key;
/// the account, host, resource and bare JID are slices of it (an idle session kept five
/// strings and a sixth for the map key: each a separate allocation).
#[derive(Debug)]
pub struct Session {
    pub id: SessionId,
    /// `user@host/resource`.
    jid: Arc<str>,
    /// Byte offsets of the `@` and the `/` in `jid`.
    at: u32,
    slash: u32,
    pub ip: Option<IpAddr>,
    pub secure: bool,
    pub transport: &'static str,
    pub tx: OutboundTx,
    /// The last broadcast available presence, when the session is available.
    pub presence: Option<Arc<Element>>,
    pub priority: i8,
    /// Did a roster get, so receives roster pushes (Prosody's `session.interested`).
    pub interested: bool,
    /// Full or bare JIDs this session sent directed available presence to; they get
    /// unavailable presence when the session goes offline.
    pub directed: std::collections::BTreeSet<String>,
    /// XEP-0280 carbons enabled.
    pub want_carbons: bool,
    /// Did a blocklist get, so receives blocklist pushes.
    pub interested_blocklist: bool,
}

impl Session {
    /// A fresh, unavailable session of `username@host/resource`.
    pub fn new(
        id: SessionId,
        username: &str,
        host: &str,
        resource: &str,
        tx: OutboundTx,
    ) -> Session {
        let mut full = String::with_capacity(username.len() + host.len() + resource.len() + 2);
        full.push_str(username);
        full.push('@');
        full.push_str(host);
        full.push('/');
        full.push_str(resource);
        // JID parts are at most 1 023 bytes each (RFC 7622), far below `u32::MAX`.
        let at = u32::try_from(username.len()).unwrap_or(u32::MAX);
        let slash = u32::try_from(username.len() + 1 + host.len()).unwrap_or(u32::MAX);
        Session {
            id,
            jid: Arc::from(full),
            at,
            slash,
            ip: None,
            secure: false,
            transport: "",
            tx,
            presence: None,
            priority: 0,
            interested: false,
            directed: Default::default(),
            want_carbons: false,
            interested_blocklist: false,
        }
    }

    /// The account (node part).
    pub fn username(&self) -> &str {
        &self.jid[..self.at as usize]
    }

    pub fn host(&self) -> &str {
        &self.jid[self.at as usize + 1..self.slash as usize]
    }

    pub fn resource(&self) -> &str {
        &self.jid[self.slash as usize + 1..]
    }

    pub fn full_jid(&self) -> &str {
        &self.jid
    }

    /// The full JID as shared with the core's `full_sessions` key.
    pub fn full_jid_arc(&self) -> &Arc<str> {
        &self.jid
    }

    pub fn bare_jid(&self) -> &str {
        &self.jid[..self.slash as usize]
    }

    /// Hands a stanza to the connection. A closed connection is not an error here: its
    /// `Unbind` is already on its way to the core.
    pub fn send(&self, stanza: Arc<Element>) -> bool {
        self.tx.send(Outbound::Stanza(stanza)).is_ok()
    }

    /// Hands a shared stanza to the connection, addressed to this session.
    pub fn send_shared(&self, stanza: &Arc<crate::xml::Fanout>) -> bool {
        self.tx
            .send(Outbound::Shared(stanza.clone(), self.jid.clone()))
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jid_parts_are_slices_of_the_one_full_jid() {
        let (tx, _rx) = super::super::outbound::channel();
        // A resource may itself contain '@' and '/'.
        let s = Session::new(7, "juliet", "capulet.lit", "balcony/a@b", tx);
        assert_eq!(s.username(), "juliet");
        assert_eq!(s.host(), "capulet.lit");
        assert_eq!(s.resource(), "balcony/a@b");
        assert_eq!(s.bare_jid(), "juliet@capulet.lit");
        assert_eq!(s.full_jid(), "juliet@capulet.lit/balcony/a@b");
        assert_eq!(&**s.full_jid_arc(), s.full_jid());
    }
}
