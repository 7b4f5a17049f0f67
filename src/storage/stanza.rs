//! Stanzas as Prosody stores them (`util.stanza` preserialize/deserialize): a table with
//! `name`, `attr` and the children in its sequence part, strings for text. An element
//! carries `attr.xmlns` when its namespace differs from its parent's; the top-level
//! stanza's implied parent namespace is `jabber:client`.

use super::{LuaKey, LuaTable, LuaValue};
use crate::xml::{Element, Node};
use crate::xmpp::ns;

/// How a namespaced attribute may appear in stored data (namespace URI, `\1`, local
/// name); Prosody's parser itself names `xml:*` attributes with the `xml:` prefix.
const XML_NS_KEY: &str = "http://www.w3.org/XML/1998/namespace\u{1}";

/// The stored form of a stanza.
pub fn preserialize(el: &Element) -> LuaValue {
    LuaValue::Table(element_table(el, ns::CLIENT))
}

fn element_table(el: &Element, parent_ns: &str) -> LuaTable {
    let mut t = LuaTable::new();
    let mut attr = LuaTable::new();
    if el.ns != parent_ns {
        attr.set("xmlns", el.ns.as_str());
    }
    for (k, v) in &el.attrs {
        attr.set(k.as_str(), v.as_str());
    }
    for child in &el.children {
        match child {
            Node::Element(c) => t.push(LuaValue::Table(element_table(c, &el.ns))),
            Node::Text(s) => t.push(s.as_str()),
        }
    }
    t.set("name", el.name.as_str());
    t.set("attr", attr);
    t
}

/// Rebuilds a stanza from its stored form; `None` when the value is not one.
pub fn deserialize(value: &LuaValue) -> Option<Element> {
    element_from(value.as_table()?, ns::CLIENT)
}

fn element_from(t: &LuaTable, parent_ns: &str) -> Option<Element> {
    let name = t.field("name")?.as_str()?;
    let attr = t.field("attr").and_then(LuaValue::as_table);
    let ns = attr
        .and_then(|a| a.field("xmlns"))
        .and_then(LuaValue::as_str)
        .unwrap_or(parent_ns)
        .to_owned();
    let mut el = Element::new(name, &ns);
    if let Some(attr) = attr {
        for (k, v) in attr.iter() {
            let (LuaKey::Str(k), Some(v)) = (k, v.as_str()) else {
                continue;
            };
            if k == "xmlns" {
                continue;
            }
            // Also accepts the `ns\1name` and older `ns|name` spellings of `xml:*` names.
            let key = match k
                .strip_prefix(XML_NS_KEY)
                .or_else(|| k.strip_prefix("http://www.w3.org/XML/1998/namespace|"))
            {
                Some(local) => format!("xml:{local}"),
                None => k.clone(),
            };
            el.attrs.push((key.into(), v.into()));
        }
    }
    for child in t.sequence() {
        match child {
            LuaValue::Str(s) => el.children.push(Node::Text(s.as_str().into())),
            LuaValue::Table(c) => {
                if let Some(c) = element_from(c, &ns) {
                    el.children.push(Node::Element(c));
                }
            }
            _ => {}
        }
    }
    Some(el)
}

/// The stanza a stored value holds, when it is one (a table with a string `name` and
/// an `attr` table, as `st.preserialize` makes them).
pub fn as_stanza(value: &LuaValue) -> Option<Element> {
    let t = value.as_table()?;
    t.field("name")?.as_str()?;
    t.field("attr")?.as_table()?;
    deserialize(value)
}

/// A stanza as Prosody's SQL driver stores it: `tostring(stanza)`, with no `xmlns` on
/// the top element when it is in `jabber:client`.
pub fn to_xml(el: &Element) -> String {
    let mut out = String::new();
    el.write_xml(&mut out, ns::CLIENT);
    out
}

/// Why a stored (or Lua-supplied) element did not parse: the data is at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    #[error(transparent)]
    Xml(#[from] crate::xml::XmlError),
    #[error("incomplete XML")]
    Incomplete,
}

/// Parses one stored element (its implied namespace `jabber:client`).
pub fn parse_xml(text: &str) -> Result<Element, ParseError> {
    use crate::xml::{Limits, StreamEvent, StreamParser};
    let mut p = StreamParser::new(Limits {
        max_stanza_bytes: 1 << 26,
        max_depth: 500,
        max_child_elements: 1_000_000,
        ..Limits::default()
    });
    let head =
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";
    p.feed(head.as_bytes())?;
    p.feed(text.as_bytes())?;
    loop {
        match p.next_event()? {
            Some(StreamEvent::Stanza(el)) => return Ok(el),
            Some(StreamEvent::Open(_)) => continue,
            _ => return Err(ParseError::Incomplete),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_namespaces_attributes_and_text() {
        let el = Element::new("message", ns::CLIENT)
            .with_attr("to", "a@b")
            .with_attr("xml:lang", "en")
            .with_child(Element::new("body", ns::CLIENT).with_text("hi & <bye>"))
            .with_child(
                Element::new("x", "urn:example")
                    .with_child(Element::new("y", "urn:example").with_text("z")),
            );
        let stored = preserialize(&el);
        let t = stored.as_table().expect("a table");
        let body = t
            .get(&LuaKey::Int(1))
            .and_then(LuaValue::as_table)
            .expect("body");
        assert_eq!(
            body.field("attr")
                .and_then(LuaValue::as_table)
                .map(LuaTable::len),
            Some(0)
        );
        let x = t
            .get(&LuaKey::Int(2))
            .and_then(LuaValue::as_table)
            .expect("x");
        let xattr = x.field("attr").and_then(LuaValue::as_table).expect("attr");
        assert_eq!(
            xattr.field("xmlns").and_then(LuaValue::as_str),
            Some("urn:example")
        );
        let attr = t.field("attr").and_then(LuaValue::as_table).expect("attr");
        assert_eq!(
            attr.field("xml:lang").and_then(LuaValue::as_str),
            Some("en")
        );
        assert_eq!(deserialize(&stored), Some(el));
    }

    #[test]
    fn namespaced_xml_attribute_spellings_read_as_xml_prefix() {
        let mut attr = LuaTable::new();
        attr.set("http://www.w3.org/XML/1998/namespace\u{1}lang", "de");
        let mut t = LuaTable::new();
        t.set("name", "message");
        t.set("attr", attr);
        let el = deserialize(&LuaValue::Table(t)).expect("element");
        assert_eq!(el.attr("xml:lang"), Some("de"));
    }

    #[test]
    fn top_level_xmlns_other_than_client_is_kept() {
        let el = Element::new("presence", "jabber:server");
        let back = deserialize(&preserialize(&el)).expect("element");
        assert_eq!(back.ns, "jabber:server");
    }
}
