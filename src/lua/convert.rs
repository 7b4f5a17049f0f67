//! Conversions at the Lua boundary: stanzas (`xml::Element` <-> Prosody-shaped
//! `util.stanza` tables), configuration values, and stored values (`storage::LuaValue`).

use mlua::{Lua, Table, Value};

use crate::config::Value as ConfigValue;
use crate::storage::lua_value::{LuaKey, LuaTable, LuaValue};
use crate::xml::{CompactString, Element, Node};

/// Prosody's key for `xml:lang` (namespace URI, `\1`, local name).
const XML_LANG: &str = "http://www.w3.org/XML/1998/namespace\u{1}lang";
/// The namespace stanzas from clients carry implicitly (no `attr.xmlns` in Prosody).
const CLIENT_NS: &str = "jabber:client";

/// Builds a `util.stanza` object from an element. As with Prosody's parser, every element
/// outside `jabber:client` carries its namespace in `attr.xmlns`.
pub fn element_to_lua(lua: &Lua, el: &Element) -> mlua::Result<Table> {
    let mt: Option<Table> = lua.named_registry_value("lilt.stanza_mt").ok();
    build(lua, el, mt.as_ref())
}

fn build(lua: &Lua, el: &Element, mt: Option<&Table>) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("name", el.name.as_str())?;
    let attr = lua.create_table_with_capacity(0, el.attrs.len() + 1)?;
    if !el.ns.is_empty() && el.ns != CLIENT_NS {
        attr.raw_set("xmlns", el.ns.as_str())?;
    }
    for (k, v) in &el.attrs {
        let key = if k == "xml:lang" {
            XML_LANG
        } else {
            k.as_str()
        };
        attr.raw_set(key, v.as_str())?;
    }
    t.raw_set("attr", attr)?;
    let tags = lua.create_table()?;
    let mut ti = 1;
    for (i, child) in (1..).zip(el.children.iter()) {
        match child {
            Node::Element(c) => {
                let ct = build(lua, c, mt)?;
                tags.raw_set(ti, ct.clone())?;
                ti += 1;
                t.raw_set(i, ct)?;
            }
            Node::Text(s) => t.raw_set(i, s.as_str())?,
        }
    }
    t.raw_set("tags", tags)?;
    if let Some(mt) = mt {
        t.set_metatable(Some(mt.clone()));
    }
    Ok(t)
}

