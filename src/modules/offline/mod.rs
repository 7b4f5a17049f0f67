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
use crate::core::events::fire_below;
use crate::core::hold::{self, Hold};
use crate::core::{Bus, Core, Event, Origin};
use crate::storage::driver::item_str;
use crate::storage::{call, executor};
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

/// Offline stores in flight per bare JID, and the deliveries waiting for them. A message
/// counted on the executor before its append is queued would otherwise be appended after
/// a login's first page was read, and reach the user only at the next login: a delivery
/// starts once every store that began before it is on disk, as in Prosody, where both run
/// in order on one thread.
#[derive(Default)]
struct Storing(std::collections::HashMap<String, (usize, Vec<Waiter>)>);

/// A delivery waiting for the stores in flight.
type Waiter = Box<dyn FnOnce(&mut Core)>;

fn store_begins(core: &mut Core, jid: &str) {
    core.state::<Storing>()
        .0
        .entry(jid.to_owned())
        .or_default()
        .0 += 1;
}

fn store_ends(core: &mut Core, jid: &str) {
    let waiting = {
        let storing = core.state::<Storing>();
        let Some(entry) = storing.0.get_mut(jid) else {
            return;
        };
        entry.0 = entry.0.saturating_sub(1);
        if entry.0 > 0 {
            return;
        }
        storing.0.remove(jid).map(|(_, w)| w).unwrap_or_default()
    };
    for then in waiting {
        then(core);
    }
}

/// Runs `then` once no offline store for `jid` is in flight (at once when none is).
fn after_stores(core: &mut Core, jid: &str, then: impl FnOnce(&mut Core) + 'static) {
    if let Some(entry) = core.state::<Storing>().0.get_mut(jid) {
        if entry.0 > 0 {
            entry.1.push(Box::new(then));
            return;
        }
    }
    then(core);
}

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
            if let Some(&count) = core.state::<Counts>().0.get(&jid) {
                if count >= limit(core, &host) {
                    quota_reached(core, &jid);
                    return None;
                }
            }
            // The sender's answers (the ping after the message, a bounce) wait until the
            // message is on disk: acknowledged means durable.
            let hold = hold::begin(core, &ev.origin);
            let mut taken = Event::stanza(ev.origin.clone(), stanza.clone());
            taken.to_self = ev.to_self;
            if core.state::<Counts>().0.contains_key(&jid) {
                handle(core, taken, hold, host, user);
                return Some(true);
            }
            // Counted once, on the storage executor; the message waits for it.
            let key = executor::key(&host, Some(&user), STORE);
            let (h, u) = (host.clone(), user.clone());
            store_begins(core, &jid);
            call::spawn(
                core,
                key,
                move |st| st.archive_count(&h, Some(&u), STORE).unwrap_or(0),
                move |core, n| {
                    core.state::<Counts>().0.entry(jid.clone()).or_insert(n);
                    handle(core, taken, hold, host, user);
                    store_ends(core, &jid);
                },
            );
            Some(true)
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
            // What else reaches the session meanwhile waits behind its offline messages.
            let hold = hold::begin(core, &ev.origin);
            let jid = format!("{user}@{host}");
            after_stores(core, &jid, move |core| {
                deliver_from(core, sid, hold, host, user, None, 0)
            });
            Some(true)
        }),
    );
}

/// Stores a message taken from `message/offline/handle` on the storage executor (batched
/// with other appends to the same archive); when the store fails or the quota is reached,
/// the handlers below this one, then the bounce, get it after all.
fn handle(core: &mut Core, ev: Event, hold: Option<Hold>, host: String, user: String) {
    let jid = format!("{user}@{host}");
    let count = core.state::<Counts>().0.get(&jid).copied().unwrap_or(0);
    if count >= limit(core, &host) {
        quota_reached(core, &jid);
        return call::fill(hold, core, |core| refused(core, &host, ev));
    }
    let Some(stanza) = ev.stanza.as_ref() else {
        return;
    };
    core.state::<Counts>().0.insert(jid.clone(), count + 1);
    let item = item_for(stanza, now());
    let key = executor::key(&host, Some(&user), STORE);
    store_begins(core, &jid);
    call::append(core, key, item, move |core, result| {
        call::fill(hold, core, |core| {
            if let Err(e) = result {
                tracing::error!("Could not store offline message for {jid}: {e}");
                core.state::<Counts>().0.remove(&jid);
                refused(core, &host, ev);
            }
        });
        store_ends(core, &jid);
    });
}

