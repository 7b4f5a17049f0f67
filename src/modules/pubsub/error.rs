//! Pubsub errors and the stanza errors Prosody answers them with (reference §14.2).

use crate::xml::Element;
use crate::xmpp::error::{StanzaCondition, StanzaError};

pub const PUBSUB_ERRORS: &str = "http://jabber.org/protocol/pubsub#errors";

/// Why a pubsub operation failed; each maps to one stanza error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PubsubError {
    #[error("forbidden")]
    Forbidden,
    #[error("item-not-found")]
    ItemNotFound,
    #[error("conflict")]
    Conflict,
    #[error("not-acceptable")]
    NotAcceptable,
    #[error("nodeid-required")]
    NodeIdRequired,
    #[error("invalid-jid")]
    InvalidJid,
    #[error("jid-required")]
    JidRequired,
    #[error("invalid-options")]
    InvalidOptions,
    #[error("not-subscribed")]
    NotSubscribed,
    /// publish-options did not match the node's config.
    #[error("precondition-not-met: {0}")]
    PreconditionNotMet(String),
    #[error("invalid-item")]
    InvalidItem,
    #[error("persistent-items-unsupported")]
    PersistentItemsUnsupported,
    /// Our storage failed.
    #[error("internal-server-error")]
    Storage,
    /// A malformed request (data form errors, empty `<pubsub/>`).
    #[error("{}", .0.condition)]
    Other(StanzaError),
}

impl PubsubError {
    /// The stanza error Prosody answers this with, pubsub#errors child included.
    pub fn stanza_error(&self) -> StanzaError {
        use PubsubError::*;
        use StanzaCondition as C;
        let app = |e: StanzaError, name: &str| e.with_child(Element::new(name, PUBSUB_ERRORS));
        match self {
            Forbidden => StanzaError::auth(C::Forbidden),
            ItemNotFound => StanzaError::cancel(C::ItemNotFound),
            Conflict => StanzaError::cancel(C::Conflict),
            NotAcceptable => StanzaError::modify(C::NotAcceptable),
            NodeIdRequired => app(StanzaError::modify(C::BadRequest), "nodeid-required"),
            InvalidJid => app(StanzaError::modify(C::BadRequest), "invalid-jid"),
            JidRequired => app(StanzaError::modify(C::BadRequest), "jid-required"),
            InvalidOptions => app(StanzaError::modify(C::BadRequest), "invalid-options"),
            NotSubscribed => app(StanzaError::modify(C::UnexpectedRequest), "not-subscribed"),
            PreconditionNotMet(field) => app(
                StanzaError::cancel(C::Conflict)
                    .with_text(format!("Field does not match: {field}")),
                "precondition-not-met",
            ),
            InvalidItem => StanzaError::modify(C::BadRequest).with_text("invalid item"),
            PersistentItemsUnsupported => app(
                StanzaError::cancel(C::FeatureNotImplemented),
                "persistent-items",
            ),
            Storage => StanzaError::wait(C::InternalServerError),
            Other(e) => e.clone(),
        }
    }

    /// The error reply to `stanza`.
    pub fn reply(&self, stanza: &Element) -> Element {
        self.stanza_error().reply(stanza)
    }
}

/// Why one field of a submitted config or options form was refused: the client's input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldError {
    #[error("Invalid boolean representation:{0}")]
    Boolean(String),
    #[error("not a number")]
    NotANumber,
    #[error("not an integer")]
    NotAnInteger,
    #[error("out of bounds")]
    OutOfBounds,
}

/// The refused fields of a submitted form, by option name; shown as Prosody's
/// "field: message; field: message" text of a `modify/bad-request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormError(pub Vec<(&'static str, FieldError)>);

impl std::fmt::Display for FormError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (name, e)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{name}: {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for FormError {}

impl From<FormError> for PubsubError {
    fn from(e: FormError) -> Self {
        PubsubError::Other(
            StanzaError::modify(StanzaCondition::BadRequest).with_text(e.to_string()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precondition_error_is_a_conflict_with_the_field_and_pubsub_child() {
        let iq = Element::new("iq", "jabber:client")
            .with_attr("type", "set")
            .with_attr("id", "1");
        let xml = PubsubError::PreconditionNotMet("access_model".into())
            .reply(&iq)
            .to_xml();
        assert!(xml.contains("type='cancel'"), "{xml}");
        assert!(xml.contains("<conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"));
        assert!(xml.contains("Field does not match: access_model"));
        assert!(xml
            .contains("<precondition-not-met xmlns='http://jabber.org/protocol/pubsub#errors'/>"));
    }
}
