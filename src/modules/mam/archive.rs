//! The account archive on storage: appending (with Prosody's quota handling), reading
//! entries for queries, preferences, and the daily expiry job over the `archive_cleanup`
//! map. Every store call of mod_mam is in this file.

use crate::core::events::HookResult;
use crate::core::{Bus, Core, Event, Origin};
use crate::modules::offline::{stamp, stanza_lua};
use crate::storage::{call, LuaKey, LuaTable, LuaValue, Storage, StorageError};
use crate::xml::Element;

use super::find::{find, Entry, FindError, Query};
use super::hold::{self, Queue, Step};
use super::prefs::{Policy, Prefs};
use super::{policy, settings, MamState};
use crate::storage::index::IndexEntry;

const CLEANUP_STORE: &str = "archive_cleanup";

/// Decides, stores and stamps one message for `user@host`'s archive (Prosody's
/// `message_handler` after the stanza-id stripping). An archived message is taken out of
/// its event (`Some(true)`) and goes on, stamped, once its write is durable; a message
/// that is not archived but has held messages ahead of it in `queue` waits its turn.
pub fn store_if_wanted(
    core: &mut Core,
    ev: &mut Event,
    target: (&str, &str, &str),
    queue: Queue,
    step: Step,
) -> HookResult {
    let (host, user, with) = target;
    // A message released early by its local sender waits here for that write too.
    let after = match &queue {
        Queue::Incoming(_) => ev.stanza.as_ref().and_then(|s| hold::claim(core, s)),
        Queue::Outgoing(..) => None,
    };
    let Some(copy) = wanted(core, ev, host, user, with) else {
        if after.is_some() || hold::busy(core, &queue) {
            hold::wait_turn(core, queue, step, ev, after);
            return Some(true);
        }
        return None;
    };
    let when = now();
    let key = format!(
        "{}{}",
        crate::core::bind::short_id(),
        crate::core::bind::short_id()
    );
    let origin = ev.origin.clone();
    let early = matches!(queue, Queue::Outgoing(..)) && to_local_archive(core, ev);
    let (h, u, k) = (host.to_owned(), user.to_owned(), key.clone());
    let ticket = if early {
        let stamp = Some((format!("{u}@{h}"), k.clone()));
        hold::release_early(core, queue.clone(), step, ev, stamp)
    } else {
        hold::hold(core, queue.clone(), step, ev, after)
    };
    let stamp_copy = copy.clone();
    append(core, host, user, &copy, when, with, key, move |core, ok| {
        let stamp = ok.then(|| (format!("{u}@{h}"), k.clone()));
        if ok {
            mark_for_cleanup(core, &h, &u, when);
            added(core, &h, origin, stamp_copy, &u, &k);
        }
        hold::written(core, &queue, ticket, stamp);
    });
    Some(true)
}

/// Whether a message a local client sends goes to an account of a local host with
/// mod_mam, whose step holds it until the sender's write is durable as well (so the
/// sender's step may let it go on before).
fn to_local_archive(core: &mut Core, ev: &Event) -> bool {
    if ev.to_self {
        return false;
    }
    let Some(to) = ev.stanza.as_ref().and_then(|s| s.attr("to")) else {
        return false;
    };
    let Ok(jid) = crate::xmpp::jid::Jid::parse(to) else {
        return false;
    };
    jid.node().is_some()
        && core.is_local_host(jid.domain())
        && core.state::<MamState>().loaded.contains(jid.domain())
}

/// The copy to archive, when the message is to be archived at all.
fn wanted(core: &mut Core, ev: &Event, host: &str, user: &str, with: &str) -> Option<Element> {
    let stanza = ev.stanza.as_ref()?;
    let (should, reason) = policy::should_store(stanza);
    if !should {
        tracing::trace!("Not archiving stanza ({reason})");
        return None;
    }
    let s = settings(core, host);
    let copy = policy::storable_copy(stanza, &s.strip_namespaces)?;
    shall_store(core, host, user, with).then_some(copy)
}

/// `archive-message-added`, for plugins that listen (nobody native does).
fn added(core: &mut Core, host: &str, origin: Origin, copy: Element, user: &str, key: &str) {
    let bus = Bus::Host(host.to_owned());
    let hooked = core
        .hosts
        .get(host)
        .is_some_and(|h| h.events.has_handlers("archive-message-added"));
    if hooked {
        let mut added = Event::stanza(origin, copy);
        added.error = Some(format!("{user} {key}"));
        core.fire(&bus, "archive-message-added", &mut added);
    }
}

