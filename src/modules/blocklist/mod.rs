//! mod_blocklist (XEP-0191): the blocklist (get, block, unblock with pushes to the
//! resources that asked for it), stored in Prosody's `blocklist` store layout
//! (`{[false] = {created, modified?}, [jid] = <time blocked>}`), and the dropping or
//! bouncing of stanzas between a user and the JIDs they block.

mod filter;

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use crate::core::router::post_stanza;
use crate::core::{Bus, Core, Event, Origin};
use crate::modules::iq::result_for;
use crate::modules::presence::presence;
use crate::modules::roster::manager;
use crate::storage::{call, executor, LuaKey, LuaTable, LuaValue};
use crate::xml::Element;
use crate::xmpp::error::{StanzaCondition, StanzaError};
use crate::xmpp::jid::Jid;
use crate::xmpp::ns;

/// The store Prosody's mod_blocklist uses.
pub const STORE: &str = "blocklist";

/// Cached blocklists by bare JID.
#[derive(Default)]
struct Blocklists {
    map: HashMap<String, LuaTable>,
}

pub fn load(core: &mut Core, host: &str) {
    if let Some(h) = core.hosts.get_mut(host) {
        h.features.insert(ns::BLOCKING.to_owned());
    }
    let bus = Bus::Host(host.to_owned());
    let get = format!("iq-get/self/{}:blocklist", ns::BLOCKING);
    core.hook(
        &bus,
        &get,
        -1.0,
        Rc::new(|core, ev| {
            let Origin::Session(sid) = ev.origin else {
                return None;
            };
            let stanza = ev.stanza.as_ref()?;
            let (user, host) = session_user(core, sid)?;
            let mut list = Element::new("blocklist", ns::BLOCKING);
            for jid in blocked_jids(&get_blocklist(core, &user, &host)) {
                list.push_child(Element::new("item", ns::BLOCKING).with_attr("jid", jid));
            }
            let reply = result_for(stanza).with_child(list);
            if let Some(s) = core.sessions.get_mut(&sid) {
                s.interested_blocklist = true;
            }
            core.reply(&ev.origin, reply);
            Some(true)
        }),
    );
    for action in ["block", "unblock"] {
        let name = format!("iq-set/self/{}:{action}", ns::BLOCKING);
        core.hook(&bus, &name, -1.0, Rc::new(edit));
    }
    filter::hook(core, &bus);
}

fn session_user(core: &Core, sid: u64) -> Option<(String, String)> {
    let s = core.sessions.get(&sid)?;
    Some((s.username().to_owned(), s.host().to_owned()))
}

fn blocked_jids(list: &LuaTable) -> Vec<String> {
    list.iter()
        .filter(|(_, v)| !matches!(v, LuaValue::Bool(false) | LuaValue::Nil))
        .filter_map(|(k, _)| k.as_str().map(str::to_owned))
        .collect()
}

/// The user's blocklist (cached); empty for unknown users.
fn get_blocklist(core: &mut Core, user: &str, host: &str) -> LuaTable {
    let key = format!("{user}@{host}");
    if let Some(t) = core.state::<Blocklists>().map.get(&key) {
        return t.clone();
    }
    if !core.shared.accounts.exists(host, user).unwrap_or(false) {
        return LuaTable::new();
    }
    let list = match core.shared.store.get(host, Some(user), STORE) {
        Ok(Some(LuaValue::Table(t))) => t,
        Ok(_) => migrate_privacy_list(core, user, host).unwrap_or_else(|| {
            let mut meta = LuaTable::new();
            meta.set("created", now());
            let mut t = LuaTable::new();
            t.set(false, meta);
            t
        }),
        Err(e) => {
            tracing::error!("Could not load the blocklist of {key}: {e}");
            return LuaTable::new();
        }
    };
    let state = core.state::<Blocklists>();
    if state.map.len() >= 1024 {
        state.map.clear();
    }
    state.map.insert(key, list.clone());
    list
}

