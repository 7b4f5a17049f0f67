//! mod_bookmarks (reference §14.5): XEP-0402 bookmarks in the `urn:xmpp:bookmarks:1`
//! PEP node (one item per room, id = room JID), with the two legacy XEP-0048 views
//! converted both ways as Prosody does: Private XML (`jabber:iq:private`
//! `<storage xmlns='storage:bookmarks'>`) and the legacy PEP node `storage:bookmarks`.
//! Legacy data is upgraded on resource bind (`upgrade_legacy_bookmarks`), and changes to
//! the native node push a synthesized legacy item to `+notify` resources (XEP-0411).

use std::rc::Rc;

use crate::core::{Bus, Core, Event};
use crate::modules::disco::account::AccountDisco;
use crate::modules::iq::result_for;
use crate::modules::pep::{add_listener, with_service};
use crate::modules::private::preserialize::deserialize;
use crate::modules::pubsub::config::{ConfigMap, Value};
use crate::modules::pubsub::error::PubsubError;
use crate::modules::pubsub::protocol::PUBSUB_EVENT;
use crate::modules::pubsub::service::{Item, Relations, Service, ServiceEvent, PUBSUB};
use crate::storage::lua_value::{LuaKey, LuaValue};
use crate::xml::Element;
use crate::xmpp::error::{StanzaCondition, StanzaError};
use crate::xmpp::ns;

pub const NS: &str = "urn:xmpp:bookmarks:1";
const NS_OLD: &str = "urn:xmpp:bookmarks:0";
pub const LEGACY: &str = "storage:bookmarks";
const PRIVATE_KEY: &str = "storage:storage:bookmarks";

fn default_options() -> ConfigMap {
    let mut c = ConfigMap::new();
    c.insert("persist_items".into(), Value::Bool(true));
    c.insert("max_items".into(), "max".into());
    c.insert("send_last_published_item".into(), "never".into());
    c.insert("access_model".into(), "whitelist".into());
    c
}

fn text_child(e: &Element, name: &str, ns: &str) -> Option<String> {
    e.get_child(name, ns).map(Element::text)
}

/// The XEP-0048 `<storage/>` for native items (in the order given).
pub fn legacy_storage(items: &[Item]) -> Element {
    let mut storage = Element::new("storage", LEGACY);
    for item in items {
        let b =
            (item.payload.name == "conference" && item.payload.ns == NS).then_some(&item.payload);
        let mut c = Element::new("conference", LEGACY).with_attr("jid", item.id.as_str());
        for a in ["name", "autojoin"] {
            if let Some(v) = b.and_then(|b| b.attr(a)) {
                c.set_attr(a, v);
            }
        }
        for t in ["nick", "password"] {
            if let Some(v) = b.and_then(|b| text_child(b, t, NS)) {
                c.push_child(Element::new(t, LEGACY).with_text(v));
            }
        }
        storage.push_child(c);
    }
    storage
}

/// One legacy `<conference/>` as the native `<item id=room>` it becomes.
fn native_item(legacy: &Element) -> Option<Element> {
    let jid = legacy.attr("jid")?;
    let mut c = Element::new("conference", NS);
    for a in ["name", "autojoin"] {
        if let Some(v) = legacy.attr(a) {
            c.set_attr(a, v);
        }
    }
    for t in ["nick", "password"] {
        if let Some(v) = text_child(legacy, t, LEGACY) {
            c.push_child(Element::new(t, NS).with_text(v));
        }
    }
    Some(
        Element::new("item", PUBSUB)
            .with_attr("id", jid)
            .with_child(c),
    )
}

fn same(new: &Element, old: Option<&Item>) -> bool {
    let Some(old) = old else { return false };
    let (Some(a), b) = (new.get_child("conference", NS), &old.payload) else {
        return false;
    };
    let attr = |e: &Element, k: &str| e.attr(k).map(str::to_owned);
    new.attr("id") == Some(old.id.as_str())
        && attr(a, "name") == attr(b, "name")
        && attr(a, "autojoin") == attr(b, "autojoin")
        && text_child(a, "nick", NS) == text_child(b, "nick", NS)
        && text_child(a, "password", NS) == text_child(b, "password", NS)
}

