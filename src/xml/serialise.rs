//! Serialiser in Prosody's style: single-quoted attributes, all five special characters
//! escaped, `xmlns` only where the namespace changes. Iterative, so depth costs heap only.

use super::element::{Element, Node};
use super::STREAMS_NS;

/// Appends `s` to `out` with `& < > ' "` escaped as `&amp; &lt; &gt; &apos; &quot;`.
pub fn escape(s: &str, out: &mut String) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let rep = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'\'' => "&apos;",
            b'"' => "&quot;",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        out.push_str(rep);
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

enum Step<'a> {
    Open(&'a Element, &'a str),
    Close(&'a Element),
    Text(&'a str),
}

impl Element {
    /// Serialises into `out`. `parent_ns` is the default namespace in scope where the
    /// element is written (`"jabber:client"` inside a c2s stream); `xmlns='..'` is
    /// emitted only when the element's namespace differs. Elements in the streams
    /// namespace are written with the `stream:` prefix, which the stream header declares,
    /// and do not change the default namespace of their children. A hand-set `xmlns`
    /// attribute is written only where no `xmlns` is generated, so a standalone
    /// WebSocket frame of a `stream:*` element can carry `xmlns='jabber:client'` and
    /// `xmlns:stream='..'` as ordinary attributes.
    ///
    /// ```
    /// # use lilt::xml::Element;
    /// let mut out = String::new();
    /// Element::new("presence", "jabber:client").write_xml(&mut out, "jabber:client");
    /// assert_eq!(out, "<presence/>");
    /// ```
    pub fn write_xml(&self, out: &mut String, parent_ns: &str) {
        let mut stack = vec![Step::Open(self, parent_ns)];
        while let Some(step) = stack.pop() {
            match step {
                Step::Open(el, scope) => {
                    let inner_scope = open_tag(el, scope, out);
                    if el.children.is_empty() {
                        out.push_str("/>");
                        continue;
                    }
                    out.push('>');
                    stack.push(Step::Close(el));
                    for child in el.children.iter().rev() {
                        stack.push(match child {
                            Node::Element(c) => Step::Open(c, inner_scope),
                            Node::Text(t) => Step::Text(t),
                        });
                    }
                }
                Step::Close(el) => {
                    out.push_str("</");
                    push_name(el, out);
                    out.push('>');
                }
                Step::Text(t) => escape(t, out),
            }
        }
    }

    /// The element as a standalone string: `write_xml` with no namespace in scope.
    pub fn to_xml(&self) -> String {
        let mut out = String::new();
        self.write_xml(&mut out, "");
        out
    }
}

fn push_name(el: &Element, out: &mut String) {
    if el.ns == STREAMS_NS {
        out.push_str("stream:");
    }
    out.push_str(&el.name);
}

/// Writes `<name xmlns.. attrs..` and returns the default namespace for the children.
fn open_tag<'a>(el: &'a Element, scope: &'a str, out: &mut String) -> &'a str {
    out.push('<');
    push_name(el, out);
    let wrote_xmlns = el.ns != STREAMS_NS && el.ns != scope;
    if wrote_xmlns {
        push_attr(out, "xmlns", &el.ns);
    }
    let inner_scope = if el.ns == STREAMS_NS { scope } else { &el.ns };
    let mut generated = 0;
    for (key, value) in &el.attrs {
        match clark(key) {
            Some((uri, local)) => {
                // Each namespaced attribute gets its own prefix declared right here.
                let prefix = format!("ns{generated}");
                generated += 1;
                push_attr(out, &format!("xmlns:{prefix}"), uri);
                push_attr(out, &format!("{prefix}:{local}"), value);
            }
            // A hand-set `xmlns` attribute must not duplicate the one written above.
            None if key == "xmlns" && wrote_xmlns => {}
            None => push_attr(out, key, value),
        }
    }
    inner_scope
}

fn clark(key: &str) -> Option<(&str, &str)> {
    key.strip_prefix('{')?.split_once('}')
}

fn push_attr(out: &mut String, key: &str, value: &str) {
    out.push(' ');
    out.push_str(key);
    out.push_str("='");
    escape(value, out);
    out.push('\'');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_replaces_all_five_specials() {
        let mut out = String::new();
        escape("a&b<c>d'e\"f é", &mut out);
        assert_eq!(out, "a&amp;b&lt;c&gt;d&apos;e&quot;f é");
    }

    #[test]
    fn attributes_are_single_quoted_and_escaped() {
        let el = Element::new("x", "").with_attr("a", "'\"<>&");
        assert_eq!(el.to_xml(), "<x a='&apos;&quot;&lt;&gt;&amp;'/>");
    }

    #[test]
    fn xmlns_is_emitted_only_where_the_namespace_changes() {
        let el = Element::new("message", "jabber:client")
            .with_attr("to", "a@b")
            .with_child(Element::new("body", "jabber:client").with_text("hi & bye"))
            .with_child(
                Element::new("x", "urn:x")
                    .with_child(Element::new("y", "urn:x"))
                    .with_child(Element::new("z", "")),
            );
        let mut out = String::new();
        el.write_xml(&mut out, "jabber:client");
        assert_eq!(
            out,
            "<message to='a@b'><body>hi &amp; bye</body>\
             <x xmlns='urn:x'><y/><z xmlns=''/></x></message>"
        );
        assert!(el
            .to_xml()
            .starts_with("<message xmlns='jabber:client' to='a@b'>"));
    }

    #[test]
    fn stream_namespace_elements_use_the_stream_prefix() {
        let err = Element::new("error", STREAMS_NS).with_child(Element::new(
            "conflict",
            "urn:ietf:params:xml:ns:xmpp-streams",
        ));
        let mut out = String::new();
        err.write_xml(&mut out, "jabber:client");
        assert_eq!(
            out,
            "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
        );
    }

    #[test]
    fn xml_lang_and_clark_attributes_are_written_with_prefixes() {
        let el = Element::new("m", "")
            .with_attr("xml:lang", "en")
            .with_attr("{urn:p}k", "v");
        assert_eq!(
            el.to_xml(),
            "<m xml:lang='en' xmlns:ns0='urn:p' ns0:k='v'/>"
        );
    }

    #[test]
    fn a_hand_set_xmlns_attribute_is_never_duplicated() {
        let el = Element::new("m", "urn:a").with_attr("xmlns", "urn:b");
        assert_eq!(el.to_xml(), "<m xmlns='urn:a'/>");
        let el = Element::new("features", STREAMS_NS).with_attr("xmlns:stream", STREAMS_NS);
        assert_eq!(
            el.to_xml(),
            "<stream:features xmlns:stream='http://etherx.jabber.org/streams'/>"
        );
    }

    #[test]
    fn websocket_framing_of_a_stream_element_by_hand_set_declarations() {
        // RFC 7395 frames stand alone: the `stream:` prefix and the default namespace
        // must be declared on the element itself.
        let features = Element::new("features", STREAMS_NS)
            .with_attr("xmlns", "jabber:client")
            .with_attr("xmlns:stream", STREAMS_NS)
            .with_child(Element::new("bind", "urn:ietf:params:xml:ns:xmpp-bind"))
            .with_child(Element::new("x", "jabber:client"));
        let mut out = String::new();
        features.write_xml(&mut out, "jabber:client");
        assert_eq!(
            out,
            "<stream:features xmlns='jabber:client' \
             xmlns:stream='http://etherx.jabber.org/streams'>\
             <bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><x/></stream:features>"
        );
    }

    #[test]
    fn serialising_a_100k_deep_tree_does_not_overflow_the_stack() {
        let mut el = Element::new("a", "");
        for _ in 0..100_000 {
            el = Element::new("a", "").with_child(el);
        }
        let s = el.to_xml();
        assert!(s.starts_with("<a><a><a>"));
        assert_eq!(s.len(), 100_000 * 7 + 4);
    }
}
