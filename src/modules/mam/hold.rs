//! Messages held while their archive write becomes durable. mod_mam takes a message out
//! of its event at its own priority, queues the append (the stanza-id chosen first), and
//! lets the rest of the event's handlers run once the write is on disk, as Prosody's
//! archive step finishes before delivery goes on. Per queue (the sending session for
//! `pre-message/*`, the recipient for `message/*`) messages go on in arrival order: a
//! message that needs no archiving waits behind held ones rather than overtake them.
//!
//! A message from a local client to a local account need not wait for the sender's write
//! before it is routed: it goes on at once ("early") and the recipient's step holds it
//! until both writes are durable, so the two archives are written at the same time
//! instead of one after the other. Nothing reaches the recipient before both are on disk.

use std::collections::{HashMap, VecDeque};

use crate::core::events::fire_below;
use crate::core::{Bus, Core, Event, SessionId};
use crate::xml::Element;

use super::policy;

/// Which step of routing a message was held in, and for whom.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Queue {
    /// `pre-message/*` of the sender's host, for this session.
    Outgoing(SessionId, String),
    /// `message/*` on the recipient's host, for this bare JID.
    Incoming(String),
}

/// The event a held message continues with (below mod_mam's priority 0).
pub struct Step {
    pub bus: Bus,
    pub name: String,
}

/// The stanza-id to stamp once written: (by, id).
pub type Stamp = Option<(String, String)>;

struct Held {
    ev: Event,
    step: Step,
    /// `Some` once the message may go on, with the stanza-id to stamp (none when the
    /// write failed or the message only waited its turn).
    done: Option<Stamp>,
    /// Another queue's write (the sender's, released early) this one also waits for.
    waits_for: Option<u64>,
    /// This message's own write when it goes on before it is durable.
    early: Option<u64>,
}

/// A message released early, while the recipient's step has not claimed it yet: its
/// sender's write ticket and the message's `to` and `id`, to be sure of the match.
type Slot = (u64, Option<String>, Option<String>);

#[derive(Default)]
struct Holds {
    next: u64,
    queues: HashMap<Queue, VecDeque<(u64, Held)>>,
    /// Early writes not yet durable, with the held message that waits for each.
    early_writes: HashMap<u64, Option<(Queue, u64)>>,
    slot: Option<Slot>,
}

/// Whether messages wait in `queue` (a new one must wait behind them).
pub fn busy(core: &mut Core, queue: &Queue) -> bool {
    core.state::<Holds>().queues.contains_key(queue)
}

/// Takes `ev`'s message into `queue` to wait for a write; pass the returned ticket to
/// [`written`] once the write is durable (or failed). `after` is an early write (see
/// [`claim`]) the message waits for as well.
pub fn hold(core: &mut Core, queue: Queue, step: Step, ev: &mut Event, after: Option<u64>) -> u64 {
    push(core, queue, step, ev, None, after)
}

/// Takes `ev`'s message into `queue` only to keep its place behind held ones, or to wait
/// for the early write `after`.
pub fn wait_turn(core: &mut Core, queue: Queue, step: Step, ev: &mut Event, after: Option<u64>) {
    push(core, queue, step, ev, Some(None), after);
}

/// Takes `ev`'s message into `queue` with its write under way, and lets it go on as soon
/// as nothing is ahead of it, stamped with `stamp`: the recipient's step must [`claim`]
/// it to wait for the write. Pass the ticket to [`written`] once the write ends.
pub fn release_early(
    core: &mut Core,
    queue: Queue,
    step: Step,
    ev: &mut Event,
    stamp: Stamp,
) -> u64 {
    let ticket = push(core, queue.clone(), step, ev, Some(stamp), None);
    let holds = core.state::<Holds>();
    holds.early_writes.insert(ticket, None);
    if let Some((_, held)) = holds
        .queues
        .get_mut(&queue)
        .and_then(|q| q.iter_mut().find(|(t, _)| *t == ticket))
    {
        held.early = Some(ticket);
    }
    pump(core, &queue);
    ticket
}

