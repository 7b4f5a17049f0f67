//! The account archive on storage: appending (with Prosody's quota handling), reading
//! entries for queries, preferences, and the daily expiry job over the `archive_cleanup`
//! map. Every store call of mod_mam is in this file.

use crate::core::{Bus, Core, Event};
use crate::modules::offline::{stamp, stanza_lua};
use crate::storage::{LuaKey, LuaTable, LuaValue, StorageError};
use crate::xml::Element;

use super::find::Entry;
use super::prefs::{Policy, Prefs};
use super::{policy, settings, MamState};

const CLEANUP_STORE: &str = "archive_cleanup";

/// Decides, stores and stamps one message for `user@host`'s archive (Prosody's
/// `message_handler` after the stanza-id stripping).
pub fn store_if_wanted(core: &mut Core, ev: &mut Event, host: &str, user: &str, with: &str) {
    let Some(stanza) = ev.stanza.as_ref() else {
        return;
    };
    let (should, reason) = policy::should_store(stanza);
    if !should {
        tracing::trace!("Not archiving stanza ({reason})");
        return;
    }
    let s = settings(core, host);
    let Some(copy) = policy::storable_copy(stanza, &s.strip_namespaces) else {
        return;
    };
    if !shall_store(core, host, user, with) {
        return;
    }
    let when = now();
    match append(core, host, user, &copy, when, with) {
        Ok(key) => {
            if let Some(stanza) = ev.stanza.as_mut() {
                stanza.push_child(
                    Element::new("stanza-id", policy::STANZA_ID)
                        .with_attr("by", format!("{user}@{host}"))
                        .with_attr("id", key.as_str()),
                );
            }
            mark_for_cleanup(core, host, user, when);
            added(core, host, ev, copy, user, &key);
        }
        Err(e) => tracing::error!("Could not archive stanza: {e}"),
    }
}

/// `archive-message-added`, for plugins that listen (nobody native does).
fn added(core: &mut Core, host: &str, ev: &Event, copy: Element, user: &str, key: &str) {
    let bus = Bus::Host(host.to_owned());
    let hooked = core
        .hosts
        .get(host)
        .is_some_and(|h| h.events.has_handlers("archive-message-added"));
    if hooked {
        let mut added = Event::stanza(ev.origin.clone(), copy);
        added.error = Some(format!("{user} {key}"));
        core.fire(&bus, "archive-message-added", &mut added);
    }
}

/// The owner's rule for `with`, else their default, else the server's.
fn shall_store(core: &mut Core, host: &str, user: &str, with: &str) -> bool {
    if !core.shared.accounts.exists(host, user).unwrap_or(false) {
        return false;
    }
    let p = prefs(core, host, user, false);
    if let Some(rule) = p.rules.get(with) {
        return *rule;
    }
    match p
        .default
        .unwrap_or_else(|| settings(core, host).default_policy)
    {
        Policy::Always => true,
        Policy::Never => false,
        Policy::Roster => {
            crate::modules::roster::manager::with(core, user, host, |r| r.items.contains_key(with))
        }
    }
}

/// The user's preferences; with `mam_smart_enable`, users who never used MAM are not
/// archived until they do (`explicit`), which stores the server's default for them.
pub fn prefs(core: &mut Core, host: &str, user: &str, explicit: bool) -> Prefs {
    let s = settings(core, host);
    let store = format!("{}_prefs", s.store);
    match core.shared.store.get(host, Some(user), &store) {
        Ok(Some(v)) => Prefs::from_lua(&v),
        Ok(None) if s.smart_enable && explicit => {
            let p = Prefs {
                default: Some(s.default_policy),
                ..Prefs::default()
            };
            if let Err(e) = core
                .shared
                .store
                .set(host, Some(user), &store, Some(&p.to_lua()))
            {
                tracing::error!("Could not store archive preferences of {user}@{host}: {e}");
            }
            p
        }
        Ok(None) if s.smart_enable => Prefs {
            default: Some(Policy::Never),
            ..Prefs::default()
        },
        Ok(None) => Prefs::default(),
        Err(e) => {
            tracing::error!("Could not load archive preferences of {user}@{host}: {e}");
            Prefs::default()
        }
    }
}

