//! mod_muc_mam (wave-2 reference §15.5): room archives. Historic groupchat messages of
//! rooms with archiving on (`muc_log_by_default`, `muc_log_all_rooms`, the room's
//! `muc#roomconfig_enablearchiving`) go to the `muc_log` archive of the room's node with
//! `with = "message<groupchat"`, and the broadcast gets the room's `<stanza-id/>`. Joins
//! are served history from the archive when memory holds fewer messages than asked for,
//! as Prosody does. The queries to the room JID are in mam_query.rs.
//!
//! The room side is sans-IO: items to append are queued on the room and written through
//! the storage executor by mod.rs (`flush`).

use std::collections::VecDeque;

use super::room::Room;
use super::MucState;
use crate::config::Config;
use crate::core::Core;
use crate::modules::offline::stamp;
use crate::storage::lua_value::LuaValue;
use crate::storage::stanza as stanza_lua;
use crate::xml::{Element, Node};
use crate::xmpp::ns;

pub const NS: &str = "urn:xmpp:mam:2";
pub const NS_EXTENDED: &str = "urn:xmpp:mam:2#extended";
pub const SID: &str = "urn:xmpp:sid:0";
pub const STORE: &str = "muc_log";
pub const WITH: &str = "message<groupchat";
pub const FORM_FIELD: &str = "muc#roomconfig_enablearchiving";

/// The options mod_muc_mam reads on its MUC host.
#[derive(Debug, Clone, PartialEq)]
pub struct MamOptions {
    pub by_default: bool,
    pub all_rooms: bool,
    pub include_total: bool,
    pub max_results: usize,
}

impl MamOptions {
    pub fn read(config: &Config, host: &str) -> MamOptions {
        let s = config.host(host);
        let never = s.string("muc_log_expires_after").as_deref() == Some("never");
        MamOptions {
            by_default: s.boolean("muc_log_by_default").unwrap_or(true),
            all_rooms: s.boolean("muc_log_all_rooms").unwrap_or(false),
            include_total: s.boolean("muc_log_include_total").unwrap_or(!never),
            max_results: s.integer("max_archive_query_results").unwrap_or(50).max(0) as usize,
        }
    }
}

/// One archived message as the room keeps the newest few, for join history.
#[derive(Debug, Clone)]
pub struct Archived {
    pub key: String,
    pub when: f64,
    /// The stored stanza (no `to`; in whois-anyone rooms with the sender's item).
    pub stanza: Element,
}

/// Appends waiting to be written: (room node, archive item).
pub type Pending = Vec<(String, LuaValue)>;

pub fn load(core: &mut Core, host: &str) {
    let opts = MamOptions::read(core.options(), host);
    let state = core.state::<MucState>();
    match state.services.get_mut(host) {
        Some(service) => service.opts.mam = Some(opts),
        // mod_muc not loaded yet: it picks the options up when it is.
        None => {
            state.mam.insert(host.to_owned(), opts);
        }
    }
}

/// Writes the queued appends of `host`'s rooms through the storage executor, batched
/// per archive.
pub fn flush(core: &mut Core, host: &str) {
    let pending = match core.state::<MucState>().services.get_mut(host) {
        Some(s) if !s.archive.is_empty() => std::mem::take(&mut s.archive),
        _ => return,
    };
    for (node, item) in pending {
        let key = crate::storage::executor::key(host, Some(&node), STORE);
        crate::storage::call::append(core, key, item, move |_, r| {
            if let Err(e) = r {
                tracing::error!("Could not archive stanza: {e}");
            }
        });
    }
}

fn random_key() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..24].to_owned()
}

fn without_muc_user_x(stanza: &mut Element) {
    stanza.children.retain(|n| match n {
        Node::Element(e) => !(e.name == "x" && e.ns == super::broadcast::MUC_USER),
        Node::Text(_) => true,
    });
}

impl Room {
    /// Whether this room's messages are archived (`archiving_enabled`).
    pub fn archiving(&self, opts: &super::options::Options) -> bool {
        opts.mam
            .as_ref()
            .is_some_and(|m| m.all_rooms || self.config.archiving.unwrap_or(m.by_default))
    }

    /// Removes `<stanza-id/>`s claiming to be the room's (priority 1 of
    /// `muc-broadcast-message`).
    pub fn strip_forged_ids(&self, msg: &mut Element) {
        let jid = self.jid.clone();
        msg.children.retain(|n| match n {
            Node::Element(e) => {
                !(e.name == "stanza-id" && e.ns == SID && e.attr("by") == Some(jid.as_str()))
            }
            Node::Text(_) => true,
        });
    }

