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
    pub reply: oneshot::Sender<Result<String, BindError>>,
}

/// Why a bind was refused, as the stanza error to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindError {
    pub error_type: &'static str,
    pub condition: &'static str,
    pub text: Option<String>,
}

/// Messages into the core thread.
#[derive(Debug)]
pub enum CoreMsg {
    Bind(BindRequest),
    Stanza {
        session: SessionId,
        stanza: Element,
    },
    /// The connection is gone (or closing); `error` is the reason for the unavailable
    /// presence ("Disconnected: <error>").
    Unbind {
        session: SessionId,
        error: Option<String>,
    },
    Shutdown {
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
#[derive(Debug)]
pub struct Session {
    pub id: SessionId,
    pub username: String,
    pub host: String,
    pub resource: String,
    pub full_jid: String,
    pub bare_jid: String,
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
    /// Hands a stanza to the connection. A closed connection is not an error here: its
    /// `Unbind` is already on its way to the core.
    pub fn send(&self, stanza: Arc<Element>) -> bool {
        self.tx.send(Outbound::Stanza(stanza)).is_ok()
    }
}