/// Prosody's publish_to_pep: the legacy set becomes native items; with `synchronise`
/// the ones it no longer lists are retracted (an empty set purges).
pub fn publish_to_pep(
    s: &mut Service,
    rel: &dyn Relations,
    jid: &str,
    bookmarks: &Element,
    synchronise: bool,
) -> Result<(), PubsubError> {
    let actor = Some(jid);
    if bookmarks.child_elements().next().is_none() {
        return if synchronise {
            s.purge(NS, actor, true, rel)
        } else {
            Ok(())
        };
    }
    let existing = match s.get_items(NS, actor, None, None, rel) {
        Err(PubsubError::ItemNotFound) => {
            s.create(NS, actor, Some(default_options()), rel)?;
            Vec::new()
        }
        Err(e) => return Err(e),
        Ok(items) => {
            let mut options = s.get_node_config(NS, actor, rel)?;
            for (k, v) in default_options() {
                if options.get(&k).is_some_and(|cur| *cur != v) {
                    options.insert(k, v);
                }
            }
            s.set_node_config(NS, actor, options, rel)?;
            items
        }
    };
    let mut to_remove: Vec<String> = existing.iter().map(|i| i.id.clone()).collect();
    for legacy in bookmarks
        .child_elements()
        .filter(|c| c.name == "conference" && c.ns == LEGACY)
    {
        let Some(item) = native_item(legacy) else {
            continue;
        };
        let id = item.attr("id").unwrap_or_default().to_owned();
        let old = existing.iter().find(|i| i.id == id);
        to_remove.retain(|r| *r != id);
        if !same(&item, old) {
            s.publish(NS, actor, &id, Some(&item), Some(default_options()), rel)?;
        }
    }
    if synchronise {
        for id in to_remove {
            let notify = Element::new("retract", PUBSUB_EVENT).with_attr("id", id.as_str());
            s.retract(NS, actor, &id, Some(notify), rel)?;
        }
    }
    Ok(())
}

/// The `cancel` error a failed PEP read is answered with (the pubsub error's condition).
fn retrieve_failed(e: &PubsubError) -> StanzaError {
    let condition = match e {
        PubsubError::Forbidden => StanzaCondition::Forbidden,
        PubsubError::ItemNotFound => StanzaCondition::ItemNotFound,
        PubsubError::Storage => StanzaCondition::InternalServerError,
        PubsubError::PersistentItemsUnsupported => StanzaCondition::FeatureNotImplemented,
        _ => StanzaCondition::UndefinedCondition,
    };
    StanzaError::cancel(condition).with_text("Failed to retrieve bookmarks from PEP")
}

pub fn load(core: &mut Core, host: &str) {
    crate::modules::pep::depend(core, host);
    let bus = Bus::Host(host.to_owned());
    core.hook(
        &bus,
        "account-disco-info",
        0.0,
        Rc::new(|core, _| {
            let q = core.state::<AccountDisco>().query()?;
            for f in [
                "urn:xmpp:bookmarks:1#compat",
                "urn:xmpp:bookmarks:1#compat-pep",
                "urn:xmpp:bookmarks-conversion:0",
            ] {
                q.push_child(Element::new("feature", ns::DISCO_INFO).with_attr("var", f));
            }
            None
        }),
    );
    if let Some(h) = core.hosts.get_mut(host) {
        h.features.insert(ns::PRIVATE.to_owned());
    }
    let h = host.to_owned();
    core.hook(
        &bus,
        &format!("iq/bare/{}:query", ns::PRIVATE),
        1.0,
        Rc::new(move |core, ev| private_xml(core, &h, ev)),
    );
    let h = host.to_owned();
    core.hook(
        &bus,
        &format!("iq/bare/{PUBSUB}:pubsub"),
        1.0,
        Rc::new(move |core, ev| legacy_pep(core, &h, ev)),
    );
    if core
        .options()
        .host(host)
        .boolean("upgrade_legacy_bookmarks")
        .unwrap_or(true)
    {
        let h = host.to_owned();
        core.hook(
            &bus,
            "resource-bind",
            0.0,
            Rc::new(move |core, ev| {
                let s = core.sessions.get(&ev.session?)?;
                let (user, full) = (s.username().to_owned(), s.full_jid().to_owned());
                migrate(core, &h, &user, &full);
                None
            }),
        );
    }
    let h = host.to_owned();
    core.hook(
        &bus,
        "presence/initial",
        0.0,
        Rc::new(move |core, ev| {
            let s = core.sessions.get(&ev.session?)?;
            let (user, full) = (s.username().to_owned(), s.full_jid().to_owned());
            legacy_broadcast(core, &h, &user, Some(&full));
            None
        }),
    );
    let h = host.to_owned();
    add_listener(
        core,
        Rc::new(move |core, host, user, ev| {
            if host != h {
                return;
            }
            let (node, actor) = match ev {
                ServiceEvent::ItemPublished { node, actor, .. }
                | ServiceEvent::ItemRetracted { node, actor, .. }
                | ServiceEvent::NodePurged { node, actor }
                | ServiceEvent::NodeDeleted { node, actor } => (node, actor),
                _ => return,
            };
            if node == NS {
                legacy_broadcast(core, host, user, actor.as_deref());
            }
        }),
    );
}