    /// `save_to_history`: queues the archive item and stamps the broadcast with its id.
    pub fn archive_message(&mut self, msg: &mut Element, now: f64, opts: &super::options::Options) {
        if !self.archiving(opts) {
            return;
        }
        let mut stored = msg.clone();
        stored.remove_attr("to");
        if self.config.whois_anyone {
            if let Some(occ) = msg.attr("from").and_then(|f| self.occupant(f)) {
                let aff = self.affiliation(&occ.bare_jid, opts);
                let item = Element::new("item", super::broadcast::MUC_USER)
                    .with_attr("affiliation", aff.as_str())
                    .with_attr("role", occ.role.as_str())
                    .with_attr("jid", occ.bare_jid.as_str());
                stored.push_child(Element::new("x", super::broadcast::MUC_USER).with_child(item));
            }
        }
        let key = random_key();
        let when = now.floor();
        let item = crate::storage::internal::archive_item(
            &key,
            when,
            WITH,
            &stanza_lua::preserialize(&stored),
        );
        self.archive_out.push((self.node().to_owned(), item));
        let keep = self.config.history_length(opts) as usize;
        self.archive_tail.push_back(Archived {
            key: key.clone(),
            when,
            stanza: stored,
        });
        while self.archive_tail.len() > keep.max(1) {
            self.archive_tail.pop_front();
        }
        msg.push_child(
            Element::new("stanza-id", SID)
                .with_attr("by", self.jid.as_str())
                .with_attr("id", key),
        );
    }

    /// mod_muc_mam's `muc-get-history` (priority 1): None when memory can serve the join
    /// itself; else the archived messages for it, oldest first.
    pub fn archive_history(
        &self,
        to: &str,
        maxchars: Option<usize>,
        maxstanzas: Option<usize>,
        since: Option<f64>,
        opts: &super::options::Options,
    ) -> Option<Vec<Element>> {
        if !self.archiving(opts) || maxstanzas == Some(0) || maxchars == Some(0) {
            return None;
        }
        let len = self.config.history_length(opts) as usize;
        let max = maxstanzas.map_or(len, |m| m.min(len));
        if self.history.len() >= max {
            return None;
        }
        let mut chars_left = maxchars;
        let mut picked = Vec::new();
        for a in self.archive_tail.iter().rev() {
            if picked.len() >= max || since.is_some_and(|s| a.when < s) {
                break;
            }
            let mut m = a.stanza.clone();
            m.set_attr("to", to);
            m.push_child(
                Element::new("delay", ns::DELAY)
                    .with_attr("from", self.jid.as_str())
                    .with_attr("stamp", stamp::datetime(a.when)),
            );
            m.push_child(
                Element::new("stanza-id", SID)
                    .with_attr("by", self.jid.as_str())
                    .with_attr("id", a.key.as_str()),
            );
            if !self.config.whois_anyone {
                without_muc_user_x(&mut m);
            }
            if let Some(left) = chars_left.as_mut() {
                let chars = m.to_xml().len();
                if chars > *left {
                    break;
                }
                *left -= chars;
            }
            picked.push(m);
        }
        picked.reverse();
        Some(picked)
    }
}

/// The newest `n` archived messages of a room, for a room loaded from storage.
pub fn tail_of(items: Vec<LuaValue>, n: usize) -> VecDeque<Archived> {
    let skip = items.len().saturating_sub(n.max(1));
    items
        .into_iter()
        .skip(skip)
        .filter_map(|item| {
            let t = item.as_table()?;
            let key = t.field("key")?.as_str()?.to_owned();
            if t.field("with").and_then(LuaValue::as_str) != Some(WITH) {
                return None;
            }
            let when = t.field("when").and_then(LuaValue::as_f64).unwrap_or(0.0);
            let mut stanza = stanza_lua::deserialize(&item)?;
            stanza
                .attrs
                .retain(|(k, _)| k != "stamp" && k != "stamp_legacy");
            Some(Archived { key, when, stanza })
        })
        .collect()
}