/// Turns the `deny` JID items of a mod_privacy default list (store `privacy`) into a
/// blocklist and saves it, as Prosody does the first time a user has no blocklist.
fn migrate_privacy_list(core: &Core, user: &str, host: &str) -> Option<LuaTable> {
    let legacy = core.shared.store.get(host, Some(user), "privacy").ok()??;
    let legacy = legacy.as_table()?;
    let default = legacy.field("default")?.as_str()?;
    let list = legacy
        .field("lists")?
        .as_table()?
        .field(default)?
        .as_table()?;
    let items = list.field("items")?.as_table()?;
    let mut meta = LuaTable::new();
    meta.set("created", now());
    meta.set("migrated", "privacy");
    let mut migrated = LuaTable::new();
    migrated.set(false, meta);
    for item in items.sequence().filter_map(LuaValue::as_table) {
        let field = |k: &str| item.field(k).and_then(LuaValue::as_str);
        if field("type") == Some("jid") && field("action") == Some("deny") {
            match field("value").map(Jid::parse) {
                Some(Ok(jid)) => migrated.set(jid.to_string(), true),
                _ => tracing::warn!("Invalid JID in privacy store for user '{user}' not migrated"),
            }
        }
    }
    tracing::info!("Migrating blocklist from mod_privacy storage for user '{user}'");
    let value = LuaValue::Table(migrated.clone());
    if let Err(e) = core.shared.store.set(host, Some(user), STORE, Some(&value)) {
        tracing::error!("Could not save the migrated blocklist of {user}@{host}: {e}");
    }
    Some(migrated)
}

/// Is `jid` blocked by `user@host` (the JID itself, its bare JID or its domain)?
pub fn is_blocked(core: &mut Core, user: &str, host: &str, jid: &str) -> bool {
    let list = get_blocklist(core, user, host);
    let hit = |k: &str| {
        list.get(&LuaKey::from(k))
            .is_some_and(|v| !matches!(v, LuaValue::Bool(false) | LuaValue::Nil))
    };
    if hit(jid) {
        return true;
    }
    match Jid::parse(jid) {
        Ok(j) => {
            hit(j.domain())
                || j.node()
                    .is_some_and(|n| hit(&format!("{n}@{}", j.domain())))
        }
        Err(_) => false,
    }
}

/// `<block/>` or `<unblock/>`: all-or-nothing update, reply, presence side effects, pushes.
fn edit(core: &mut Core, ev: &mut Event) -> Option<bool> {
    let Origin::Session(sid) = ev.origin else {
        return None;
    };
    let stanza = ev.stanza.as_ref()?;
    let (user, host) = session_user(core, sid)?;
    let bare = format!("{user}@{host}");
    let mut action = stanza.child_elements().next()?.clone();
    let blocking = action.name == "block";
    let now = now();
    let mut new = Vec::new();
    let (mut send_unavailable, mut send_available, mut remove_pending) = (vec![], vec![], vec![]);
    for node in action.children.iter_mut() {
        let crate::xml::Node::Element(item) = node else {
            continue;
        };
        if item.name != "item" || item.ns != ns::BLOCKING {
            continue;
        }
        let Some(jid) = item
            .attr("jid")
            .and_then(|j| Jid::parse(j).ok())
            .map(|j| j.to_string())
        else {
            core.reply(
                &ev.origin,
                StanzaError::modify(StanzaCondition::JidMalformed).reply(stanza),
            );
            return Some(true);
        };
        item.set_attr("jid", jid.as_str());
        let subscribed = manager::is_contact_subscribed(core, &user, &host, &jid);
        if blocking && subscribed {
            send_unavailable.push(jid.clone());
        } else if blocking && manager::is_contact_pending_in(core, &user, &host, &jid) {
            remove_pending.push(jid.clone());
        } else if !blocking && subscribed {
            send_available.push(jid.clone());
        }
        new.push(jid);
    }
    if blocking && new.is_empty() {
        core.reply(
            &ev.origin,
            StanzaError::modify(StanzaCondition::BadRequest).reply(stanza),
        );
        return Some(true);
    }
    let old = get_blocklist(core, &user, &host);
    let mut meta = match old.get(&LuaKey::Bool(false)) {
        Some(LuaValue::Table(m)) => {
            let mut m = m.clone();
            m.set("modified", now);
            m
        }
        _ => {
            let mut m = LuaTable::new();
            m.set("created", now);
            m
        }
    };
    if meta.is_empty() {
        meta.set("created", now);
    }
    let mut updated = LuaTable::new();
    updated.set(false, meta);
    if blocking || !new.is_empty() {
        for (k, v) in old.iter() {
            if k.as_str().is_some() {
                updated.set(k.clone(), v.clone());
            }
        }
        for jid in &new {
            if blocking {
                updated.set(jid.as_str(), now);
            } else {
                updated.remove(&LuaKey::from(jid.as_str()));
            }
        }
    }
    // The new list counts at once (what arrives from now on is checked against it); it
    // is saved on the storage executor, and the answer, the presence changes and the
    // pushes follow once it is durable, with the asker's later answers behind them.
    let value = LuaValue::Table(updated.clone());
    let before = core.state::<Blocklists>().map.insert(bare.clone(), updated);
    let edit = Edited {
        request: stanza.clone(),
        origin: ev.origin.clone(),
        user,
        host,
        bare,
        action,
        old,
        send_unavailable,
        send_available,
        remove_pending,
    };
    let key = executor::key(&edit.host, Some(&edit.user), STORE);
    let (h, u) = (edit.host.clone(), edit.user.clone());
    call::spawn_held(
        core,
        &ev.origin,
        key,
        move |st| st.set(&h, Some(&u), STORE, Some(&value)),
        move |core, result| match result {
            Ok(()) => saved(core, edit),
            Err(e) => {
                let cache = &mut core.state::<Blocklists>().map;
                match before {
                    Some(list) => cache.insert(edit.bare.clone(), list),
                    None => cache.remove(&edit.bare),
                };
                let text = e.to_string();
                let reply = StanzaError::wait(StanzaCondition::InternalServerError)
                    .with_text(text)
                    .reply(&edit.request);
                core.reply(&edit.origin, reply);
            }
        },
    );
    Some(true)
}

