//! Roster saves off the core thread: a change is applied to the cached roster at once and
//! its save queued on the storage executor, which writes the latest state (a flood of
//! changes joins into one write per disk round trip). Whoever must answer only once the
//! change is durable (the roster set's result) waits with [`when_saved`].

use std::collections::HashMap;

use crate::core::session::{CoreMsg, CoreTask};
use crate::core::Core;
use crate::storage::driver::StoreResult;

type Waiter = Box<dyn FnOnce(&mut Core, bool)>;

/// Per bare JID: saves queued and not yet reported, the sequence numbers of changes,
/// and who waits for which.
#[derive(Default)]
pub struct Saves {
    queued: HashMap<Box<str>, Pending>,
}

#[derive(Default)]
struct Pending {
    /// Changes queued so far (each change has the next number).
    issued: u64,
    /// Changes reported saved or failed.
    settled: u64,
    waiters: Vec<(u64, Waiter)>,
}

impl Saves {
    /// Whether `jid` has saves in flight (its cached roster must stay cached).
    pub fn busy(&self, jid: &str) -> bool {
        self.queued.contains_key(jid)
    }
}

/// Queues the save of `user@host`'s cached roster.
pub fn queue(core: &mut Core, user: &str, host: &str, jid: &str) {
    let seq = {
        let p = core.state::<Saves>().queued.entry(jid.into()).or_default();
        p.issued += 1;
        p.issued
    };
    let tx = core.shared.core_tx.clone();
    let snap_jid = jid.to_owned();
    let snapshot = Box::new(move || {
        // The state to write is read when the write starts, on the core (which owns
        // the cache), so joined saves write everything changed until then.
        let (reply_tx, reply_rx) = std::sync::mpsc::channel();
        let task = CoreTask(Box::new(move |core: &mut Core| {
            let _ = reply_tx.send(super::manager::snapshot(core, &snap_jid));
        }));
        tx.send(CoreMsg::Task(task)).ok()?;
        // The core only copies the roster; building the stored form happens here.
        let roster = reply_rx.recv().ok().flatten()?;
        Some(roster.map(|r| r.to_lua()))
    });
    let tx = core.shared.core_tx.clone();
    let done_jid = jid.to_owned();
    let done = Box::new(move |result: &StoreResult<()>| {
        let ok = match result {
            Ok(()) => true,
            Err(e) => {
                tracing::error!("Unable to save roster of {done_jid}: {e}");
                false
            }
        };
        let task = CoreTask(Box::new(move |core: &mut Core| {
            settled(core, &done_jid, seq, ok)
        }));
        let _ = tx.send(CoreMsg::Task(task));
    });
    let key = (host.to_owned(), Some(user.to_owned()), "roster".to_owned());
    core.shared.store_exec.save(key, snapshot, done);
}

fn settled(core: &mut Core, jid: &str, seq: u64, ok: bool) {
    let ready = {
        let saves = core.state::<Saves>();
        let Some(p) = saves.queued.get_mut(jid) else {
            return;
        };
        p.settled = p.settled.max(seq);
        let settled = p.settled;
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut p.waiters)
            .into_iter()
            .partition(|(s, _)| *s <= settled);
        p.waiters = waiting;
        if p.settled >= p.issued {
            saves.queued.remove(jid);
        }
        ready
    };
    if !ok {
        // The cache is ahead of the store: forget it, the next use reloads what is durable.
        super::manager::forget(core, jid);
    }
    for (_, waiter) in ready {
        waiter(core, ok);
    }
}

/// Runs `then` once every change made so far to `user@host`'s roster is durable (at once
/// when nothing is in flight), with whether the last save succeeded.
pub fn when_saved(core: &mut Core, jid: &str, then: impl FnOnce(&mut Core, bool) + 'static) {
    let saves = core.state::<Saves>();
    match saves.queued.get_mut(jid) {
        Some(p) => {
            let seq = p.issued;
            p.waiters.push((seq, Box::new(then)));
        }
        None => then(core, true),
    }
}