pub fn set_prefs(core: &mut Core, host: &str, user: &str, p: &Prefs) -> Result<(), StorageError> {
    let store = format!("{}_prefs", settings(core, host).store);
    core.shared
        .store
        .set(host, Some(user), &store, Some(&p.to_lua()))
}

/// Appends with Prosody's internal-driver quota: at the limit, expired entries go first,
/// then the oldest until 99 % of the limit remain.
fn append(
    core: &mut Core,
    host: &str,
    user: &str,
    stanza: &Element,
    when: f64,
    with: &str,
) -> Result<String, StorageError> {
    let s = settings(core, host);
    let count_key = (host.to_owned(), user.to_owned());
    let count = match core.state::<MamState>().counts.get(&count_key) {
        Some(c) => *c,
        None => core
            .shared
            .store
            .archive_list(host, Some(user), &s.store)?
            .len(),
    };
    let mut count = count;
    if count >= s.item_limit {
        let mut items = core.shared.store.archive_list(host, Some(user), &s.store)?;
        if let Some(after) = s.expires_after {
            let cutoff = now() - after;
            items.retain(|i| item_when(i).is_none_or(|w| w > cutoff));
        }
        if items.len() >= s.item_limit {
            let keep = (s.item_limit as f64 * 0.99).floor() as usize;
            let drop = items.len().saturating_sub(keep);
            items.drain(..drop);
        }
        core.shared
            .store
            .archive_replace(host, Some(user), &s.store, &items)?;
        count = items.len();
    }
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
    let key = format!(
        "{}{}",
        crate::core::bind::short_id(),
        crate::core::bind::short_id()
    );
    core.shared
        .store
        .archive_append(host, Some(user), &s.store, &key, when, with, &item)?;
    core.state::<MamState>().counts.insert(count_key, count + 1);
    Ok(key)
}

fn item_when(item: &LuaValue) -> Option<f64> {
    let t = item.as_table()?;
    t.field("when").and_then(LuaValue::as_f64).or_else(|| {
        t.field("attr")
            .and_then(LuaValue::as_table)
            .and_then(|a| a.field("stamp"))
            .and_then(LuaValue::as_str)
            .and_then(stamp::parse)
    })
}

/// Every entry of the archive, oldest first, with the stored item as its value.
pub fn entries(
    core: &mut Core,
    host: &str,
    user: &str,
) -> Result<Vec<Entry<LuaValue>>, StorageError> {
    let store = settings(core, host).store;
    let items = core.shared.store.archive_list(host, Some(user), &store)?;
    Ok(items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let t = item.as_table();
            let key = t
                .and_then(|t| t.field("key"))
                .and_then(LuaValue::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| (i + 1).to_string());
            let with = t
                .and_then(|t| t.field("with"))
                .and_then(LuaValue::as_str)
                .unwrap_or("")
                .to_owned();
            let when = item_when(&item).unwrap_or(0.0);
            Entry {
                key,
                when,
                with,
                value: item,
            }
        })
        .collect())
}

/// The stored message of an entry, without the storage fields.
pub fn message_of(item: &LuaValue) -> Option<Element> {
    let mut msg = stanza_lua::deserialize(item)?;
    msg.attrs
        .retain(|(k, _)| k != "stamp" && k != "stamp_legacy");
    Some(msg)
}

/// Notes that `user` has messages from `when`'s day (map `archive_cleanup`, user = the
/// date, key = the user), once per user and day.
fn mark_for_cleanup(core: &mut Core, host: &str, user: &str, when: f64) {
    if settings(core, host).expires_after.is_none() {
        return;
    }
    let date = stamp::datetime(when)[..10].to_owned();
    let mut day = match core.shared.store.get(host, Some(&date), CLEANUP_STORE) {
        Ok(Some(LuaValue::Table(t))) => t,
        Ok(_) => LuaTable::new(),
        Err(e) => {
            tracing::error!("Could not read the archive cleanup index: {e}");
            return;
        }
    };
    if day.get(&LuaKey::Str(user.to_owned())).is_some() {
        return;
    }
    day.set(LuaKey::Str(user.to_owned()), LuaValue::Bool(true));
    let value = LuaValue::Table(day);
    if let Err(e) = core
        .shared
        .store
        .set(host, Some(&date), CLEANUP_STORE, Some(&value))
    {
        tracing::error!("Could not write the archive cleanup index: {e}");
    }
}