/// A destroyed room's archive is deleted (`muc-room-destroyed`).
pub fn forget(core: &mut Core, host: &str, room_jid: &str) {
    let on = core
        .state::<MucState>()
        .services
        .get(host)
        .is_some_and(|s| s.opts.mam.is_some());
    if !on {
        return;
    }
    let node = room_jid.split_once('@').map_or("", |(n, _)| n).to_owned();
    let (h, n) = (host.to_owned(), node.clone());
    let key = crate::storage::executor::key(host, Some(&node), STORE);
    crate::storage::call::spawn(
        core,
        key,
        move |st| st.archive_replace(&h, Some(&n), STORE, &[]),
        move |_, r| {
            if let Err(e) = r {
                tracing::error!("Could not delete the archive of {node}: {e}");
            }
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::muc::occupant::Occupant;
    use crate::modules::muc::options::Options;

    fn opts(extra: &str) -> Options {
        let text = format!("VirtualHost \"x.test\"\nComponent \"conf.x.test\" \"muc\"\n{extra}\n");
        let path = std::path::Path::new("/nonexistent/prosody.cfg.lua");
        let config = Config::load_str(path, &text).expect("config parses");
        let mut o = Options::from_config(&config, "conf.x.test");
        o.mam = Some(MamOptions::read(&config, "conf.x.test"));
        o
    }

    fn room() -> Room {
        let mut r = Room::new("r@conf.x.test");
        let mut occ = Occupant::new("a@x.test", "r@conf.x.test/A");
        occ.role = crate::modules::muc::affiliation::Role::Participant;
        r.occupants.push(occ);
        r
    }

    fn msg(body: &str) -> Element {
        Element::new("message", ns::CLIENT)
            .with_attr("from", "r@conf.x.test/A")
            .with_attr("type", "groupchat")
            .with_child(Element::new("body", ns::CLIENT).with_text(body))
    }

    #[test]
    fn an_archived_broadcast_carries_the_rooms_stanza_id_and_forged_ones_go() {
        let o = opts("");
        let mut r = room();
        let mut m = msg("hi").with_child(
            Element::new("stanza-id", SID)
                .with_attr("by", "r@conf.x.test")
                .with_attr("id", "fake"),
        );
        r.history_of_broadcast(&mut m, 1000.0, &o);
        let ids: Vec<_> = m
            .child_elements()
            .filter(|c| c.name == "stanza-id")
            .filter_map(|c| c.attr("id"))
            .collect();
        assert_eq!(ids.len(), 1);
        assert_ne!(ids[0], "fake");
        assert_eq!(r.archive_out.len(), 1);
        let item = r.archive_out[0].1.as_table().expect("item table");
        assert_eq!(item.field("with").and_then(LuaValue::as_str), Some(WITH));
        assert_eq!(item.field("key").and_then(LuaValue::as_str), Some(ids[0]));
    }

    #[test]
    fn rooms_with_archiving_off_or_messages_without_history_value_are_not_archived() {
        let o = opts("muc_log_by_default = false");
        let mut r = room();
        r.history_of_broadcast(&mut msg("hi"), 1000.0, &o);
        assert!(r.archive_out.is_empty());
        let o = opts("");
        let mut chat_state = Element::new("message", ns::CLIENT).with_attr("type", "groupchat");
        r.history_of_broadcast(&mut chat_state, 1000.0, &o);
        assert!(r.archive_out.is_empty());
        let o = opts("muc_log_all_rooms = true\nmuc_log_by_default = false");
        r.config.archiving = Some(false);
        r.history_of_broadcast(&mut msg("hi"), 1000.0, &o);
        assert_eq!(r.archive_out.len(), 1);
    }

    #[test]
    fn a_join_is_served_from_the_archive_only_when_memory_holds_too_few() {
        let o = opts("");
        let mut r = room();
        for i in 0..3 {
            r.history_of_broadcast(&mut msg(&i.to_string()), 1000.0 + i as f64, &o);
        }
        // 3 in memory and 3 archived: two asked for, memory serves.
        assert!(r
            .archive_history("b@x.test/r", None, Some(2), None, &o)
            .is_none());
        // The room's default (20) is more than memory holds: the archive answers.
        r.history.clear();
        let got = r
            .archive_history("b@x.test/r", None, None, Some(1001.0), &o)
            .expect("from the archive");
        let bodies: Vec<String> = got
            .iter()
            .map(|m| {
                m.get_child("body", ns::CLIENT)
                    .map(Element::text)
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(bodies, ["1", "2"]);
        let last = got.last().expect("one");
        let names: Vec<&str> = last.child_elements().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["body", "delay", "stanza-id"]);
        assert_eq!(last.attr("to"), Some("b@x.test/r"));
    }
}
