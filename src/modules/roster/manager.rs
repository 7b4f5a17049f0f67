//! Prosody's rostermanager on the core thread: rosters cached per bare JID (loaded at
//! bind or when presence needs them), saved to the `roster` store after every change
//! (version bumped; the write itself runs on the storage executor, see `save`), roster
//! pushes, and the RFC 6121 subscription state transitions used by mod_presence.

use std::collections::HashMap;
use std::sync::Arc;

use super::model::{Roster, RosterItem, Subscription};
use crate::core::bind::short_id;
use crate::core::Core;
use crate::storage::LuaValue;
use crate::xml::Element;
use crate::xmpp::ns;

/// How many rosters of users without sessions stay cached.
const OFFLINE_CACHE: usize = 1024;

/// Cached rosters by bare JID.
#[derive(Default)]
pub struct Rosters {
    /// Boxed, like `Core::sessions`: the table's spare slots stay pointer-sized. `None`
    /// is a loaded roster that is empty (and readable), the common case, which keeps no
    /// allocation at all; a change to it makes it a real one.
    map: HashMap<Box<str>, Option<Box<Roster>>>,
}

/// A loaded roster as the cache keeps it.
fn kept(roster: Roster) -> Option<Box<Roster>> {
    (roster != Roster::default()).then(|| Box::new(roster))
}

/// Splits a bare JID of a local account key: (user, host).
fn bare(user: &str, host: &str) -> String {
    // Exact capacity: the cache keeps this key while the user is online, and `format!`
    // grows by doubling (a 19-byte JID would keep 32).
    let mut jid = String::with_capacity(user.len() + 1 + host.len());
    jid.push_str(user);
    jid.push('@');
    jid.push_str(host);
    jid
}

/// Makes sure the roster of `user@host` is cached, reading it from storage if needed.
pub fn load(core: &mut Core, user: &str, host: &str) {
    let jid = bare(user, host);
    if core.state::<Rosters>().map.contains_key(jid.as_str()) {
        return;
    }
    let roster = match core.shared.store.get(host, Some(user), "roster") {
        // roster-load handlers (§20.1) see what storage held and may add contacts.
        Ok(stored) => {
            let v = stored.unwrap_or_else(|| LuaValue::Table(Default::default()));
            match crate::lua::events::roster_load(core, user, host, &v) {
                Some(changed) => Roster::from_lua(&changed, &jid),
                None if matches!(&v, LuaValue::Table(t) if t.is_empty()) => Roster::default(),
                None => Roster::from_lua(&v, &jid),
            }
        }
        Err(e) => {
            tracing::error!("Error loading roster of {jid}: {e}");
            Roster {
                broken: true,
                ..Roster::default()
            }
        }
    };
    // Prune only when the rosters of offline users alone fill the allowance, so the
    // sweep runs once per OFFLINE_CACHE loads, not on every bind of a busy server.
    let cached = core.state::<Rosters>().map.len();
    if cached >= core.bare_sessions.len() + OFFLINE_CACHE {
        let mut keep: std::collections::HashSet<String> =
            core.bare_sessions.keys().cloned().collect();
        // A roster with a save in flight stays: the save reads it from here.
        let busy: Vec<String> = core
            .state::<Rosters>()
            .map
            .keys()
            .filter(|k| !keep.contains(&***k))
            .map(|k| k.to_string())
            .collect();
        for k in busy {
            if core.state::<super::save::Saves>().busy(&k) {
                keep.insert(k);
            }
        }
        core.state::<Rosters>()
            .map
            .retain(|k, _| keep.contains(&**k));
    }
    core.state::<Rosters>()
        .map
        .insert(jid.into_boxed_str(), kept(roster));
}

/// Runs `f` on the (loaded) roster of `user@host`.
pub fn with<R>(core: &mut Core, user: &str, host: &str, f: impl FnOnce(&Roster) -> R) -> R {
    load(core, user, host);
    let jid = bare(user, host);
    let rosters = core.state::<Rosters>();
    match rosters.map.get(jid.as_str()) {
        Some(Some(r)) => f(r),
        _ => f(&Roster::default()),
    }
}