/// Removes expired entries of every user the cleanup index names for days up to the
/// cut-off (Prosody's daily "Remove expired messages"). Returns (messages, users).
pub fn cleanup(core: &mut Core, host: &str, now: f64) -> (usize, usize) {
    let s = settings(core, host);
    let Some(after) = s.expires_after else {
        return (0, 0);
    };
    let cutoff = now - after;
    let cut_date = stamp::datetime(cutoff)[..10].to_owned();
    let dates = stored_users(core, host, CLEANUP_STORE);
    let mut users = std::collections::BTreeSet::new();
    for date in dates.iter().filter(|d| d.as_str() <= cut_date.as_str()) {
        if let Ok(Some(LuaValue::Table(t))) = core.shared.store.get(host, Some(date), CLEANUP_STORE)
        {
            for (k, _) in t.iter() {
                if let LuaKey::Str(u) = k {
                    users.insert(u.clone());
                }
            }
        }
        // Entries of the cut-off day itself may not have expired yet.
        if date.as_str() < cut_date.as_str() {
            let _ = core.shared.store.set(host, Some(date), CLEANUP_STORE, None);
        }
    }
    let (mut removed, mut touched) = (0, 0);
    for user in &users {
        let Ok(items) = core.shared.store.archive_list(host, Some(user), &s.store) else {
            continue;
        };
        let before = items.len();
        let kept: Vec<LuaValue> = items
            .into_iter()
            .filter(|i| item_when(i).is_none_or(|w| w > cutoff))
            .collect();
        if kept.len() != before {
            match core
                .shared
                .store
                .archive_replace(host, Some(user), &s.store, &kept)
            {
                Ok(()) => {
                    removed += before - kept.len();
                    core.state::<MamState>()
                        .counts
                        .insert((host.to_owned(), user.clone()), kept.len());
                }
                Err(e) => tracing::error!("Could not delete messages for user '{user}': {e}"),
            }
        }
        touched += 1;
    }
    tracing::info!("Deleted {removed} expired messages for {touched} users");
    (removed, touched)
}

/// The users (here: dates) that have a `.dat` file in a store, as `datamanager.users`.
fn stored_users(core: &Core, host: &str, store: &str) -> Vec<String> {
    let Ok(probe) = core.shared.store.file_path(host, Some("x"), store, "dat") else {
        return Vec::new();
    };
    let Some(dir) = probe.parent() else {
        return Vec::new();
    };
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = read
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            Some(decode_name(name.strip_suffix(".dat")?))
        })
        .collect();
    out.sort();
    out
}

/// Undoes the `%xx` encoding of stored file names.
fn decode_name(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Runs [`cleanup`] once a day from a timer thread that asks the core (it never touches
/// core state itself).
pub fn schedule_cleanup_job(core: &mut Core, host: &str) {
    if settings(core, host).expires_after.is_none() {
        return;
    }
    let tx = core.shared.core_tx.clone();
    let host = host.to_owned();
    let spawned = std::thread::Builder::new()
        .name("lilt-mam-cleanup".into())
        .spawn(move || loop {
            std::thread::sleep(std::time::Duration::from_secs(86_400));
            let host = host.clone();
            let task = crate::core::session::CoreTask(Box::new(move |core: &mut Core| {
                cleanup(core, &host, now());
            }));
            if tx.send(crate::core::CoreMsg::Task(task)).is_err() {
                return;
            }
        });
    if let Err(e) = spawned {
        tracing::error!("Could not start the archive cleanup timer: {e}");
    }
}

pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as f64
}
