//! Stanza error replies and stream errors in the shapes Prosody sends them
//! (`util.stanza.error_reply`, `session:close{condition, text}`).

use super::ns;
use crate::xml::Element;

/// The error reply to `orig`: same element name and namespace, `to`/`from` swapped, `id`
/// kept, `type='error'`, and `<error type=..><condition/>[<text/>]</error>`. Callers must
/// not answer a stanza that is itself of type `error` (Prosody refuses to).
///
/// ```ignore
/// let reply = stanza_error_reply(&iq, "cancel", "service-unavailable", None);
/// ```
pub fn stanza_error_reply(
    orig: &Element,
    error_type: &str,
    condition: &str,
    text: Option<&str>,
) -> Element {
    let mut reply = Element::new(&orig.name, &orig.ns);
    if let Some(from) = orig.attr("from") {
        reply.set_attr("to", from);
    }
    if let Some(to) = orig.attr("to") {
        reply.set_attr("from", to);
    }
    if let Some(id) = orig.attr("id") {
        reply.set_attr("id", id);
    }
    reply.set_attr("type", "error");
    let mut error = Element::new("error", &orig.ns)
        .with_attr("type", error_type)
        .with_child(Element::new(condition, ns::STANZAS));
    if let Some(text) = text {
        error.push_child(Element::new("text", ns::STANZAS).with_text(text));
    }
    reply.push_child(error);
    reply
}

/// `<stream:error><condition xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>[<text>][extra]
/// </stream:error>`.
pub fn stream_error(condition: &str, text: Option<&str>, extra: Option<Element>) -> Element {
    let mut error =
        Element::new("error", ns::STREAMS).with_child(Element::new(condition, ns::STREAM_ERRORS));
    if let Some(text) = text {
        error.push_child(Element::new("text", ns::STREAM_ERRORS).with_text(text));
    }
    if let Some(extra) = extra {
        error.push_child(extra);
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_reply_swaps_addresses_and_keeps_id() {
        let iq = Element::new("iq", ns::CLIENT)
            .with_attr("from", "a@x/r")
            .with_attr("to", "x")
            .with_attr("id", "q1")
            .with_attr("type", "get")
            .with_child(Element::new("query", "urn:x"));
        let reply = stanza_error_reply(&iq, "cancel", "item-not-found", Some("Nope"));
        assert_eq!(reply.name, "iq");
        assert_eq!(reply.attr("to"), Some("a@x/r"));
        assert_eq!(reply.attr("from"), Some("x"));
        assert_eq!(reply.attr("id"), Some("q1"));
        assert_eq!(reply.attr("type"), Some("error"));
        assert!(reply.get_child("query", "urn:x").is_none());
        let error = reply.get_child("error", ns::CLIENT).unwrap();
        assert_eq!(error.attr("type"), Some("cancel"));
        assert!(error.get_child("item-not-found", ns::STANZAS).is_some());
        assert_eq!(error.get_child("text", ns::STANZAS).unwrap().text(), "Nope");
    }

    #[test]
    fn error_reply_without_addresses_has_none() {
        let msg = Element::new("message", ns::CLIENT).with_attr("type", "chat");
        let reply = stanza_error_reply(&msg, "modify", "bad-request", None);
        assert_eq!(reply.attr("to"), None);
        assert_eq!(reply.attr("from"), None);
        let error = reply.get_child("error", ns::CLIENT).unwrap();
        assert!(error.get_child("text", ns::STANZAS).is_none());
    }

    #[test]
    fn stream_error_carries_condition_text_and_extra() {
        let extra = Element::new("x", "urn:extra");
        let e = stream_error("conflict", Some("Replaced by new connection"), Some(extra));
        assert_eq!((e.name.as_str(), e.ns.as_str()), ("error", ns::STREAMS));
        assert!(e.get_child("conflict", ns::STREAM_ERRORS).is_some());
        assert_eq!(
            e.get_child("text", ns::STREAM_ERRORS).unwrap().text(),
            "Replaced by new connection"
        );
        assert!(e.get_child("x", "urn:extra").is_some());
    }
}