/// Applies `change` to the roster; when it reports a change, bumps the version and
/// queues the save. Returns whether the change was accepted (like Prosody's
/// `save_roster`): nothing changes for users that do not exist or whose roster could not
/// be read. Answers that must follow durability wait with [`super::save::when_saved`];
/// a save that fails drops the cached roster, so the durable one is what is used next.
pub fn modify(
    core: &mut Core,
    user: &str,
    host: &str,
    change: impl FnOnce(&mut Roster) -> bool,
) -> bool {
    load(core, user, host);
    let jid = bare(user, host);
    // A user with a bound session exists; others are checked at the store (a file
    // read per change would be most of the cost of a roster set).
    let exists = core.bare_sessions.contains_key(jid.as_str())
        || core.shared.accounts.exists(host, user).unwrap_or(false);
    let rosters = core.state::<Rosters>();
    let Some(slot) = rosters.map.get_mut(jid.as_str()) else {
        return false;
    };
    if !exists || slot.as_ref().is_some_and(|r| r.broken) {
        return false;
    }
    let roster = slot.get_or_insert_with(Box::default);
    if !change(roster) {
        return false;
    }
    roster.bump_version();
    super::save::queue(core, user, host, &jid);
    true
}

/// A copy of `jid`'s cached roster for a save (`Some(None)`: cached and empty; `None`:
/// no longer cached).
pub fn snapshot(core: &mut Core, jid: &str) -> Option<Option<Box<Roster>>> {
    match core.state::<Rosters>().map.get(jid)? {
        Some(r) => Some(Some(r.clone())),
        None => Some(None),
    }
}

/// Drops `jid`'s cached roster (after a failed save).
pub fn forget(core: &mut Core, jid: &str) {
    core.state::<Rosters>().map.remove(jid);
}

/// Sends the roster push for `contact` to the user's interested resources.
pub fn push(core: &mut Core, user: &str, host: &str, contact: &str) {
    let (ver, item) = with(core, user, host, |r| {
        (r.client_version(), r.items.get(contact).cloned())
    });
    let item_el = match item {
        Some(item) => item.to_xml(contact),
        None => Element::new("item", ns::ROSTER)
            .with_attr("jid", contact)
            .with_attr("subscription", "remove"),
    };
    let iq = Element::new("iq", ns::CLIENT)
        .with_attr("type", "set")
        .with_attr("id", short_id())
        .with_child(
            Element::new("query", ns::ROSTER)
                .with_attr("ver", ver.to_string())
                .with_child(item_el),
        );
    let iq = Arc::new(iq);
    for sid in interested(core, &bare(user, host)) {
        core.send_to(sid, iq.clone());
    }
}

/// Sessions of `bare_jid` that did a roster get.
pub fn interested(core: &Core, bare_jid: &str) -> Vec<u64> {
    sessions_where(core, bare_jid, |s| s.interested)
}

/// Sessions of `bare_jid` that sent available presence.
pub fn available(core: &Core, bare_jid: &str) -> Vec<u64> {
    sessions_where(core, bare_jid, |s| s.presence.is_some())
}

fn sessions_where(
    core: &Core,
    bare_jid: &str,
    pred: impl Fn(&crate::core::Session) -> bool,
) -> Vec<u64> {
    core.bare_sessions
        .get(bare_jid)
        .map(|l| {
            l.iter()
                .copied()
                .filter(|id| core.sessions.get(id).is_some_and(|s| pred(s)))
                .collect()
        })
        .unwrap_or_default()
}

// --- RFC 6121 state transitions (rostermanager's functions of the same names) ---

/// The contact receives the user's presence (subscription from/both).
pub fn is_contact_subscribed(core: &mut Core, user: &str, host: &str, contact: &str) -> bool {
    with(core, user, host, |r| r.subscription(contact).has_from())
}

/// The user receives the contact's presence (subscription to/both).
pub fn is_user_subscribed(core: &mut Core, user: &str, host: &str, contact: &str) -> bool {
    with(core, user, host, |r| r.subscription(contact).has_to())
}

pub fn is_contact_pending_in(core: &mut Core, user: &str, host: &str, contact: &str) -> bool {
    with(core, user, host, |r| r.pending.contains_key(contact))
}

pub fn is_contact_preapproved(core: &mut Core, user: &str, host: &str, contact: &str) -> bool {
    with(core, user, host, |r| {
        r.items.get(contact).is_some_and(|i| i.approved)
    })
}

/// Stores an inbound subscription request (not when the contact is already subscribed).
pub fn set_contact_pending_in(
    core: &mut Core,
    user: &str,
    host: &str,
    contact: &str,
    request: LuaValue,
) -> bool {
    modify(core, user, host, |r| {
        if r.subscription(contact).has_from() {
            return false;
        }
        r.pending.insert(contact.to_owned(), request);
        true
    })
}

/// The user sent `subscribe`: mark `ask` (creating the item). True when it is (or
/// already was) pending or subscribed.
pub fn set_contact_pending_out(core: &mut Core, user: &str, host: &str, contact: &str) -> bool {
    let already = with(core, user, host, |r| {
        r.items
            .get(contact)
            .is_some_and(|i| i.ask || i.subscription.has_to())
    });
    if already {
        return true;
    }
    modify(core, user, host, |r| {
        r.items.entry(contact.to_owned()).or_default().ask = true;
        true
    })
}

