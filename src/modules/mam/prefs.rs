//! Archiving preferences (XEP-0313 `<prefs/>`), kept as Prosody keeps them in the
//! `archive_prefs` keyval store: `{ [false] = default, [jid] = true|false }`, where the
//! default is `true` (always), `false` (never) or `"roster"`.

use std::collections::BTreeMap;

use crate::storage::{LuaKey, LuaTable, LuaValue};
use crate::xml::Element;
use crate::xmpp::jid::Jid;

/// The default archiving policy (`default_archive_policy`, or a user's `default`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Always,
    Never,
    Roster,
}

impl Policy {
    fn attr(self) -> &'static str {
        match self {
            Policy::Always => "always",
            Policy::Never => "never",
            Policy::Roster => "roster",
        }
    }

    fn from_attr(s: &str) -> Option<Policy> {
        match s {
            "always" => Some(Policy::Always),
            "never" => Some(Policy::Never),
            "roster" => Some(Policy::Roster),
            _ => None,
        }
    }

    fn to_lua(self) -> LuaValue {
        match self {
            Policy::Always => LuaValue::Bool(true),
            Policy::Never => LuaValue::Bool(false),
            Policy::Roster => LuaValue::Str("roster".into()),
        }
    }

    fn from_lua(v: &LuaValue) -> Option<Policy> {
        match v {
            LuaValue::Bool(true) => Some(Policy::Always),
            LuaValue::Bool(false) => Some(Policy::Never),
            LuaValue::Str(s) if s == "roster" => Some(Policy::Roster),
            _ => None,
        }
    }
}

/// One user's preferences: a default (None = the server's) and per-JID rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prefs {
    pub default: Option<Policy>,
    pub rules: BTreeMap<String, bool>,
}

impl Prefs {
    pub fn from_lua(v: &LuaValue) -> Prefs {
        let mut p = Prefs::default();
        let Some(t) = v.as_table() else { return p };
        for (k, v) in t.iter() {
            match k {
                LuaKey::Bool(false) => p.default = Policy::from_lua(v),
                LuaKey::Str(jid) => {
                    if let Some(b) = v.as_bool() {
                        p.rules.insert(jid.clone(), b);
                    }
                }
                _ => {}
            }
        }
        p
    }

    pub fn to_lua(&self) -> LuaValue {
        let mut t = LuaTable::new();
        if let Some(d) = self.default {
            t.set(LuaKey::Bool(false), d.to_lua());
        }
        for (jid, b) in &self.rules {
            t.set(LuaKey::Str(jid.clone()), LuaValue::Bool(*b));
        }
        LuaValue::Table(t)
    }

    /// Reads a `<prefs/>` set: JIDs are prepped (invalid ones are dropped, as Prosody's
    /// `jid.prep` returning nil drops them); no `default` leaves the server's.
    pub fn from_element(el: &Element) -> Prefs {
        let mut p = Prefs {
            default: el.attr("default").and_then(Policy::from_attr),
            ..Prefs::default()
        };
        for (list, value) in [("always", true), ("never", false)] {
            let Some(l) = el.get_child(list, super::NS) else {
                continue;
            };
            for j in l.child_elements().filter(|c| c.name == "jid") {
                if let Ok(jid) = Jid::parse(j.text().trim()) {
                    p.rules.insert(jid.to_string(), value);
                }
            }
        }
        p
    }

    /// The `<prefs/>` answer, with `fallback` as the default when the user set none.
    pub fn to_element(&self, fallback: Policy) -> Element {
        let default = self.default.unwrap_or(fallback);
        let mut always = Element::new("always", super::NS);
        let mut never = Element::new("never", super::NS);
        for (jid, b) in &self.rules {
            let j = Element::new("jid", super::NS).with_text(jid.as_str());
            if *b {
                always.push_child(j);
            } else {
                never.push_child(j);
            }
        }
        Element::new("prefs", super::NS)
            .with_attr("default", default.attr())
            .with_child(always)
            .with_child(never)
    }
}

/// `default_archive_policy`: `true`/`false` or `"roster"` (default true).
pub fn server_policy(value: Option<&crate::config::Value>) -> Policy {
    use crate::config::Value;
    match value {
        Some(Value::Bool(false)) => Policy::Never,
        Some(Value::String(s)) if s == "roster" => Policy::Roster,
        Some(Value::String(s)) if s == "false" => Policy::Never,
        _ => Policy::Always,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefs_keep_prosodys_table_shape_both_ways() {
        let mut p = Prefs {
            default: Some(Policy::Roster),
            ..Prefs::default()
        };
        p.rules.insert("a@x".into(), true);
        p.rules.insert("b@x".into(), false);
        let lua = p.to_lua();
        let t = lua.as_table().expect("table");
        assert_eq!(
            t.get(&LuaKey::Bool(false)),
            Some(&LuaValue::Str("roster".into()))
        );
        assert_eq!(
            t.get(&LuaKey::Str("b@x".into())),
            Some(&LuaValue::Bool(false))
        );
        assert_eq!(Prefs::from_lua(&lua), p);
    }

    #[test]
    fn a_prefs_element_without_default_keeps_the_servers() {
        let el = Element::new("prefs", super::super::NS).with_child(
            Element::new("never", super::super::NS)
                .with_child(Element::new("jid", super::super::NS).with_text("Bob@X")),
        );
        let p = Prefs::from_element(&el);
        assert_eq!(p.default, None);
        assert_eq!(p.rules.get("bob@x"), Some(&false));
        let out = p.to_element(Policy::Always);
        assert_eq!(out.attr("default"), Some("always"));
    }
}