/// Why a Lua value is not a stanza.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StanzaError {
    #[error("not a stanza: {0}")]
    Shape(&'static str),
    #[error(transparent)]
    Lua(#[from] mlua::Error),
}

/// Reads a `util.stanza` object back into an element; a missing `xmlns` inherits the
/// parent's namespace (`jabber:client` at the top).
pub fn lua_to_element(t: &Table) -> Result<Element, StanzaError> {
    read(t, CLIENT_NS, 0)
}

fn read(t: &Table, parent_ns: &str, depth: usize) -> Result<Element, StanzaError> {
    if depth > 500 {
        return Err(StanzaError::Shape("nested too deeply"));
    }
    let name: String = match t.raw_get::<Value>("name")? {
        Value::String(s) => s.to_str()?.to_owned(),
        _ => return Err(StanzaError::Shape("missing name")),
    };
    let attr: Option<Table> = t.raw_get("attr")?;
    let mut ns = parent_ns.to_owned();
    let mut attrs: Vec<(CompactString, CompactString)> = Vec::new();
    if let Some(attr) = &attr {
        for pair in attr.pairs::<String, Value>() {
            let (k, v) = pair?;
            let v = match v {
                Value::String(s) => s.to_str()?.to_owned(),
                Value::Integer(i) => i.to_string(),
                Value::Number(n) => n.to_string(),
                _ => continue,
            };
            if k == "xmlns" {
                ns = v;
            } else if k == XML_LANG {
                attrs.push(("xml:lang".into(), v.into()));
            } else if let Some((_, local)) = k.split_once('\u{1}') {
                attrs.push((local.into(), v.into()));
            } else {
                attrs.push((k.into(), v.into()));
            }
        }
    }
    attrs.sort();
    let mut el = Element::new(&name, &ns);
    el.attrs = attrs;
    let len = t.raw_len();
    for i in 1..=len {
        match t.raw_get::<Value>(i)? {
            Value::String(s) => el.children.push(Node::Text((&*s.to_str()?).into())),
            Value::Table(c) => {
                let child = read(&c, &ns, depth + 1)?;
                el.children.push(Node::Element(child));
            }
            _ => {}
        }
    }
    Ok(el)
}

/// Whether reading `t` back ([`lua_to_element`]) would give an element equal to `el`, found
/// without building one: name, namespace, every attribute and every child, in order.
/// Answers `false` whenever in doubt (a number where a string was, an attribute key that
/// is not a string, an empty namespace), so that callers fall back to the full read.
pub fn matches(t: &Table, el: &Element) -> mlua::Result<bool> {
    same(t, el, CLIENT_NS, 0)
}

fn same(t: &Table, el: &Element, parent_ns: &str, depth: usize) -> mlua::Result<bool> {
    if depth > 500 || el.ns.is_empty() {
        return Ok(false);
    }
    if !lua_str_is(&t.raw_get::<Value>("name")?, &el.name) {
        return Ok(false);
    }
    let Value::Table(attr) = t.raw_get::<Value>("attr")? else {
        return Ok(false);
    };
    // The namespace: `attr.xmlns`, or the parent's.
    match attr.raw_get::<Value>("xmlns")? {
        Value::Nil if el.ns == parent_ns => {}
        v @ Value::String(_) if lua_str_is(&v, &el.ns) => {}
        _ => return Ok(false),
    }
    for (k, v) in &el.attrs {
        let key = if k == "xml:lang" { XML_LANG } else { k };
        if !lua_str_is(&attr.raw_get::<Value>(key)?, v) {
            return Ok(false);
        }
    }
    // Every native attribute is present; the Lua table must hold nothing else.
    let mut count = 0usize;
    let mut extra = false;
    attr.for_each::<Value, Value>(|k, v| {
        match (&k, &v) {
            (Value::String(k), Value::String(_)) if *k.as_bytes() == *b"xmlns" => {}
            (Value::String(_), Value::String(_)) => count += 1,
            _ => extra = true,
        }
        Ok(())
    })?;
    if extra || count != el.attrs.len() {
        return Ok(false);
    }
    if t.raw_len() != el.children.len() {
        return Ok(false);
    }
    for (i, child) in (1..).zip(el.children.iter()) {
        let v = t.raw_get::<Value>(i)?;
        let ok = match (child, &v) {
            (Node::Text(s), Value::String(_)) => lua_str_is(&v, s),
            (Node::Element(c), Value::Table(ct)) => same(ct, c, &el.ns, depth + 1)?,
            _ => false,
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `v` is a Lua string with exactly the bytes of `s` (numbers do not count).
fn lua_str_is(v: &Value, s: &str) -> bool {
    matches!(v, Value::String(ls) if *ls.as_bytes() == *s.as_bytes())
}

/// A configuration value as Lua sees it (`Function` values are opaque: `nil`).
pub fn config_to_lua(lua: &Lua, v: &ConfigValue) -> mlua::Result<Value> {
    Ok(match v {
        ConfigValue::Bool(b) => Value::Boolean(*b),
        ConfigValue::Integer(i) => Value::Integer(*i),
        ConfigValue::Number(n) => Value::Number(*n),
        ConfigValue::String(s) => Value::String(lua.create_string(s)?),
        ConfigValue::Table(t) => {
            let out = lua.create_table()?;
            for (i, item) in t.seq().iter().enumerate() {
                out.raw_set(i + 1, config_to_lua(lua, item)?)?;
            }
            for (k, item) in t.entries() {
                out.raw_set(k.as_str(), config_to_lua(lua, item)?)?;
            }
            Value::Table(out)
        }
        _ => Value::Nil,
    })
}

/// A stored value as a Lua value.
pub fn stored_to_lua(lua: &Lua, v: &LuaValue) -> mlua::Result<Value> {
    Ok(match v {
        LuaValue::Nil => Value::Nil,
        LuaValue::Bool(b) => Value::Boolean(*b),
        LuaValue::Int(i) => Value::Integer(*i),
        LuaValue::Num(n) => Value::Number(*n),
        LuaValue::Str(s) => Value::String(lua.create_string(s)?),
        LuaValue::Table(t) => {
            let out = lua.create_table()?;
            for (k, item) in t.iter() {
                let key = match k {
                    LuaKey::Bool(b) => Value::Boolean(*b),
                    LuaKey::Int(i) => Value::Integer(*i),
                    LuaKey::Num(n) => Value::Number(*n),
                    LuaKey::Str(s) => Value::String(lua.create_string(s)?),
                };
                out.raw_set(key, stored_to_lua(lua, item)?)?;
            }
            Value::Table(out)
        }
    })
}

/// A Lua value as a storable value; functions, userdata and cycles are refused.
pub fn lua_to_stored(v: &Value) -> mlua::Result<LuaValue> {
    to_stored(v, 0)
}

fn to_stored(v: &Value, depth: usize) -> mlua::Result<LuaValue> {
    if depth > 100 {
        return Err(mlua::Error::runtime(
            "cannot store: nested too deeply (cycle?)",
        ));
    }
    Ok(match v {
        Value::Nil => LuaValue::Nil,
        Value::Boolean(b) => LuaValue::Bool(*b),
        Value::Integer(i) => LuaValue::Int(*i),
        Value::Number(n) => LuaValue::Num(*n),
        Value::String(s) => LuaValue::Str(s.to_str()?.to_owned()),
        Value::Table(t) => {
            let mut out = LuaTable::new();
            for pair in t.pairs::<Value, Value>() {
                let (k, item) = pair?;
                let key = match k {
                    Value::Boolean(b) => LuaKey::Bool(b),
                    Value::Integer(i) => LuaKey::Int(i),
                    Value::Number(n) => match LuaKey::number(n) {
                        Some(k) => k,
                        None => continue,
                    },
                    Value::String(s) => LuaKey::Str(s.to_str()?.to_owned()),
                    _ => {
                        return Err(mlua::Error::runtime(
                            "cannot store a table key of this type",
                        ))
                    }
                };
                out.set(key, to_stored(&item, depth + 1)?);
            }
            LuaValue::Table(out)
        }
        other => {
            return Err(mlua::Error::runtime(format!(
                "cannot store a value of type {}",
                other.type_name()
            )))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Element {
        let mut m = Element::new("message", CLIENT_NS);
        m.set_attr("type", "chat");
        m.set_attr("xml:lang", "en");
        m.with_child(Element::new("body", CLIENT_NS).with_text("hi"))
            .with_child(Element::new("x", "urn:x").with_attr("a", "1"))
    }

    fn table_of(lua: &Lua, el: &Element) -> Table {
        element_to_lua(lua, el).expect("converts")
    }

    #[test]
    fn matches_the_element_a_table_was_built_from() {
        let lua = Lua::new();
        let el = sample();
        assert!(matches(&table_of(&lua, &el), &el).expect("compares"));
    }

    #[test]
    fn matches_sees_every_kind_of_change_the_read_back_would_make() {
        let lua = Lua::new();
        let el = sample();
        let changes = [
            "t.attr.type = 'normal'",
            "t.attr.type = nil",
            "t.attr.id = 'x'",
            "t.attr.type = 5",
            "t.attr.xmlns = 'urn:other'",
            "t.name = 'iq'",
            "t[1][1] = 'changed'",
            "t[2].attr.xmlns = nil",
            "t[2].attr.a = '2'",
            "t[3] = 'tail'",
            "t[1] = nil",
        ];
        for change in changes {
            let t = table_of(&lua, &el);
            let f: mlua::Function = lua
                .load(format!("return function(t) {change} end"))
                .eval()
                .expect("compiles");
            f.call::<()>(t.clone()).expect("runs");
            assert!(
                !matches(&t, &el).expect("compares"),
                "`{change}` went unnoticed"
            );
            assert_ne!(lua_to_element(&t).ok(), Some(el.clone()), "{change}");
        }
    }

    #[test]
    fn matches_ignores_attribute_order_as_the_read_back_does() {
        let lua = Lua::new();
        let el = sample();
        let t = table_of(&lua, &el);
        let mut sorted = el.clone();
        sorted.attrs.sort();
        assert!(matches(&t, &sorted).expect("compares"));
        assert_eq!(lua_to_element(&t).expect("reads"), sorted);
    }
}