/// The early write of the message now in the recipient's step, if it is one released by
/// [`release_early`] and its write is not durable yet.
pub fn claim(core: &mut Core, stanza: &Element) -> Option<u64> {
    let holds = core.state::<Holds>();
    let (ticket, to, id) = holds.slot.as_ref()?;
    if to.as_deref() != stanza.attr("to") || id.as_deref() != stanza.attr("id") {
        return None;
    }
    let ticket = *ticket;
    holds.slot = None;
    holds.early_writes.contains_key(&ticket).then_some(ticket)
}

fn push(
    core: &mut Core,
    queue: Queue,
    step: Step,
    ev: &mut Event,
    done: Option<Stamp>,
    after: Option<u64>,
) -> u64 {
    let mut taken = Event::stanza(ev.origin.clone(), Element::new("message", ""));
    taken.stanza = ev.stanza.take();
    taken.to_self = ev.to_self;
    taken.session = ev.session;
    let holds = core.state::<Holds>();
    holds.next += 1;
    let ticket = holds.next;
    let waits_for = after.and_then(|w| {
        let link = holds.early_writes.get_mut(&w)?;
        *link = Some((queue.clone(), ticket));
        Some(w)
    });
    holds.queues.entry(queue).or_default().push_back((
        ticket,
        Held {
            ev: taken,
            step,
            done,
            waits_for,
            early: None,
        },
    ));
    ticket
}

/// The write of `ticket` finished: its message (stamped with `stamp` when the write
/// succeeded) goes on, and so does every message behind it that is ready. An early
/// write's message went on already: the message that waits for it may go on now.
pub fn written(core: &mut Core, queue: &Queue, ticket: u64, stamp: Stamp) {
    let holds = core.state::<Holds>();
    if let Some(link) = holds.early_writes.remove(&ticket) {
        if let Some((waiting_queue, waiting)) = link {
            if let Some((_, held)) = holds
                .queues
                .get_mut(&waiting_queue)
                .and_then(|q| q.iter_mut().find(|(t, _)| *t == waiting))
            {
                held.waits_for = None;
            }
            pump(core, &waiting_queue);
        }
        return;
    }
    if let Some(q) = holds.queues.get_mut(queue) {
        if let Some((_, held)) = q.iter_mut().find(|(t, _)| *t == ticket) {
            held.done = Some(stamp);
        }
    }
    pump(core, queue);
}

/// Lets the ready messages at the front of `queue` go on, in order.
fn pump(core: &mut Core, queue: &Queue) {
    loop {
        let next = {
            let holds = core.state::<Holds>();
            let Some(q) = holds.queues.get_mut(queue) else {
                return;
            };
            if q.front()
                .is_none_or(|(_, h)| h.done.is_none() || h.waits_for.is_some())
            {
                return;
            }
            let front = q.pop_front().map(|(_, h)| h);
            if q.is_empty() {
                holds.queues.remove(queue);
            }
            front
        };
        if let Some(held) = next {
            go_on(core, queue, held);
        }
    }
}

fn go_on(core: &mut Core, queue: &Queue, held: Held) {
    let Held {
        mut ev,
        step,
        done,
        early,
        ..
    } = held;
    if let (Some(Some((by, id))), Some(stanza)) = (done, ev.stanza.as_mut()) {
        stanza.push_child(
            Element::new("stanza-id", policy::STANZA_ID)
                .with_attr("by", by)
                .with_attr("id", id),
        );
    }
    if fire_below(core, &step.bus, &step.name, 0.0, &mut ev).is_some() {
        return;
    }
    let Some(stanza) = ev.stanza.take() else {
        return;
    };
    match queue {
        Queue::Outgoing(_, host) => {
            // The recipient's step claims the early write while this call routes it.
            let slot = early.map(|t| {
                (
                    t,
                    stanza.attr("to").map(str::to_owned),
                    stanza.attr("id").map(str::to_owned),
                )
            });
            let before = std::mem::replace(&mut core.state::<Holds>().slot, slot);
            crate::core::router::post_after_pre(core, ev.origin, host.clone(), stanza, ev.to_self);
            core.state::<Holds>().slot = before;
        }
        Queue::Incoming(_) => {
            ev.stanza = Some(stanza);
            if ev.to_self && core.fire(&step.bus, "message/self", &mut ev).is_some() {
                return;
            }
            if let Some(stanza) = ev.stanza.take() {
                crate::core::router::unhandled(core, &ev.origin, &stanza);
            }
        }
    }
}
