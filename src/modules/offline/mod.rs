//! mod_offline: messages for a user with no available resource are appended to the
//! `offline` archive (`message/offline/handle`) and delivered, each with a
//! `<delay xmlns='urn:xmpp:delay' from=host stamp=when/>`, at the user's next initial
//! presence of priority ≥ 0 (`message/offline/broadcast`), read page by page (never the
//! whole archive in memory at once); the archive is then cleared.
//!
//! Lilt extension: `offline_message_limit` (per user, default 10000, Prosody's
//! `storage_archive_item_limit` default) bounds what one account can be sent while away;
//! past it the message is not stored and bounces as Prosody bounces an unstorable one.

pub mod stamp;
pub use crate::storage::stanza as stanza_lua;

use std::rc::Rc;
use std::sync::Arc;

use crate::core::bind::short_id;
use crate::core::{Bus, Core, Origin};
use crate::storage::driver::item_str;
use crate::storage::{ArchiveQuery, LuaValue};
use crate::xml::Element;
use crate::xmpp::jid::Jid;
use crate::xmpp::ns;

/// The archive store Prosody's mod_offline uses.
pub const STORE: &str = "offline";

/// Messages read from the store per page when delivering.
pub const PAGE: usize = 100;

/// Default of `offline_message_limit`.
pub const DEFAULT_LIMIT: usize = 10_000;

/// Stored-message counts per bare JID (counted once from the store, then kept).
#[derive(Default)]
struct Counts(std::collections::HashMap<String, usize>);

/// Accounts whose quota refusal was logged at warn since their last delivery: a flood
/// to one full account logs one line, not one per message.
#[derive(Default)]
struct Warned(std::collections::HashSet<String>);

fn limit(core: &Core, host: &str) -> usize {
    let h = core.shared.config.host(host);
    h.integer("offline_message_limit")
        .or_else(|| h.integer("storage_archive_item_limit"))
        .map_or(DEFAULT_LIMIT, |n| n.max(0) as usize)
}

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
            let jid = format!("{user}@{host}");
            let count = match core.state::<Counts>().0.get(&jid) {
                Some(n) => *n,
                None => core
                    .shared
                    .store
                    .archive_count(&host, Some(&user), STORE)
                    .unwrap_or(0),
            };
            if count >= limit(core, &host) {
                if core.state::<Warned>().0.insert(jid.clone()) {
                    tracing::warn!("Offline message quota of {jid} reached; not storing");
                } else {
                    tracing::debug!("Offline message quota of {jid} reached; not storing");
                }
                return None;
            }
            match store(core, &host, &user, stanza, now()) {
                Ok(()) => {
                    core.state::<Counts>().0.insert(jid, count + 1);
                    Some(true)
                }
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
            if let Err(e) = deliver(core, sid, &host, &user) {
                tracing::error!("Could not load offline messages of {user}@{host}: {e}");
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

/// Sends `user`'s offline messages to `sid` a page at a time, each with its `<delay/>`,
/// then deletes them. Answers how many were sent.
pub fn deliver(
    core: &mut Core,
    sid: crate::core::SessionId,
    host: &str,
    user: &str,
) -> Result<usize, crate::storage::StorageError> {
    let mut after: Option<String> = None;
    let (mut sent, mut seen) = (0, 0);
    loop {
        let query = ArchiveQuery {
            after: after.clone(),
            limit: Some(PAGE),
            ..ArchiveQuery::default()
        };
        let page = core
            .shared
            .store
            .archive_find(host, Some(user), STORE, &query)?;
        seen += page.len();
        let full = page.len() == PAGE;
        let last_key = page
            .last()
            .and_then(|i| item_str(i, "key"))
            .map(str::to_owned);
        for item in &page {
            if let Some(msg) = with_delay(item, host) {
                core.send_to(sid, Arc::new(msg));
                sent += 1;
            }
        }
        match (full, last_key) {
            (true, Some(key)) => after = Some(key),
            // A full page whose last item has no key cannot be continued from: the rest
            // comes in one piece (Prosody always writes keys; hand-made lists may not).
            (true, None) => {
                let rest = core.shared.store.archive_list(host, Some(user), STORE)?;
                for item in rest.iter().skip(sent) {
                    if let Some(msg) = with_delay(item, host) {
                        core.send_to(sid, Arc::new(msg));
                        sent += 1;
                    }
                }
                break;
            }
            (false, _) => break,
        }
    }
    let jid = format!("{user}@{host}");
    core.state::<Warned>().0.remove(&jid);
    core.state::<Counts>().0.remove(&jid);
    if seen > 0 {
        core.shared
            .store
            .archive_replace(host, Some(user), STORE, &[])?;
    }
    Ok(sent)
}

/// A stored message as delivered: the stanza with its `<delay/>`.
fn with_delay(item: &LuaValue, host: &str) -> Option<Element> {
    let t = item.as_table()?;
    let stamp_attr = t
        .field("attr")
        .and_then(LuaValue::as_table)
        .and_then(|a| a.field("stamp"))
        .and_then(LuaValue::as_str)
        .and_then(stamp::parse);
    let when = t.field("when").and_then(LuaValue::as_f64).or(stamp_attr);
    let mut msg = stanza_lua::deserialize(item)?;
    msg.attrs
        .retain(|(k, _)| k != "stamp" && k != "stamp_legacy");
    let mut delay = Element::new("delay", ns::DELAY).with_attr("from", host);
    delay.set_attr("stamp", stamp::datetime(when.unwrap_or_else(now)));
    msg.push_child(delay);
    Some(msg)
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as f64
}
