//! One stanza for many recipients that differ only in `to` (a room's broadcast): the
//! tree is shared, and its text is serialised once per namespace scope, on the first
//! connection that writes it; every other connection copies that text with its own `to`
//! spliced in after the element name.

use std::sync::OnceLock;

use super::element::Element;
use super::serialise::escape;
use super::STREAMS_NS;

/// A stanza without `to`, to be written to many sessions with theirs.
#[derive(Debug)]
pub struct Fanout {
    stanza: Element,
    /// The text in no namespace scope (a WebSocket frame carries its own `xmlns`).
    standalone: OnceLock<String>,
    /// The text inside a `jabber:client` stream (TCP, BOSH bodies).
    in_client: OnceLock<String>,
}

impl Fanout {
    /// `stanza` should have no `to`: each recipient's is added when it is written.
    pub fn new(mut stanza: Element) -> Self {
        stanza.remove_attr("to");
        Fanout {
            stanza,
            standalone: OnceLock::new(),
            in_client: OnceLock::new(),
        }
    }

    /// The shared tree (without `to`).
    pub fn stanza(&self) -> &Element {
        &self.stanza
    }

    /// A copy of the tree addressed to `to`, for paths that need an element of their own
    /// (stream management's queue, Lua filters, other framings).
    pub fn addressed(&self, to: &str) -> Element {
        let mut el = self.stanza.clone();
        el.set_attr("to", to);
        el
    }

    /// Appends the stanza addressed to `to` as text in the scope `parent_ns` (`""` or
    /// `jabber:client`; any other scope serialises a copy).
    pub fn write_to(&self, to: &str, parent_ns: &str, out: &mut String) {
        let cache = match parent_ns {
            "" => &self.standalone,
            crate::xmpp::ns::CLIENT => &self.in_client,
            _ => {
                self.addressed(to).write_xml(out, parent_ns);
                return;
            }
        };
        if self.stanza.ns == STREAMS_NS {
            // Prefixed stream-level elements are not stanzas; never shared in practice.
            self.addressed(to).write_xml(out, parent_ns);
            return;
        }
        let text = cache.get_or_init(|| {
            let mut s = String::with_capacity(256);
            self.stanza.write_xml(&mut s, parent_ns);
            s
        });
        // `<` and the name, then our `to`, then the shared rest.
        let head = 1 + self.stanza.name.len();
        out.reserve(text.len() + to.len() + 6);
        out.push_str(&text[..head]);
        out.push_str(" to='");
        escape(to, out);
        out.push('\'');
        out.push_str(&text[head..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(xml: &str) -> Element {
        use crate::xml::{Limits, StreamEvent, StreamParser};
        let mut p = StreamParser::new(Limits::default());
        let doc = format!("<stream:stream xmlns:stream='{STREAMS_NS}'>{xml}");
        p.feed(doc.as_bytes()).expect("well-formed");
        loop {
            match p.next_event().expect("parses") {
                Some(StreamEvent::Stanza(e)) => return e,
                Some(_) => continue,
                None => panic!("no stanza in {xml}"),
            }
        }
    }

    #[test]
    fn each_recipient_gets_the_same_stanza_with_its_own_to() {
        let msg = Element::new("message", "jabber:client")
            .with_attr("from", "room@muc.example/nick")
            .with_attr("type", "groupchat")
            .with_attr("to", "ignored@example")
            .with_child(Element::new("body", "jabber:client").with_text("a <b> & 'c'"));
        let shared = Fanout::new(msg);
        for to in ["juliet@example/balcony", "romeo@example/o'neil"] {
            let mut text = String::new();
            shared.write_to(to, "", &mut text);
            let mut got = parse(&text);
            assert_eq!(got.attr("to"), Some(to), "{text}");
            got.remove_attr("to");
            assert_eq!(&got, shared.stanza(), "{text}");
        }
    }

    #[test]
    fn inside_a_client_stream_the_text_matches_a_direct_serialisation() {
        let msg = Element::new("presence", "jabber:client")
            .with_attr("from", "room@muc.example/nick")
            .with_child(Element::new("x", "http://jabber.org/protocol/muc#user"));
        let shared = Fanout::new(msg);
        let mut text = String::new();
        shared.write_to("a@example/r", "jabber:client", &mut text);
        let mut direct = String::new();
        shared
            .addressed("a@example/r")
            .write_xml(&mut direct, "jabber:client");
        // Same bytes except where `to` sits among the attributes.
        assert_eq!(text.len(), direct.len());
        assert!(!text.contains("xmlns='jabber:client'"), "{text}");
        assert!(text.starts_with("<presence to='a@example/r'"), "{text}");
    }
}
