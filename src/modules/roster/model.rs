//! A user's roster in Prosody's stored layout (reference §9.9): contact bare JIDs map to
//! `{subscription, ask?, name?, groups = {[g] = true}}` and the key `[false]` holds
//! `{version, pending = {[jid] = true | <preserialized subscribe>}}`. Fields Lilt does not
//! know are kept so that rewriting a Prosody roster loses nothing.

use std::collections::{BTreeMap, BTreeSet};

use crate::storage::{LuaKey, LuaTable, LuaValue};
use crate::xml::Element;
use crate::xmpp::ns;

/// RFC 6121 subscription state of one contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Subscription {
    #[default]
    None,
    To,
    From,
    Both,
}

impl Subscription {
    pub fn as_str(self) -> &'static str {
        match self {
            Subscription::None => "none",
            Subscription::To => "to",
            Subscription::From => "from",
            Subscription::Both => "both",
        }
    }

    pub fn parse(s: &str) -> Option<Subscription> {
        Some(match s {
            "none" => Subscription::None,
            "to" => Subscription::To,
            "from" => Subscription::From,
            "both" => Subscription::Both,
            _ => return None,
        })
    }

    /// The user receives the contact's presence.
    pub fn has_to(self) -> bool {
        matches!(self, Subscription::To | Subscription::Both)
    }

    /// The contact receives the user's presence.
    pub fn has_from(self) -> bool {
        matches!(self, Subscription::From | Subscription::Both)
    }
}

/// One contact.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RosterItem {
    pub subscription: Subscription,
    /// An outbound subscription request is pending (`ask = "subscribe"`).
    pub ask: bool,
    pub name: Option<String>,
    pub groups: BTreeSet<String>,
    /// A subscription pre-approval (stored by Prosody as `approved = "true"`).
    pub approved: bool,
    /// Stored fields Lilt does not interpret.
    pub extra: LuaTable,
}

/// A user's whole roster.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Roster {
    pub items: BTreeMap<String, RosterItem>,
    /// `roster[false].version`; `None` until the first save.
    pub version: Option<i64>,
    /// Inbound subscription requests awaiting an answer: `true` or the stored stanza.
    pub pending: BTreeMap<String, LuaValue>,
    /// Other `[false]` fields.
    pub meta_extra: LuaTable,
    /// The stored roster could not be read; it must not be overwritten.
    pub broken: bool,
}

impl RosterItem {
    pub fn from_lua(t: &LuaTable) -> RosterItem {
        let mut item = RosterItem::default();
        for (k, v) in t.iter() {
            match k.as_str() {
                Some("subscription") => {
                    item.subscription = v.as_str().and_then(Subscription::parse).unwrap_or_default()
                }
                Some("ask") => item.ask = v.as_str() == Some("subscribe"),
                Some("name") => item.name = v.as_str().map(str::to_owned),
                Some("approved") => item.approved = v.as_str() == Some("true"),
                Some("groups") => {
                    if let Some(g) = v.as_table() {
                        item.groups = g
                            .iter()
                            .filter(|(_, on)| on.as_bool().unwrap_or(true))
                            .filter_map(|(k, _)| k.as_str().map(str::to_owned))
                            .collect();
                    }
                }
                _ => item.extra.set(k.clone(), v.clone()),
            }
        }
        item
    }

    pub fn to_lua(&self) -> LuaTable {
        let mut t = LuaTable::new();
        t.set("subscription", self.subscription.as_str());
        if self.ask {
            t.set("ask", "subscribe");
        }
        if let Some(name) = &self.name {
            t.set("name", name.as_str());
        }
        let mut groups = LuaTable::new();
        for g in &self.groups {
            groups.set(g.as_str(), true);
        }
        t.set("groups", groups);
        if self.approved {
            t.set("approved", "true");
        }
        for (k, v) in self.extra.iter() {
            t.set(k.clone(), v.clone());
        }
        t
    }

    /// `<item jid=.. subscription=.. ask? name?><group/>..</item>` in `jabber:iq:roster`.
    pub fn to_xml(&self, jid: &str) -> Element {
        let mut el = Element::new("item", ns::ROSTER)
            .with_attr("jid", jid)
            .with_attr("subscription", self.subscription.as_str());
        if self.ask {
            el.set_attr("ask", "subscribe");
        }
        if let Some(name) = &self.name {
            el.set_attr("name", name.as_str());
        }
        for g in &self.groups {
            el.push_child(Element::new("group", ns::ROSTER).with_text(g.as_str()));
        }
        el
    }
}

impl Roster {
    /// Reads a stored roster of `self_jid` (a self-contact is dropped, as Prosody does).
    pub fn from_lua(value: &LuaValue, self_jid: &str) -> Roster {
        let mut roster = Roster::default();
        let Some(t) = value.as_table() else {
            return roster;
        };
        for (k, v) in t.iter() {
            match k {
                LuaKey::Bool(false) => {
                    if let Some(meta) = v.as_table() {
                        roster.read_meta(meta);
                    }
                }
                LuaKey::Str(jid) if jid == "pending" && is_legacy_pending(v) => {
                    // Rosters from old Prosody versions kept pending requests here.
                    if let Some(p) = v.as_table() {
                        for (j, req) in p.iter() {
                            if let Some(j) = j.as_str() {
                                roster.pending.insert(j.to_owned(), req.clone());
                            }
                        }
                    }
                }
                LuaKey::Str(jid) if jid != self_jid => {
                    if let Some(item) = v.as_table() {
                        roster.items.insert(jid.clone(), RosterItem::from_lua(item));
                    }
                }
                _ => {}
            }
        }
        roster
    }

    fn read_meta(&mut self, meta: &LuaTable) {
        for (k, v) in meta.iter() {
            match k.as_str() {
                Some("version") => self.version = v.as_int(),
                Some("pending") => {
                    if let Some(p) = v.as_table() {
                        for (j, req) in p.iter() {
                            if let Some(j) = j.as_str() {
                                self.pending.insert(j.to_owned(), req.clone());
                            }
                        }
                    }
                }
                _ => self.meta_extra.set(k.clone(), v.clone()),
            }
        }
    }

    /// The stored form: `[false]` metadata first, then one entry per contact.
    pub fn to_lua(&self) -> LuaValue {
        let mut meta = LuaTable::new();
        if let Some(v) = self.version {
            meta.set("version", v);
        }
        let mut pending = LuaTable::new();
        for (j, req) in &self.pending {
            pending.set(j.as_str(), req.clone());
        }
        meta.set("pending", pending);
        for (k, v) in self.meta_extra.iter() {
            meta.set(k.clone(), v.clone());
        }
        let mut t = LuaTable::new();
        t.set(false, meta);
        for (jid, item) in &self.items {
            t.set(jid.as_str(), item.to_lua());
        }
        LuaValue::Table(t)
    }

    /// The version clients see (`roster[false].version or 1`).
    pub fn client_version(&self) -> i64 {
        self.version.unwrap_or(1)
    }

    /// Prosody bumps the version on every save.
    pub fn bump_version(&mut self) {
        self.version = Some(self.version.unwrap_or(0) + 1);
    }

    pub fn subscription(&self, jid: &str) -> Subscription {
        self.items
            .get(jid)
            .map(|i| i.subscription)
            .unwrap_or_default()
    }
}

fn is_legacy_pending(v: &LuaValue) -> bool {
    v.as_table()
        .is_some_and(|t| t.field("subscription").and_then(LuaValue::as_str).is_none())
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