/// XEP-0411: the native bookmarks as a legacy `storage:bookmarks` item, to the owner's
/// resources that asked for it.
fn legacy_broadcast(core: &mut Core, host: &str, user: &str, actor: Option<&str>) {
    with_service(core, host, user, |s, rel| {
        let items = match s.get_items(NS, actor, None, None, rel) {
            Ok(i) => i,
            Err(PubsubError::ItemNotFound) => Vec::new(),
            Err(_) => return,
        };
        let item = Element::new("item", PUBSUB)
            .with_attr("id", "current")
            .with_child(legacy_storage(&items));
        s.broadcast_unsubscribed(LEGACY, item);
    });
}

fn private_xml(core: &mut Core, host: &str, ev: &mut Event) -> Option<bool> {
    let stanza = ev.stanza.clone()?;
    let query = stanza.get_child("query", ns::PRIVATE)?;
    let storage = query.get_child("storage", LEGACY)?.clone();
    let user = core.origin_username(&ev.origin)?;
    let full = stanza.attr("from").unwrap_or_default().to_owned();
    let reply = if stanza.attr("type") == Some("get") {
        match with_service(core, host, &user, |s, rel| {
            s.get_items(NS, Some(&full), None, None, rel)
        }) {
            Ok(items) => result_for(&stanza)
                .with_child(Element::new("query", ns::PRIVATE).with_child(legacy_storage(&items))),
            Err(PubsubError::ItemNotFound) => result_for(&stanza).with_child(query.clone()),
            Err(e) => retrieve_failed(&e).reply(&stanza),
        }
    } else {
        store_reply(core, host, &user, &full, &stanza, &storage)
    };
    core.reply(&ev.origin, reply);
    Some(true)
}

fn store_reply(
    core: &mut Core,
    host: &str,
    user: &str,
    full: &str,
    stanza: &Element,
    storage: &Element,
) -> Element {
    match with_service(core, host, user, |s, rel| {
        publish_to_pep(s, rel, full, storage, true)
    }) {
        Ok(()) => result_for(stanza),
        Err(_) => StanzaError::cancel(StanzaCondition::InternalServerError)
            .with_text("Failed to store bookmarks to PEP")
            .reply(stanza),
    }
}

fn legacy_pep(core: &mut Core, host: &str, ev: &mut Event) -> Option<bool> {
    let stanza = ev.stanza.clone()?;
    let pubsub = stanza.get_child("pubsub", PUBSUB)?;
    let user = core.origin_username(&ev.origin)?;
    let full = stanza.attr("from").unwrap_or_default().to_owned();
    let reply = if stanza.attr("type") == Some("get") {
        let items = pubsub.get_child("items", PUBSUB)?;
        if items.attr("node") != Some(LEGACY) {
            return None;
        }
        match with_service(core, host, &user, |s, rel| {
            s.get_items(NS, Some(&full), None, None, rel)
        }) {
            Ok(list) => result_for(&stanza).with_child(
                Element::new("pubsub", PUBSUB).with_child(
                    Element::new("items", PUBSUB)
                        .with_attr("node", LEGACY)
                        .with_child(
                            Element::new("item", PUBSUB)
                                .with_attr("id", "current")
                                .with_child(legacy_storage(&list)),
                        ),
                ),
            ),
            Err(e) => retrieve_failed(&e).reply(&stanza),
        }
    } else {
        let publish = pubsub.get_child("publish", PUBSUB)?;
        if publish.attr("node") == Some(NS_OLD) {
            StanzaError::modify(StanzaCondition::NotAllowed)
                .with_text("Your client does XEP-0402 version 0.3.0 but 0.4.0+ is required")
                .reply(&stanza)
        } else if publish.attr("node") == Some(LEGACY) {
            let storage = publish
                .get_child("item", PUBSUB)?
                .get_child("storage", LEGACY)?
                .clone();
            store_reply(core, host, &user, &full, &stanza, &storage)
        } else {
            return None;
        }
    };
    core.reply(&ev.origin, reply);
    Some(true)
}