/// A blocklist change whose save is under way, and what follows it.
struct Edited {
    request: Element,
    origin: Origin,
    user: String,
    host: String,
    bare: String,
    action: Element,
    old: LuaTable,
    send_unavailable: Vec<String>,
    send_available: Vec<String>,
    remove_pending: Vec<String>,
}

/// The change is durable: the answer, the presence it implies, the pushes.
fn saved(core: &mut Core, edit: Edited) {
    let Edited {
        request,
        origin,
        user,
        host,
        bare,
        action,
        old,
        send_unavailable,
        send_available,
        remove_pending,
    } = edit;
    core.reply(&origin, result_for(&request));

    let from_host = Origin::Host(host.clone());
    for jid in send_unavailable {
        if old.get(&LuaKey::from(jid.as_str())).is_some() {
            continue;
        }
        let fulls: Vec<String> = manager::available(core, &bare)
            .iter()
            .filter_map(|id| core.sessions.get(id).map(|s| s.full_jid().to_owned()))
            .collect();
        for full in fulls {
            post_stanza(
                core,
                from_host.clone(),
                presence(Some("unavailable"), &full, &jid),
                false,
            );
        }
    }
    if !remove_pending.is_empty() {
        manager::modify(core, &user, &host, |r| {
            let mut changed = false;
            for j in &remove_pending {
                changed |= r.pending.remove(j).is_some();
            }
            changed
        });
    }
    for jid in send_available {
        post_stanza(
            core,
            from_host.clone(),
            presence(Some("probe"), &jid, &bare),
            false,
        );
    }
    let sessions: Vec<(u64, String)> = core
        .bare_sessions
        .get(&bare)
        .into_iter()
        .flatten()
        .filter_map(|id| core.sessions.get(id))
        .filter(|s| s.interested_blocklist)
        .map(|s| (s.id, s.full_jid().to_owned()))
        .collect();
    for (sid, full) in sessions {
        let push = Element::new("iq", ns::CLIENT)
            .with_attr("type", "set")
            .with_attr("id", "blocklist-push")
            .with_attr("to", full)
            .with_child(action.clone());
        core.send_to(sid, Arc::new(push));
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
