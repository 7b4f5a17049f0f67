//! Notification messages (`<message><event xmlns='…pubsub#event'>`) as the PEP and
//! component broadcasters build them.

use super::config::Value;
use super::protocol::PUBSUB_EVENT;
use super::service::{Broadcast, Kind};
use crate::xml::{Element, Node};
use crate::xmpp::ns;

/// How a service's notifications look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// mod_pep: always headline, `publisher` kept.
    Pep,
    /// mod_pubsub: `notification_type`, `publisher` only with `expose_publisher`.
    Component { expose_publisher: bool },
}

/// Gives the event's children (and the `<item>` itself) the event namespace, as
/// clearing the pubsub xmlns does in Prosody.
fn in_event_ns(mut item: Element) -> Element {
    item.ns = PUBSUB_EVENT.into();
    item
}

/// The message for `b`, without `to`; the id is fresh.
pub fn message(b: &Broadcast, from: &str, style: Style) -> Element {
    let kind = match b.kind {
        Kind::Items | Kind::Retract => "items",
        Kind::Delete => "delete",
        Kind::Purge => "purge",
    };
    let mut container = Element::new(kind, PUBSUB_EVENT).with_attr("node", b.node.as_str());
    if let Some(item) = &b.item {
        let mut item = in_event_ns(item.clone());
        if b.kind == Kind::Items {
            let no_payload = b
                .config
                .as_ref()
                .is_some_and(|c| c.get("include_payload") == Some(&Value::Bool(false)));
            if no_payload {
                item.children.retain(|c| !matches!(c, Node::Element(_)));
            }
            if let Style::Component { expose_publisher } = style {
                if !expose_publisher {
                    item.remove_attr("publisher");
                }
            }
        }
        container.push_child(item);
    }
    let mtype = match style {
        Style::Pep => "headline".to_owned(),
        Style::Component { .. } => b
            .config
            .as_ref()
            .and_then(|c| c.get("notification_type"))
            .and_then(Value::as_str)
            .unwrap_or("headline")
            .to_owned(),
    };
    Element::new("message", ns::CLIENT)
        .with_attr("from", from)
        .with_attr("type", mtype)
        .with_attr("id", new_id())
        .with_child(Element::new("event", PUBSUB_EVENT).with_child(container))
}

/// A random id like util.id.medium's (12 URL-safe base64 characters).
pub fn new_id() -> String {
    use base64::Engine;
    let bytes: [u8; 9] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The Atom summary the component adds as `<body>` for subscribers asking
/// `pubsub#include_body` (Prosody's default `pubsub_summary_templates`): the entry's
/// summary, else "<author> posted <title>", else the title.
pub fn atom_summary(payload: &Element) -> Option<String> {
    const ATOM: &str = "http://www.w3.org/2005/Atom";
    if payload.ns != ATOM {
        return None;
    }
    if let Some(s) = payload.get_child("summary", ATOM).map(Element::text) {
        if !s.is_empty() {
            return Some(s);
        }
    }
    let title = payload
        .get_child("title", ATOM)
        .map(Element::text)
        .unwrap_or_default();
    let author = payload
        .get_child("author", ATOM)
        .and_then(|a| a.get_child("name", ATOM))
        .map(Element::text)
        .filter(|a| !a.is_empty());
    let s = match author {
        Some(a) => format!("{a} posted {title}"),
        None => title,
    };
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::pubsub::service::PUBSUB;

    fn item() -> Element {
        Element::new("item", PUBSUB)
            .with_attr("id", "i1")
            .with_attr("publisher", "a@x")
            .with_child(Element::new("nick", "http://jabber.org/protocol/nick").with_text("A"))
    }

    #[test]
    fn pep_notification_is_headline_from_the_account_with_publisher() {
        let b = Broadcast {
            kind: Kind::Items,
            node: "n".into(),
            recipients: vec![],
            item: Some(item()),
            config: None,
        };
        let m = message(&b, "a@x", Style::Pep);
        let xml = m.to_xml();
        assert!(
            xml.starts_with("<message xmlns='jabber:client' from='a@x' type='headline' id='"),
            "{xml}"
        );
        assert!(xml.contains("<event xmlns='http://jabber.org/protocol/pubsub#event'><items node='n'><item id='i1' publisher='a@x'><nick xmlns='http://jabber.org/protocol/nick'>A</nick></item></items></event>"), "{xml}");
    }

    #[test]
    fn component_strips_publisher_and_honours_payload_and_type_settings() {
        let mut config = crate::modules::pubsub::config::ConfigMap::new();
        config.insert("include_payload".into(), Value::Bool(false));
        config.insert("notification_type".into(), "normal".into());
        let b = Broadcast {
            kind: Kind::Items,
            node: "n".into(),
            recipients: vec![],
            item: Some(item()),
            config: Some(config),
        };
        let xml = message(
            &b,
            "pubsub.x",
            Style::Component {
                expose_publisher: false,
            },
        )
        .to_xml();
        assert!(xml.contains("type='normal'"), "{xml}");
        assert!(
            xml.contains("<items node='n'><item id='i1'/></items>"),
            "{xml}"
        );
    }

    #[test]
    fn atom_summary_prefers_summary_then_author_and_title() {
        let atom = "http://www.w3.org/2005/Atom";
        let e = Element::new("entry", atom)
            .with_child(Element::new("title", atom).with_text("Hello"))
            .with_child(
                Element::new("author", atom)
                    .with_child(Element::new("name", atom).with_text("Ann")),
            );
        assert_eq!(atom_summary(&e).as_deref(), Some("Ann posted Hello"));
    }
}
