//! What is archived (Prosody's `archive-should-store` default and the
//! `dont_archive_namespaces` stripping), and the `<stanza-id/>` rules: ids claiming to be
//! from the archive owner are removed before anything else sees them.

use crate::xml::{Element, Node};
use crate::xmpp::jid::Jid;

pub const STANZA_ID: &str = "urn:xmpp:sid:0";
const HINTS: &str = "urn:xmpp:hints";

/// Prosody's default decision and its reason.
pub fn should_store(stanza: &Element) -> (bool, &'static str) {
    let has = |name: &str, ns: &str| stanza.get_child(name, ns).is_some();
    let has_ns = |ns: &str| stanza.child_elements().any(|c| c.ns == ns);
    match stanza.attr("type").unwrap_or("normal") {
        "headline" => return (false, "headline"),
        // Bounces to a full JID tell the sender a message did not arrive.
        "error" => {
            let full = stanza
                .attr("to")
                .and_then(|t| Jid::parse(t).ok())
                .is_some_and(|j| j.resource().is_some());
            return (full, "bounce");
        }
        "groupchat" => return (false, "groupchat"),
        _ => {}
    }
    if has("no-store", HINTS) || has("no-permanent-store", HINTS) {
        return (false, "hint");
    }
    if has("store", HINTS) {
        return (true, "hint");
    }
    let body = stanza.child_elements().any(|c| c.name == "body");
    if body {
        return (true, "body");
    }
    if stanza.child_elements().any(|c| c.name == "subject") {
        return (true, "subject");
    }
    if has("encryption", "urn:xmpp:eme:0") {
        return (true, "encrypted");
    }
    if has_ns("urn:xmpp:receipts") {
        return (true, "receipt");
    }
    if has_ns("urn:xmpp:chat-markers:0") {
        return (true, "marker");
    }
    let muc_invite = stanza
        .get_child("x", "http://jabber.org/protocol/muc#user")
        .is_some_and(|x| x.child_elements().any(|c| c.name == "invite"));
    if has("x", "jabber:x:conference") || muc_invite {
        return (true, "invite");
    }
    if has_ns("urn:xmpp:jingle-message:0") || has_ns("urn:xmpp:jingle-message:1") {
        return (true, "jingle call");
    }
    (false, "default")
}

/// Removes `<stanza-id by=owner/>` children (forged on the way in, or the sender's own
/// on the way out). Returns whether anything was removed.
pub fn strip_stanza_id(stanza: &mut Element, owner_bare: &str) -> bool {
    let before = stanza.children.len();
    stanza.children.retain(|n| match n {
        Node::Element(c) if c.name == "stanza-id" && c.ns == STANZA_ID => !c
            .attr("by")
            .and_then(|b| Jid::parse(b).ok())
            .is_some_and(|b| b.resource().is_none() && b.to_string() == owner_bare),
        _ => true,
    });
    stanza.children.len() != before
}

/// The copy that is stored: children in `dont_archive_namespaces` removed; `None` when
/// nothing is left.
pub fn storable_copy(stanza: &Element, strip: &[String]) -> Option<Element> {
    let mut copy = stanza.clone();
    if !strip.is_empty() {
        copy.children.retain(|n| match n {
            Node::Element(c) => !strip.iter().any(|s| s == c.ns.as_str()),
            Node::Text(_) => true,
        });
        copy.child_elements().next()?;
    }
    Some(copy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xmpp::ns;

    fn msg(kind: &str) -> Element {
        Element::new("message", ns::CLIENT).with_attr("type", kind)
    }

    #[test]
    fn chat_with_a_body_is_stored_and_chat_states_alone_are_not() {
        let m = msg("chat").with_child(Element::new("body", ns::CLIENT).with_text("hi"));
        assert_eq!(should_store(&m), (true, "body"));
        let cs = msg("chat").with_child(Element::new(
            "composing",
            "http://jabber.org/protocol/chatstates",
        ));
        assert_eq!(should_store(&cs), (false, "default"));
        let strip = vec!["http://jabber.org/protocol/chatstates".to_owned()];
        assert!(storable_copy(&cs, &strip).is_none());
    }

    #[test]
    fn headlines_groupchat_and_no_store_hints_are_not_stored() {
        let body = || Element::new("body", ns::CLIENT).with_text("x");
        assert!(!should_store(&msg("headline").with_child(body())).0);
        assert!(!should_store(&msg("groupchat").with_child(body())).0);
        let hinted = msg("chat")
            .with_child(body())
            .with_child(Element::new("no-store", HINTS));
        assert_eq!(should_store(&hinted), (false, "hint"));
        let receipt = msg("chat").with_child(Element::new("received", "urn:xmpp:receipts"));
        assert_eq!(should_store(&receipt), (true, "receipt"));
    }

    #[test]
    fn errors_are_stored_only_when_addressed_to_a_full_jid() {
        let to_full = msg("error").with_attr("to", "a@x/r");
        assert_eq!(should_store(&to_full), (true, "bounce"));
        let to_bare = msg("error").with_attr("to", "a@x");
        assert_eq!(should_store(&to_bare), (false, "bounce"));
    }

    #[test]
    fn only_stanza_ids_claiming_the_owner_are_stripped() {
        let mut m = msg("chat")
            .with_child(
                Element::new("stanza-id", STANZA_ID)
                    .with_attr("by", "alice@x")
                    .with_attr("id", "forged"),
            )
            .with_child(
                Element::new("stanza-id", STANZA_ID)
                    .with_attr("by", "room@muc.x")
                    .with_attr("id", "kept"),
            );
        assert!(strip_stanza_id(&mut m, "alice@x"));
        let ids: Vec<_> = m.child_elements().filter_map(|c| c.attr("id")).collect();
        assert_eq!(ids, ["kept"]);
    }
}
