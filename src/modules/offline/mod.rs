//! mod_offline: messages for a user with no available resource are appended to the
//! `offline` archive (`message/offline/handle`) and delivered, each with a
//! `<delay xmlns='urn:xmpp:delay' from=host stamp=when/>`, at the user's next initial
//! presence of priority ≥ 0 (`message/offline/broadcast`); the archive is then cleared.

pub mod stamp;
pub use crate::storage::stanza as stanza_lua;

use std::rc::Rc;
use std::sync::Arc;

use crate::core::bind::short_id;
use crate::core::{Bus, Core, Origin};
use crate::storage::LuaValue;
use crate::xml::Element;
use crate::xmpp::jid::Jid;
use crate::xmpp::ns;

/// The archive store Prosody's mod_offline uses.
pub const STORE: &str = "offline";

pub fn load(core: &mut Core, host: &str) {
    if let Some(h) = core.hosts.get_mut(host) {
        h.features.insert("msgoffline".to_owned());
    }
    let bus = Bus::Host(host.to_owned());
    core.hook(
        &bus,
        "message/offline/handle",
        -1.0,
        Rc::new(|core, ev| {
            let stanza = ev.stanza.as_ref()?;
            let target = match stanza.attr("to") {
                Some(to) => Jid::parse(to).ok(),
                None => stanza.attr("from").and_then(|f| Jid::parse(f).ok()),
            }?;
            let user = target.node()?.to_owned();
            let host = target.domain().to_owned();
            match store(core, &host, &user, stanza, now()) {
                Ok(()) => Some(true),
                Err(e) => {
                    tracing::error!("Could not store offline message for {user}@{host}: {e}");
                    None
                }
            }
        }),
    );
    core.hook(
        &bus,
        "message/offline/broadcast",
        -1.0,
        Rc::new(|core, ev| {
            let Origin::Session(sid) = ev.origin else {
                return None;
            };
            let s = core.sessions.get(&sid)?;
            let (user, host) = (s.username().to_owned(), s.host().to_owned());
            let messages = match take(core, &host, &user) {
                Ok(m) => m,
                Err(e) => {
                    tracing::error!("Could not load offline messages of {user}@{host}: {e}");
                    return Some(true);
                }
            };
            for m in messages {
                core.send_to(sid, Arc::new(m));
            }
            Some(true)
        }),
    );
}

/// Appends one message to `user`'s offline archive, as Prosody's storage does: the
/// preserialized stanza with `attr.stamp`, plus `key`, `when` and `with` (mod_offline
/// passes an empty `with`).
pub fn store(
    core: &Core,
    host: &str,
    user: &str,
    stanza: &Element,
    when: f64,
) -> Result<(), crate::storage::StorageError> {
    let mut item = stanza_lua::preserialize(stanza);
    if let Some(t) = item.as_table_mut() {
        let mut attr = t
            .field("attr")
            .and_then(LuaValue::as_table)
            .cloned()
            .unwrap_or_default();
        attr.set("stamp", stamp::datetime(when));
        t.set("attr", attr);
    }
    // util.id.medium: 24 URL-safe characters.
    let key = format!("{}{}", short_id(), short_id());
    core.shared
        .store
        .archive_append(host, Some(user), STORE, &key, when, "", &item)
}

/// Loads and deletes `user`'s offline messages, each with its `<delay/>` added.
pub fn take(
    core: &Core,
    host: &str,
    user: &str,
) -> Result<Vec<Element>, crate::storage::StorageError> {
    let items = core.shared.store.archive_list(host, Some(user), STORE)?;
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(items.len());
    for item in &items {
        let Some(t) = item.as_table() else { continue };
        let stamp_attr = t
            .field("attr")
            .and_then(LuaValue::as_table)
            .and_then(|a| a.field("stamp"))
            .and_then(LuaValue::as_str)
            .and_then(stamp::parse);
        let when = t.field("when").and_then(LuaValue::as_f64).or(stamp_attr);
        let Some(mut msg) = stanza_lua::deserialize(item) else {
            continue;
        };
        msg.attrs
            .retain(|(k, _)| k != "stamp" && k != "stamp_legacy");
        let mut delay = Element::new("delay", ns::DELAY).with_attr("from", host);
        delay.set_attr("stamp", stamp::datetime(when.unwrap_or_else(now)));
        msg.push_child(delay);
        out.push(msg);
    }
    core.shared
        .store
        .archive_replace(host, Some(user), STORE, &[])?;
    Ok(out)
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as f64
}
