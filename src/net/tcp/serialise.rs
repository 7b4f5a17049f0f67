//! What a c2s TCP stream looks like on the wire (reference §9.1): the server's stream
//! header, stanzas in the stream's default namespace `jabber:client` without `xmlns`,
//! stream-level elements with the `stream:` prefix, and the closing tag.

use crate::xml::{escape, Element, Node};
use crate::xmpp::ns;

/// The closing tag of the stream.
pub const CLOSE: &str = "</stream:stream>";

/// `<?xml version='1.0'?><stream:stream ...>`. `from` None and `id` empty is the header
/// sent just before an early stream error.
pub fn header(from: Option<&str>, to: Option<&str>, id: &str, version: bool) -> String {
    let mut s = String::with_capacity(256);
    s.push_str("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='");
    s.push_str(ns::STREAMS);
    s.push_str("' xml:lang='en' id='");
    escape(id, &mut s);
    s.push('\'');
    for (name, value) in [("from", from), ("to", to)] {
        if let Some(v) = value {
            s.push(' ');
            s.push_str(name);
            s.push_str("='");
            escape(v, &mut s);
            s.push('\'');
        }
    }
    if version {
        s.push_str(" version='1.0'");
    }
    s.push('>');
    s
}

/// Appends one top-level element as it is written inside a `jabber:client` stream.
pub fn write_element(el: &Element, out: &mut String) {
    if el.ns != ns::STREAMS {
        el.write_xml(out, ns::CLIENT);
        return;
    }
    out.push_str("<stream:");
    out.push_str(&el.name);
    for (k, v) in &el.attrs {
        out.push(' ');
        out.push_str(k);
        out.push_str("='");
        escape(v, out);
        out.push('\'');
    }
    if el.children.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    for child in &el.children {
        match child {
            Node::Element(c) => c.write_xml(out, ns::STREAMS),
            Node::Text(t) => escape(t, out),
        }
    }
    out.push_str("</stream:");
    out.push_str(&el.name);
    out.push('>');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xmpp::error::{StreamCondition, StreamError};

    #[test]
    fn header_has_prosody_attribute_order_and_optional_parts() {
        assert_eq!(
            header(Some("example.test"), Some("a@example.test"), "abc", true),
            "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
             xmlns:stream='http://etherx.jabber.org/streams' xml:lang='en' id='abc' \
             from='example.test' to='a@example.test' version='1.0'>"
        );
        assert_eq!(
            header(None, None, "", false),
            "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
             xmlns:stream='http://etherx.jabber.org/streams' xml:lang='en' id=''>"
        );
    }

    #[test]
    fn stanzas_carry_no_client_namespace_and_stream_elements_are_prefixed() {
        let mut out = String::new();
        let msg = Element::new("message", ns::CLIENT)
            .with_attr("to", "b@x")
            .with_child(Element::new("body", ns::CLIENT).with_text("<hi>"));
        write_element(&msg, &mut out);
        assert_eq!(out, "<message to='b@x'><body>&lt;hi&gt;</body></message>");
        out.clear();
        write_element(
            &StreamError::new(StreamCondition::NotWellFormed).element(),
            &mut out,
        );
        assert_eq!(
            out,
            "<stream:error><not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
        );
        out.clear();
        write_element(&Element::new("success", ns::SASL), &mut out);
        assert_eq!(out, "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
    }
}