fn quota_reached(core: &mut Core, jid: &str) {
    if core.state::<Warned>().0.insert(jid.to_owned()) {
        tracing::warn!("Offline message quota of {jid} reached; not storing");
    } else {
        tracing::debug!("Offline message quota of {jid} reached; not storing");
    }
}

/// The message was not stored: the rest of `message/offline/handle`, then the bounce
/// Prosody sends when nothing took it.
fn refused(core: &mut Core, host: &str, mut ev: Event) {
    let bus = Bus::Host(host.to_owned());
    if fire_below(core, &bus, "message/offline/handle", -1.0, &mut ev).is_some() {
        return;
    }
    if let Some(stanza) = ev.stanza.take() {
        crate::core::router::unhandled(core, &ev.origin, &stanza);
    }
}

/// Delivers `user`'s offline messages to `sid` one page at a time, each page read on the
/// storage executor (in order after the appends queued before), then removes what was
/// delivered; the session's other output waits behind `hold` until the last page.
fn deliver_from(
    core: &mut Core,
    sid: crate::core::SessionId,
    hold: Option<Hold>,
    host: String,
    user: String,
    after: Option<String>,
    seen: usize,
) {
    let key = executor::key(&host, Some(&user), STORE);
    let (h, u) = (host.clone(), user.clone());
    let query = ArchiveQuery {
        after,
        limit: Some(PAGE),
        ..ArchiveQuery::default()
    };
    call::spawn(
        core,
        key,
        move |st| st.archive_find(&h, Some(&u), STORE, &query),
        move |core, page| {
            let page = match page {
                Ok(p) => p,
                Err(e) => {
                    return tracing::error!("Could not load offline messages of {user}@{host}: {e}")
                }
            };
            let seen = seen + page.len();
            let last_key = page
                .last()
                .and_then(|i| item_str(i, "key"))
                .map(str::to_owned);
            let send = |core: &mut Core| {
                for item in &page {
                    if let Some(msg) = with_delay(item, &host) {
                        core.send_to(sid, Arc::new(msg));
                    }
                }
            };
            match &hold {
                Some(h) => h.fill(|| send(core)),
                None => send(core),
            }
            match last_key {
                // A full page continues after its last key (an item without a key, which
                // only hand-made lists have, ends the delivery there).
                Some(k) if page.len() == PAGE => {
                    deliver_from(core, sid, hold, host, user, Some(k), seen)
                }
                _ => delivered(core, hold, host, user, seen),
            }
        },
    );
}

/// Removes the `seen` delivered messages (all of them, unless more were stored
/// meanwhile, which stay); the session's other output waits for that too, as in Prosody,
/// where the removal is done before anything else reaches it.
fn delivered(core: &mut Core, hold: Option<Hold>, host: String, user: String, seen: usize) {
    let jid = format!("{user}@{host}");
    core.state::<Warned>().0.remove(&jid);
    core.state::<Counts>().0.remove(&jid);
    if seen == 0 {
        return;
    }
    let key = executor::key(&host, Some(&user), STORE);
    call::spawn(
        core,
        key,
        move |st| {
            if st.archive_count(&host, Some(&user), STORE)? <= seen {
                return st.archive_replace(&host, Some(&user), STORE, &[]);
            }
            let rest = st.archive_list(&host, Some(&user), STORE)?;
            st.archive_replace(&host, Some(&user), STORE, &rest[seen.min(rest.len())..])
        },
        move |_core, result: Result<(), crate::storage::StorageError>| {
            if let Err(e) = result {
                tracing::error!("Could not remove delivered offline messages: {e}");
            }
            drop(hold);
        },
    );
}

/// Appends one message to `user`'s offline archive synchronously (tools, and callers off
/// the core thread).
pub fn store(
    core: &Core,
    host: &str,
    user: &str,
    stanza: &Element,
    when: f64,
) -> Result<(), crate::storage::StorageError> {
    core.shared
        .store
        .archive_append_item(host, Some(user), STORE, &item_for(stanza, when))
}

/// An offline archive item as Prosody's storage keeps it: the preserialized stanza with
/// `attr.stamp`, plus `key`, `when` and `with` (mod_offline passes an empty `with`).
fn item_for(stanza: &Element, when: f64) -> LuaValue {
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
    crate::storage::internal::archive_item(&key, when, "", &item)
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
