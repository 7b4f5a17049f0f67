//! mod_private: XEP-0049 private XML storage for one's own account. Each stored element
//! is a key `<name>:<xmlns>` of the user's `private` map store, holding the
//! preserialized element (Prosody's layout, so data moves both ways).

pub mod preserialize;

use std::rc::Rc;

use crate::core::{Bus, Core};
use crate::modules::iq::result_for;
use crate::storage::lua_value::{LuaTable, LuaValue};
use crate::xml::Element;
use crate::xmpp::error::{StanzaCondition, StanzaError};
use crate::xmpp::ns;
use preserialize::{deserialize, preserialize, Xmlns};

/// The store name Prosody uses.
pub const STORE: &str = "private";

pub fn load(core: &mut Core, host: &str) {
    let bus = Bus::Host(host.to_owned());
    let host_name = host.to_owned();
    core.hook(
        &bus,
        &format!("iq/self/{}:query", ns::PRIVATE),
        0.0,
        Rc::new(move |core, ev| {
            let stanza = ev.stanza.as_ref()?.clone();
            let username = core.origin_username(&ev.origin)?;
            // On the storage executor; the asker's answers wait for it (a set is answered
            // once durable).
            let key = crate::storage::executor::key(&host_name, Some(&username), STORE);
            let (host, origin) = (host_name.clone(), ev.origin.clone());
            crate::storage::call::spawn_held(
                core,
                &ev.origin,
                key,
                move |st| handle(st, &host, &username, &stanza),
                move |core, reply| core.reply(&origin, reply),
            );
            Some(true)
        }),
    );
    if let Some(h) = core.hosts.get_mut(host) {
        h.features.insert(ns::PRIVATE.to_owned());
    }
}

/// Answers one `jabber:iq:private` get or set of `username` (on the storage executor).
pub fn handle(
    store: &crate::storage::Storage,
    host: &str,
    username: &str,
    stanza: &Element,
) -> Element {
    let Some(query) = stanza.get_child("query", ns::PRIVATE) else {
        return StanzaError::modify(StanzaCondition::BadRequest).reply(stanza);
    };
    let tags: Vec<&Element> = query.child_elements().collect();
    if tags.len() != 1 {
        return StanzaError::modify(StanzaCondition::BadFormat).reply(stanza);
    }
    let tag = tags[0];
    let key = format!("{}:{}", tag.name, tag.ns);
    let current = match store.get(host, Some(username), STORE) {
        Ok(v) => v,
        Err(e) => {
            return StanzaError::wait(StanzaCondition::InternalServerError)
                .with_text(e.to_string())
                .reply(stanza)
        }
    };
    if stanza.attr("type") == Some("get") {
        let found = current
            .as_ref()
            .and_then(LuaValue::as_table)
            .and_then(|t| t.field(&key))
            .and_then(deserialize);
        let q = match found {
            Some(el) => Element::new("query", ns::PRIVATE).with_child(el),
            // Nothing stored: the request's own (empty) element comes back.
            None => query.clone(),
        };
        return result_for(stanza).with_child(q);
    }
    let mut map = current
        .and_then(|v| match v {
            LuaValue::Table(t) => Some(t),
            _ => None,
        })
        .unwrap_or_else(LuaTable::new);
    // An element without children clears the key, as in Prosody.
    if tag.children.is_empty() {
        map.set(key.as_str(), LuaValue::Nil);
    } else {
        map.set(key.as_str(), preserialize(tag, Xmlns::Every));
    }
    match store.set(host, Some(username), STORE, Some(&LuaValue::Table(map))) {
        Ok(()) => result_for(stanza),
        Err(e) => StanzaError::wait(StanzaCondition::InternalServerError)
            .with_text(e.to_string())
            .reply(stanza),
    }
}
