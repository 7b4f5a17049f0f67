//! Output held until a write is durable. A handler that starts a store write off the core
//! thread takes a [`Hold`] on the session it answers: from then on, everything sent to
//! that session (its reply, the answers to its later stanzas, a close) queues behind the
//! hold, and leaves, in order, once the hold is released. What the continuation sends
//! while it [`fills`](Hold::fill) its hold goes where the hold was taken, so the reply
//! keeps its place before the answers to later stanzas, as when the write was synchronous.
//!
//! The queue is a [`Gate`] inside the session's outbound channel, so every path that
//! sends to the session goes through it; a session with no hold pays one `None` check.
//!
//! ```ignore
//! let hold = hold::begin(core, &ev.origin);          // before the write is queued
//! // ... on the core thread once durable:
//! hold.fill(|| core.reply(&origin, result));          // the reply takes the hold's place
//! drop(hold);                                         // later output goes on
//! ```

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

use super::outbound::GateRef;
use super::session::Outbound;
use super::{Core, Origin};

/// Hold numbers, unique in the process (a gate is dropped when empty and made again).
static NEXT: AtomicU64 = AtomicU64::new(1);

enum Item {
    Out(Outbound),
    /// Where a hold was taken; output behind it waits until it is released.
    Mark(u64),
}

/// The held part of one session's output: messages and hold marks in send order.
#[derive(Default)]
pub struct Gate {
    items: VecDeque<Item>,
    /// The hold whose continuation is sending now: its output goes before its mark.
    filling: Option<u64>,
    /// Stanzas of the session (and their bytes) handled while it was held: they count
    /// as in flight until the gate is empty again.
    deferred: (usize, usize),
}

impl Gate {
    /// Takes a new hold (inside the one being filled, if any) and answers its number.
    pub fn mark(&mut self) -> u64 {
        let ticket = NEXT.fetch_add(1, Ordering::Relaxed);
        self.insert(Item::Mark(ticket));
        ticket
    }

    /// Queues a message behind the holds (or in the place of the one being filled).
    pub fn push(&mut self, msg: Outbound) {
        self.insert(Item::Out(msg));
    }

    fn insert(&mut self, item: Item) {
        let at = self.filling.and_then(|t| {
            self.items
                .iter()
                .position(|i| matches!(i, Item::Mark(m) if *m == t))
        });
        match at {
            Some(i) => self.items.insert(i, item),
            None => self.items.push_back(item),
        }
    }

    /// Sets the hold being filled, answering the previous one.
    pub fn set_filling(&mut self, ticket: Option<u64>) -> Option<u64> {
        std::mem::replace(&mut self.filling, ticket)
    }

    /// Releases `ticket` and answers what may leave now: everything up to the first hold
    /// still taken.
    pub fn release(&mut self, ticket: u64) -> Vec<Outbound> {
        if let Some(i) = self
            .items
            .iter()
            .position(|i| matches!(i, Item::Mark(m) if *m == ticket))
        {
            self.items.remove(i);
        }
        let mut out = Vec::new();
        while let Some(front) = self.items.front() {
            if matches!(front, Item::Mark(_)) {
                break;
            }
            if let Some(Item::Out(msg)) = self.items.pop_front() {
                out.push(msg);
            }
        }
        out
    }

    /// A stanza of `bytes` of the held session was handled.
    pub fn defer(&mut self, bytes: usize) {
        self.deferred.0 += 1;
        self.deferred.1 += bytes;
    }

    /// The handled stanzas still counted in flight, and their bytes.
    pub fn deferred(&self) -> (usize, usize) {
        self.deferred
    }

    /// No hold is taken and nothing waits.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// How many messages wait (tests, logs).
    pub fn waiting(&self) -> usize {
        self.items
            .iter()
            .filter(|i| matches!(i, Item::Out(_)))
            .count()
    }
}

/// A session's output waiting for a write. Released when dropped (on any thread), so a
/// continuation that never runs (the server stopping) cannot hold a session forever.
pub struct Hold {
    gate: GateRef,
    ticket: u64,
}

impl Hold {
    /// Takes a hold on the output of the channel `gate` leads to.
    pub fn on(gate: GateRef) -> Hold {
        let ticket = gate.mark();
        Hold { gate, ticket }
    }

    /// Runs `f` with what it sends to the held session put in the hold's place (before
    /// the output queued behind the hold). Core thread only.
    pub fn fill<R>(&self, f: impl FnOnce() -> R) -> R {
        let before = self.gate.set_filling(Some(self.ticket));
        let out = f();
        self.gate.set_filling(before);
        out
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.gate.release(self.ticket);
    }
}

impl std::fmt::Debug for Hold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hold({})", self.ticket)
    }
}

/// Takes a hold on the output of the session `origin` is (none for hosts and remote
/// servers: nothing of theirs is answered through a session here).
pub fn begin(core: &Core, origin: &Origin) -> Option<Hold> {
    match origin {
        Origin::Session(id) => core.sessions.get(id).map(|s| Hold::on(s.tx.gate())),
        Origin::Host(_) => None,
    }
}

thread_local! {
    /// The session whose stanza the core thread is handling now.
    static CURRENT: RefCell<Option<GateRef>> = const { RefCell::new(None) };
}

/// Runs `f` (the handling of one stanza of the session `gate` leads to) with that session
/// as the one [`current`] holds.
pub fn handling<R>(gate: Option<GateRef>, f: impl FnOnce() -> R) -> R {
    let before = CURRENT.with(|c| c.replace(gate));
    let out = f();
    CURRENT.with(|c| *c.borrow_mut() = before);
    out
}

/// A hold on the session whose stanza is being handled, for writes deep in a module
/// that does not know who asked (pubsub's stores): its answer, sent after the write was
/// queued, waits for the write. `None` outside a stanza's handling.
pub fn current() -> Option<Hold> {
    CURRENT.with(|c| c.borrow().clone()).map(Hold::on)
}

#[cfg(test)]
#[path = "hold_tests.rs"]
mod tests;