/// Prosody's migrate_legacy_bookmarks, run at resource bind.
fn migrate(core: &mut Core, host: &str, user: &str, full: &str) {
    let bare = format!("{user}@{host}");
    with_service(core, host, user, |s, rel| {
        let legacy = s.get_items(LEGACY, Some(full), None, None, rel);
        if let Ok(items) = &legacy {
            if !items.is_empty() {
                let mut failed = false;
                for item in items {
                    let storage = item.payload.name == "storage" && item.payload.ns == LEGACY;
                    if storage && publish_to_pep(s, rel, full, &item.payload, false).is_err() {
                        failed = true;
                        break;
                    }
                }
                if !failed {
                    let _ = s.purge(LEGACY, Some(&bare), false, rel);
                }
            }
        }
        let whitelisted = s
            .get_node_config(LEGACY, Some(&bare), rel)
            .ok()
            .and_then(|c| c.get("access_model").cloned())
            == Some(Value::from("whitelist"));
        if !whitelisted {
            let mut c = ConfigMap::new();
            c.insert("persist_items".into(), Value::Bool(false));
            c.insert("max_items".into(), Value::Int(1));
            c.insert("send_last_published_item".into(), "never".into());
            c.insert("access_model".into(), "whitelist".into());
            let _ = if matches!(legacy, Err(PubsubError::ItemNotFound)) {
                s.create(LEGACY, Some(&bare), Some(c), rel)
            } else {
                s.set_node_config(LEGACY, Some(&bare), c, rel)
            };
        }
    });
    let store = core.shared.store.clone();
    let private = match store.get(host, Some(user), crate::modules::private::STORE) {
        Ok(Some(LuaValue::Table(t))) => t,
        _ => return,
    };
    let Some(data) = private.field(PRIVATE_KEY).and_then(deserialize) else {
        return;
    };
    let ok = with_service(core, host, user, |s, rel| {
        publish_to_pep(s, rel, full, &data, false)
    });
    if ok.is_ok() {
        let mut t = private.clone();
        t.remove(&LuaKey::from(PRIVATE_KEY));
        let _ = store.set(
            host,
            Some(user),
            crate::modules::private::STORE,
            Some(&LuaValue::Table(t)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_and_native_bookmarks_convert_both_ways() {
        let legacy = Element::new("conference", LEGACY)
            .with_attr("jid", "room@muc.x")
            .with_attr("name", "Room")
            .with_attr("autojoin", "true")
            .with_child(Element::new("nick", LEGACY).with_text("me"));
        let item = native_item(&legacy).expect("has a jid");
        assert_eq!(
            item.to_xml(),
            "<item xmlns='http://jabber.org/protocol/pubsub' id='room@muc.x'><conference xmlns='urn:xmpp:bookmarks:1' name='Room' autojoin='true'><nick>me</nick></conference></item>"
        );
        let stored = Item {
            id: "room@muc.x".into(),
            publisher: None,
            payload: item.child_elements().next().cloned().expect("payload"),
            when: 0,
        };
        assert!(same(&item, Some(&stored)));
        assert_eq!(
            legacy_storage(&[stored]).to_xml(),
            "<storage xmlns='storage:bookmarks'><conference jid='room@muc.x' name='Room' autojoin='true'><nick>me</nick></conference></storage>"
        );
    }
}
