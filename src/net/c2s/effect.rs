//! What a c2s session asks its driver to do, the driver's answers, and where the session
//! is in its life.

use std::sync::Arc;
use std::time::Instant;

use crate::core::StreamInfo;
use crate::xml::Element;
use crate::xmpp::error::StanzaError;
use crate::xmpp::sasl::ScramCredentials;

/// What the driver must do for the session. Effects marked "answer" wait for
/// [`C2sSession::answer`] before the session goes on.
#[derive(Debug)]
pub enum Effect {
    /// A stanza of the bound session, for the core.
    Route(Element),
    /// Answer: [`Answer::Scram`].
    LoadScram { username: String },
    /// Answer: [`Answer::Plain`].
    VerifyPlain { username: String, password: String },
    /// Answer: [`Answer::Registered`] with the reply to `iq`.
    Register {
        username: String,
        password: String,
        iq: Element,
    },
    /// Answer: [`Answer::Bound`].
    Bind { resource: String },
    /// Answer: [`Answer::Features`].
    CollectFeatures(StreamInfo, Element),
    /// Write what is queued, run the TLS handshake; answer [`Answer::Tls`].
    StartTls,
    /// Answer: [`Answer::Resumed`] (a `<resume/>`: ask the old session's task).
    Resume(Box<super::session::sm::ResumeRequest>),
    /// The core must forget the session now (`error`: the unavailable presence's reason);
    /// the connection may still be flushing.
    Unbind(Option<String>),
}

/// The driver's answer to an effect.
#[derive(Debug)]
pub enum Answer {
    Scram(Option<ScramCredentials>),
    Plain(bool),
    Registered(Element),
    Bound(Result<Arc<str>, StanzaError>),
    Features(Element),
    /// The old session handed over, or why there is none.
    Resumed(
        Box<super::session::sm::ResumeRequest>,
        Result<
            crate::modules::smacks::registry::Handover,
            crate::modules::smacks::registry::NotFound,
        >,
    ),
    /// The TLS handshake finished (`Some`: with this `tls-exporter` value, `None` inside:
    /// none offered) or failed (`None`).
    Tls(Option<Option<Vec<u8>>>),
}

/// Where the session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Open,
    /// Write what is queued until this instant, then close the socket.
    Flushing(Instant),
    /// Close the socket now.
    Done,
}
