//! Stanzas as Prosody stores them (`st.preserialize` / `st.deserialize`): a table with
//! `name`, `attr` (the namespace as `attr.xmlns`) and the children in its sequence part,
//! text as strings and elements as nested tables.

use crate::storage::lua_value::{LuaKey, LuaTable, LuaValue};
use crate::xml::{Element, Node};
use crate::xmpp::ns;

/// How namespaces are written into `attr.xmlns`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Xmlns {
    /// Every element outside `jabber:client` carries its namespace, as elements that came
    /// through Prosody's stream parser do (what mod_vcard and mod_private store).
    Every,
    /// Only where the namespace changes, as for stanzas a module builds itself (what
    /// mod_vcard_legacy publishes).
    Changes,
}

/// The table `st.preserialize` makes of `el`.
pub fn preserialize(el: &Element, xmlns: Xmlns) -> LuaValue {
    LuaValue::Table(to_table(el, "", xmlns))
}

fn to_table(el: &Element, parent_ns: &str, xmlns: Xmlns) -> LuaTable {
    let mut attr = LuaTable::new();
    let write_ns = match xmlns {
        Xmlns::Every => !el.ns.is_empty() && el.ns != ns::CLIENT,
        Xmlns::Changes => el.ns != parent_ns,
    };
    if write_ns {
        attr.set("xmlns", el.ns.as_str());
    }
    for (k, v) in &el.attrs {
        attr.set(k.as_str(), v.as_str());
    }
    let mut t = LuaTable::new();
    t.set("name", el.name.as_str());
    t.set("attr", LuaValue::Table(attr));
    for child in &el.children {
        match child {
            Node::Element(c) => t.push(LuaValue::Table(to_table(c, &el.ns, xmlns))),
            Node::Text(s) => t.push(LuaValue::Str(s.to_string())),
        }
    }
    t
}

/// The element `st.deserialize` rebuilds; `None` when `value` is not a stored stanza.
pub fn deserialize(value: &LuaValue) -> Option<Element> {
    from_table(value.as_table()?, "")
}

fn from_table(t: &LuaTable, parent_ns: &str) -> Option<Element> {
    let name = t.field("name")?.as_str()?;
    let attrs = t.field("attr").and_then(LuaValue::as_table);
    let ns = attrs
        .and_then(|a| a.field("xmlns"))
        .and_then(LuaValue::as_str)
        .unwrap_or(parent_ns)
        .to_owned();
    let mut el = Element::new(name, &ns);
    if let Some(a) = attrs {
        for (k, v) in a.iter() {
            if let (LuaKey::Str(k), Some(v)) = (k, v.as_str()) {
                if k != "xmlns" {
                    el.set_attr(k, v);
                }
            }
        }
    }
    for child in t.sequence() {
        match child {
            LuaValue::Str(s) => el.children.push(Node::Text(s.as_str().into())),
            LuaValue::Table(c) => el.push_child(from_table(c, &ns)?),
            _ => {}
        }
    }
    Some(el)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::serialization::{parse_lua_source, to_lua_source};

    #[test]
    fn parsed_stanza_survives_a_store_round_trip_with_every_namespace_written() {
        let el = Element::new("vCard", "vcard-temp")
            .with_child(Element::new("FN", "vcard-temp").with_text("Alice & Bob"))
            .with_child(Element::new("x", "urn:other").with_attr("a", "1"));
        let stored = preserialize(&el, Xmlns::Every);
        let src = to_lua_source(&stored);
        assert!(src.contains("[\"xmlns\"] = \"vcard-temp\""), "{src}");
        assert_eq!(
            src.matches("vcard-temp").count(),
            2,
            "child carries its xmlns too: {src}"
        );
        let back = deserialize(&parse_lua_source(&src).expect("parses")).expect("a stanza");
        assert_eq!(back, el);
    }

    #[test]
    fn built_stanza_writes_xmlns_only_where_it_changes() {
        let el = Element::new("vcard", "urn:ietf:params:xml:ns:vcard-4.0")
            .with_child(Element::new("fn", "urn:ietf:params:xml:ns:vcard-4.0"));
        let src = to_lua_source(&preserialize(&el, Xmlns::Changes));
        assert_eq!(src.matches("vcard-4.0").count(), 1, "{src}");
        assert_eq!(
            deserialize(&parse_lua_source(&src).expect("parses")),
            Some(el)
        );
    }
}
