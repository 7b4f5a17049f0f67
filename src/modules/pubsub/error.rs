//! Pubsub errors and the stanza errors Prosody answers them with (reference §14.2).

use crate::xml::Element;
use crate::xmpp::error::stanza_error_reply;

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
    /// A malformed request (data form errors, empty `<pubsub/>`): type, condition, text.
    #[error("{1}")]
    Other(&'static str, &'static str, Option<String>),
}

impl PubsubError {
    /// (type, condition, text, pubsub#errors child)
    fn parts(
        &self,
    ) -> (
        &'static str,
        &'static str,
        Option<String>,
        Option<&'static str>,
    ) {
        use PubsubError::*;
        match self {
            Forbidden => ("auth", "forbidden", None, None),
            ItemNotFound => ("cancel", "item-not-found", None, None),
            Conflict => ("cancel", "conflict", None, None),
            NotAcceptable => ("modify", "not-acceptable", None, None),
            NodeIdRequired => ("modify", "bad-request", None, Some("nodeid-required")),
            InvalidJid => ("modify", "bad-request", None, Some("invalid-jid")),
            JidRequired => ("modify", "bad-request", None, Some("jid-required")),
            InvalidOptions => ("modify", "bad-request", None, Some("invalid-options")),
            NotSubscribed => ("modify", "unexpected-request", None, Some("not-subscribed")),
            PreconditionNotMet(field) => (
                "cancel",
                "conflict",
                Some(format!("Field does not match: {field}")),
                Some("precondition-not-met"),
            ),
            InvalidItem => ("modify", "bad-request", Some("invalid item".into()), None),
            PersistentItemsUnsupported => (
                "cancel",
                "feature-not-implemented",
                None,
                Some("persistent-items"),
            ),
            Storage => ("wait", "internal-server-error", None, None),
            Other(t, c, text) => (t, c, text.clone(), None),
        }
    }

    /// The error reply to `stanza`.
    pub fn reply(&self, stanza: &Element) -> Element {
        let (t, c, text, child) = self.parts();
        let mut e = stanza_error_reply(stanza, t, c, text.as_deref());
        if let Some(name) = child {
            let ns = stanza.ns.clone();
            if let Some(err) = e.get_child_mut("error", &ns) {
                err.push_child(Element::new(name, PUBSUB_ERRORS));
            }
        }
        e
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
