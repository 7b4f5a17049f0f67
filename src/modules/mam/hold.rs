//! Messages held while their archive write becomes durable. mod_mam takes a message out
//! of its event at its own priority, queues the append (the stanza-id chosen first), and
//! lets the rest of the event's handlers run once the write is on disk, as Prosody's
//! archive step finishes before delivery goes on. Per queue (the sending session for
//! `pre-message/*`, the recipient for `message/*`) messages go on in arrival order: a
//! message that needs no archiving waits behind held ones rather than overtake them.

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
}

#[derive(Default)]
struct Holds {
    next: u64,
    queues: HashMap<Queue, VecDeque<(u64, Held)>>,
}

/// Whether messages wait in `queue` (a new one must wait behind them).
pub fn busy(core: &mut Core, queue: &Queue) -> bool {
    core.state::<Holds>().queues.contains_key(queue)
}

/// Takes `ev`'s message into `queue` to wait for a write; pass the returned ticket to
/// [`written`] once the write is durable (or failed).
pub fn hold(core: &mut Core, queue: Queue, step: Step, ev: &mut Event) -> u64 {
    push(core, queue, step, ev, None)
}

/// Takes `ev`'s message into a busy `queue` only to keep its place behind held ones.
pub fn wait_turn(core: &mut Core, queue: Queue, step: Step, ev: &mut Event) {
    push(core, queue, step, ev, Some(None));
}

fn push(core: &mut Core, queue: Queue, step: Step, ev: &mut Event, done: Option<Stamp>) -> u64 {
    let mut taken = Event::stanza(ev.origin.clone(), Element::new("message", ""));
    taken.stanza = ev.stanza.take();
    taken.to_self = ev.to_self;
    taken.session = ev.session;
    let holds = core.state::<Holds>();
    holds.next += 1;
    let ticket = holds.next;
    holds.queues.entry(queue).or_default().push_back((
        ticket,
        Held {
            ev: taken,
            step,
            done,
        },
    ));
    ticket
}

/// The write of `ticket` finished: its message (stamped with `stamp` when the write
/// succeeded) goes on, and so does every message behind it that is ready.
pub fn written(core: &mut Core, queue: &Queue, ticket: u64, stamp: Stamp) {
    if let Some(q) = core.state::<Holds>().queues.get_mut(queue) {
        if let Some((_, held)) = q.iter_mut().find(|(t, _)| *t == ticket) {
            held.done = Some(stamp);
        }
    }
    loop {
        let next = {
            let holds = core.state::<Holds>();
            let Some(q) = holds.queues.get_mut(queue) else {
                return;
            };
            if q.front().is_none_or(|(_, h)| h.done.is_none()) {
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
    let Held { mut ev, step, done } = held;
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
            crate::core::router::post_after_pre(core, ev.origin, host.clone(), stanza, ev.to_self)
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