/// The user sent `unsubscribe`: drop `ask` and the "to" half.
pub fn unsubscribe(core: &mut Core, user: &str, host: &str, contact: &str) -> bool {
    let state = with(core, user, host, |r| {
        r.items.get(contact).map(|i| (i.subscription, i.ask))
    });
    match state {
        None => false,
        Some((s, false)) if !s.has_to() => true,
        Some(_) => modify(core, user, host, |r| {
            if let Some(i) = r.items.get_mut(contact) {
                i.ask = false;
                i.subscription = match i.subscription {
                    Subscription::Both => Subscription::From,
                    Subscription::To => Subscription::None,
                    s => s,
                };
            }
            true
        }),
    }
}

/// The user sent `subscribed`: approve a pending request, or store a pre-approval.
pub fn subscribed(core: &mut Core, user: &str, host: &str, contact: &str) -> bool {
    let pending = is_contact_pending_in(core, user, host, contact);
    let sub = with(core, user, host, |r| {
        r.items.get(contact).map(|i| i.subscription)
    });
    if pending {
        modify(core, user, host, |r| {
            let item = r.items.entry(contact.to_owned()).or_default();
            item.subscription = match item.subscription {
                Subscription::None => Subscription::From,
                _ => Subscription::Both,
            };
            r.pending.remove(contact);
            true
        })
    } else if matches!(sub, None | Some(Subscription::None | Subscription::To)) {
        modify(core, user, host, |r| {
            r.items.entry(contact.to_owned()).or_default().approved = true;
            true
        })
    } else {
        false
    }
}

/// The user sent `unsubscribed`: (saved, was pending, was subscribed).
pub fn unsubscribed(core: &mut Core, user: &str, host: &str, contact: &str) -> (bool, bool, bool) {
    let (pending, from) = with(core, user, host, |r| {
        (
            r.pending.contains_key(contact),
            r.subscription(contact).has_from(),
        )
    });
    if !pending && !from {
        return (false, false, false);
    }
    let saved = modify(core, user, host, |r| {
        r.pending.remove(contact);
        if let Some(i) = r.items.get_mut(contact) {
            i.subscription = match i.subscription {
                Subscription::From => Subscription::None,
                Subscription::Both => Subscription::To,
                s => s,
            };
        }
        true
    });
    (saved, pending, from)
}

/// The contact approved the user's request.
pub fn process_inbound_subscription_approval(
    core: &mut Core,
    user: &str,
    host: &str,
    contact: &str,
) -> bool {
    let asked = with(core, user, host, |r| {
        r.items.get(contact).is_some_and(|i| i.ask)
    });
    asked
        && modify(core, user, host, |r| {
            if let Some(i) = r.items.get_mut(contact) {
                i.subscription = match i.subscription {
                    Subscription::None => Subscription::To,
                    _ => Subscription::Both,
                };
                i.ask = false;
            }
            true
        })
}

/// The contact cancelled (or denied) the user's subscription.
pub fn process_inbound_subscription_cancellation(
    core: &mut Core,
    user: &str,
    host: &str,
    contact: &str,
) -> bool {
    modify(core, user, host, |r| {
        let Some(i) = r.items.get_mut(contact) else {
            return false;
        };
        let mut changed = std::mem::take(&mut i.ask);
        let next = match i.subscription {
            Subscription::To => Subscription::None,
            Subscription::Both => Subscription::From,
            s => s,
        };
        changed |= next != i.subscription;
        i.subscription = next;
        changed
    })
}

/// The contact unsubscribed from the user's presence.
pub fn process_inbound_unsubscribe(core: &mut Core, user: &str, host: &str, contact: &str) -> bool {
    modify(core, user, host, |r| {
        let mut changed = r.pending.remove(contact).is_some();
        if let Some(i) = r.items.get_mut(contact) {
            let next = match i.subscription {
                Subscription::From => Subscription::None,
                Subscription::Both => Subscription::To,
                s => s,
            };
            changed |= next != i.subscription;
            i.subscription = next;
        }
        changed
    })
}

/// Adds or replaces an item (roster set).
pub fn add_item(core: &mut Core, user: &str, host: &str, contact: &str, item: RosterItem) -> bool {
    modify(core, user, host, |r| {
        r.items.insert(contact.to_owned(), item);
        true
    })
}

/// Removes an item (roster set with `subscription='remove'`).
pub fn remove_item(core: &mut Core, user: &str, host: &str, contact: &str) -> bool {
    modify(core, user, host, |r| r.items.remove(contact).is_some())
}
