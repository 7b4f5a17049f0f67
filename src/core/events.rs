//! The event bus with Prosody's `util.events` semantics: handlers run in descending
//! priority, and the first handler that returns a value stops the event.
//!
//! A bus is owned by the core thread (one per host plus the global one). Handlers are
//! reference-counted so a dispatch can hand `&mut Core` to each of them while the bus
//! itself stays borrowed only for the moment it takes to clone the handler list.

use std::collections::HashMap;
use std::rc::Rc;

use super::{Core, Event};

/// What a handler returns: `None` lets the event go on, `Some(v)` stops it with `v`.
pub type HookResult = Option<bool>;

/// A native handler. Lua handlers will be wrapped into the same shape.
pub type Handler = Rc<dyn Fn(&mut Core, &mut Event) -> HookResult>;

#[derive(Clone)]
struct Entry {
    priority: f64,
    seq: u64,
    handler: Handler,
}

/// One bus of named events.
#[derive(Default)]
pub struct EventBus {
    handlers: HashMap<String, Rc<Vec<Entry>>>,
    next_seq: u64,
}

impl EventBus {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `handler` to `event` at `priority` (higher runs first). Among equal priorities
    /// the earlier registration runs first, which Prosody leaves unspecified.
    pub fn add_handler(&mut self, event: &str, priority: f64, handler: Handler) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let list = self.handlers.entry(event.to_owned()).or_default();
        let mut v: Vec<Entry> = list.as_ref().clone();
        v.push(Entry {
            priority,
            seq,
            handler,
        });
        v.sort_by(|a, b| {
            b.priority
                .partial_cmp(&a.priority)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.seq.cmp(&b.seq))
        });
        *list = Rc::new(v);
        seq
    }

    /// Removes the handler registered with the id `add_handler` returned.
    pub fn remove_handler(&mut self, event: &str, id: u64) {
        if let Some(list) = self.handlers.get_mut(event) {
            let v: Vec<Entry> = list.iter().filter(|e| e.seq != id).cloned().collect();
            if v.is_empty() {
                self.handlers.remove(event);
            } else {
                *list = Rc::new(v);
            }
        }
    }

    pub fn has_handlers(&self, event: &str) -> bool {
        self.handlers.contains_key(event)
    }

    fn snapshot(&self, event: &str) -> Option<Rc<Vec<Entry>>> {
        self.handlers.get(event).cloned()
    }
}

/// Which bus an event is fired on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bus {
    Global,
    Host(String),
}

/// Fires `name` on `bus`, returning the first handler's non-`None` result.
pub fn fire(core: &mut Core, bus: &Bus, name: &str, event: &mut Event) -> HookResult {
    let list = match bus {
        Bus::Global => core.global_events.snapshot(name),
        Bus::Host(h) => core.hosts.get(h).and_then(|h| h.events.snapshot(name)),
    };
    let list = list?;
    for entry in list.iter() {
        if let Some(r) = (entry.handler)(core, event) {
            return Some(r);
        }
    }
    None
}