/// The owner's rule for `with`, else their default, else the server's.
fn shall_store(core: &mut Core, host: &str, user: &str, with: &str) -> bool {
    // A bound session proves the account exists (no store read per message).
    let bound = core.bare_sessions.contains_key(&format!("{user}@{host}"));
    if !bound && !core.shared.accounts.exists(host, user).unwrap_or(false) {
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
    let cache_key = (host.to_owned(), user.to_owned());
    let stored = match core.state::<PrefsCache>().0.get(&cache_key) {
        Some(v) => Ok(v.clone()),
        None => core.shared.store.get(host, Some(user), &store),
    };
    if let Ok(v) = &stored {
        remember(core, host, user, v.clone());
    }
    match stored {
        Ok(Some(v)) => Prefs::from_lua(&v),
        Ok(None) if s.smart_enable && explicit => {
            let p = Prefs {
                default: Some(s.default_policy),
                ..Prefs::default()
            };
            let value = p.to_lua();
            remember(core, host, user, Some(value.clone()));
            let (h, u) = (host.to_owned(), user.to_owned());
            let key = crate::storage::executor::key(host, Some(user), &store);
            call::spawn(
                core,
                key,
                move |st| st.set(&h, Some(&u), &store, Some(&value)),
                move |_core, r: Result<(), StorageError>| {
                    if let Err(e) = r {
                        tracing::error!("Could not store archive preferences: {e}");
                    }
                },
            );
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

/// Stored preferences by (host, user), read once per process: they are consulted for
/// every archived message and change only through [`set_prefs`] or [`prefs`].
#[derive(Default)]
struct PrefsCache(std::collections::HashMap<(String, String), Option<LuaValue>>);

fn remember(core: &mut Core, host: &str, user: &str, value: Option<LuaValue>) {
    core.state::<PrefsCache>()
        .0
        .insert((host.to_owned(), user.to_owned()), value);
}

pub fn set_prefs(core: &mut Core, host: &str, user: &str, p: &Prefs) -> Result<(), StorageError> {
    let store = format!("{}_prefs", settings(core, host).store);
    let value = p.to_lua();
    let result = core
        .shared
        .store
        .set(host, Some(user), &store, Some(&value));
    match &result {
        Ok(()) => remember(core, host, user, Some(value)),
        Err(_) => {
            core.state::<PrefsCache>()
                .0
                .remove(&(host.to_owned(), user.to_owned()));
        }
    }
    result
}

/// Appends on the storage executor with Prosody's internal-driver quota: at the limit,
/// expired entries go first, then the oldest until 99 % of the limit remain. While the
/// count is known and below the limit the append joins a batch (one flush for many);
/// otherwise one job counts, trims and appends. `then` runs on the core once the entry
/// is durable (`true`) or the write failed.
#[allow(clippy::too_many_arguments)]
fn append(
    core: &mut Core,
    host: &str,
    user: &str,
    stanza: &Element,
    when: f64,
    with: &str,
    key: String,
    then: impl FnOnce(&mut Core, bool) + 'static,
) {
    let s = settings(core, host);
    let mut value = stanza_lua::preserialize(stanza);
    if let Some(t) = value.as_table_mut() {
        let mut attr = t
            .field("attr")
            .and_then(LuaValue::as_table)
            .cloned()
            .unwrap_or_default();
        attr.set("stamp", stamp::datetime(when));
        t.set("attr", attr);
    }
    let item = crate::storage::internal::archive_item(&key, when, with, &value);
    let count_key = (host.to_owned(), user.to_owned());
    let exec_key = crate::storage::executor::key(host, Some(user), &s.store);
    let known = core.state::<MamState>().counts.get(&count_key).copied();
    if let Some(count) = known.filter(|c| c + 1 < s.item_limit) {
        core.state::<MamState>()
            .counts
            .insert(count_key.clone(), count + 1);
        call::append(core, exec_key, item, move |core, result| {
            if let Err(e) = &result {
                tracing::error!("Could not archive stanza: {e}");
                core.state::<MamState>().counts.remove(&count_key);
            }
            then(core, result.is_ok());
        });
        return;
    }
    let (h, u) = (host.to_owned(), user.to_owned());
    let (limit, expires_after) = (s.item_limit, s.expires_after);
    call::spawn(
        core,
        exec_key,
        move |st| quota_append(st, (&h, &u, &s.store), &item, limit, expires_after),
        move |core, result| match result {
            Ok(count) => {
                core.state::<MamState>().counts.insert(count_key, count);
                then(core, true);
            }
            Err(e) => {
                tracing::error!("Could not archive stanza: {e}");
                core.state::<MamState>().counts.remove(&count_key);
                then(core, false);
            }
        },
    );
}

/// Counts, trims at the quota and appends (on the storage executor); answers the count
/// after the append.
fn quota_append(
    st: &Storage,
    (host, user, store): (&str, &str, &str),
    item: &LuaValue,
    limit: usize,
    expires_after: Option<f64>,
) -> Result<usize, StorageError> {
    let mut count = st.archive_count(host, Some(user), store)?;
    if count >= limit {
        let mut items = st.archive_list(host, Some(user), store)?;
        if let Some(after) = expires_after {
            let cutoff = now() - after;
            items.retain(|i| item_when(i).is_none_or(|w| w > cutoff));
        }
        if items.len() >= limit {
            let keep = (limit as f64 * 0.99).floor() as usize;
            let drop = items.len().saturating_sub(keep);
            items.drain(..drop);
        }
        st.archive_replace(host, Some(user), store, &items)?;
        count = items.len();
    }
    st.archive_append_item(host, Some(user), store, item)?;
    Ok(count + 1)
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

/// One page of a query, read on the storage executor.
pub struct Page {
    /// (id, time, message) in the order the query returns them.
    pub rows: Vec<(String, f64, Option<Element>)>,
    /// Entries matching the filters, before paging.
    pub total: usize,
    /// Whether the page reaches the end (nothing beyond `max`).
    pub complete: bool,
}

/// Why a page could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PageError {
    #[error(transparent)]
    Find(#[from] FindError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Runs `q` (its limit one past `max`, to tell whether more follow) over `user@host`'s
/// archive: through the index on the internal driver, reading only the page's items;
/// other drivers list the archive and filter it.
pub fn page(
    st: &Storage,
    (host, user, store): (&str, &str, &str),
    q: &Query,
    max: usize,
) -> Result<Page, PageError> {
    if let Some(internal) = st.indexed(host, store) {
        let Some(index) = internal.archive_index(host, Some(user), store)? else {
            return Ok(find(&[] as &[IndexEntry], q).map(|(_, total)| Page {
                rows: Vec::new(),
                total,
                complete: true,
            })?);
        };
        let (found, total) = find(&index.entries, q)?;
        let complete = found.len() <= max;
        let shown: Vec<&IndexEntry> = found.into_iter().take(max).collect();
        let items = internal.archive_read(host, Some(user), store, &shown)?;
        let rows = shown
            .iter()
            .zip(items)
            .map(|(e, item)| (e.key.to_string(), e.when, message_of(&item)))
            .collect();
        return Ok(Page {
            rows,
            total,
            complete,
        });
    }
    let entries = entries(st.archive_list(host, Some(user), store)?);
    let (found, total) = find(&entries, q)?;
    let complete = found.len() <= max;
    let rows = found
        .into_iter()
        .take(max)
        .map(|e| (e.key.clone(), e.when, message_of(&e.value)))
        .collect();
    Ok(Page {
        rows,
        total,
        complete,
    })
}

/// An entry's (id, time).
pub type Bound = (String, f64);

/// The first and last entries (XEP-0313 metadata).
pub fn bounds(
    st: &Storage,
    (host, user, store): (&str, &str, &str),
) -> Result<Option<(Bound, Bound)>, StorageError> {
    let pair = |k: &str, w: f64| (k.to_owned(), w);
    if let Some(internal) = st.indexed(host, store) {
        let Some(index) = internal.archive_index(host, Some(user), store)? else {
            return Ok(None);
        };
        return Ok(index
            .entries
            .first()
            .zip(index.entries.last())
            .map(|(a, b)| (pair(&a.key, a.when), pair(&b.key, b.when))));
    }
    let entries = entries(st.archive_list(host, Some(user), store)?);
    Ok(entries
        .first()
        .zip(entries.last())
        .map(|(a, b)| (pair(&a.key, a.when), pair(&b.key, b.when))))
}

/// Stored items as query entries, oldest first.
fn entries(items: Vec<LuaValue>) -> Vec<Entry<LuaValue>> {
    items
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
        .collect()
}

/// The stored message of an entry, without the storage fields.
pub fn message_of(item: &LuaValue) -> Option<Element> {
    let mut msg = stanza_lua::deserialize(item)?;
    msg.attrs
        .retain(|(k, _)| k != "stamp" && k != "stamp_legacy");
    Some(msg)
}

/// The (host, date, user) triples already noted in the cleanup index by this process.
#[derive(Default)]
struct Marked(std::collections::HashSet<(String, String, String)>);

/// Notes that `user` has messages from `when`'s day (map `archive_cleanup`, user = the
/// date, key = the user), once per user and day, on the storage executor.
fn mark_for_cleanup(core: &mut Core, host: &str, user: &str, when: f64) {
    if settings(core, host).expires_after.is_none() {
        return;
    }
    let date = stamp::datetime(when)[..10].to_owned();
    let mark = (host.to_owned(), date.clone(), user.to_owned());
    if !core.state::<Marked>().0.insert(mark) {
        return;
    }
    let (host, user) = (host.to_owned(), user.to_owned());
    let key = crate::storage::executor::key(&host, Some(&date), CLEANUP_STORE);
    call::spawn(
        core,
        key,
        move |st| {
            let mut day = match st.get(&host, Some(&date), CLEANUP_STORE)? {
                Some(LuaValue::Table(t)) => t,
                _ => LuaTable::new(),
            };
            if day.get(&LuaKey::Str(user.clone())).is_some() {
                return Ok(());
            }
            day.set(LuaKey::Str(user), LuaValue::Bool(true));
            st.set(
                &host,
                Some(&date),
                CLEANUP_STORE,
                Some(&LuaValue::Table(day)),
            )
        },
        |_core, result: Result<(), StorageError>| {
            if let Err(e) = result {
                tracing::error!("Could not write the archive cleanup index: {e}");
            }
        },
    );
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

/// The users (here: dates) with a value in a keyval store, as `datamanager.users`.
fn stored_users(core: &Core, host: &str, store: &str) -> Vec<String> {
    let driver = core.shared.store.driver(host, store);
    let Ok(users) = driver.users(host, store, crate::storage::StoreKind::Keyval) else {
        return Vec::new();
    };
    users.into_iter().flatten().collect()
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
