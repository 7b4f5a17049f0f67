//! The event bus with Prosody's `util.events` semantics: handlers run in descending
//! priority, and the first handler that returns a value stops the event. Wrappers
//! (`util.events` `add_wrapper`, per event or for all events) run around the handlers.
//!
//! A bus is owned by the core thread (one per host plus the global one). Handlers are
//! reference-counted so a dispatch can hand `&mut Core` to each of them while the bus
//! itself stays borrowed only for the moment it takes to clone the handler list. A bus
//! without wrappers pays one boolean test per fire for them.

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;

use super::{Core, Event};

/// What a handler returns: `None` lets the event go on, `Some(v)` stops it with `v`.
pub type HookResult = Option<bool>;

/// A native handler. Lua handlers will be wrapped into the same shape.
pub type Handler = Rc<dyn Fn(&mut Core, &mut Event) -> HookResult>;

/// What a wrapper calls to go on: the remaining wrappers, then the handlers.
pub type Next<'a> = &'a mut dyn FnMut(&mut Core, &mut Event) -> HookResult;

/// A wrapper gets the event name and `next`; not calling `next` blocks the event, and
/// what the wrapper returns is the event's result.
pub type Wrapper = Rc<dyn Fn(&mut Core, &mut Event, &str, Next<'_>) -> HookResult>;

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
    /// Per-event wrappers, newest first (`util.events` inserts at the front).
    wrappers: HashMap<String, Rc<Vec<(u64, Wrapper)>>>,
    /// Wrappers of every event (`add_wrapper(false, ...)`), newest first.
    all_wrappers: Rc<Vec<(u64, Wrapper)>>,
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

    /// Whether `handler` is all that would run for `event` (no other handler, no
    /// wrapper): a caller may then do what that handler does without firing the event.
    pub fn only_handler_is(&self, event: &str, handler: &Handler) -> bool {
        !self.has_wrappers(event)
            && self
                .handlers
                .get(event)
                .is_some_and(|l| l.len() == 1 && Rc::ptr_eq(&l[0].handler, handler))
    }

    /// Adds a wrapper around `event` (`None`: around every event); the newest wrapper
    /// runs outermost. Returns the id for [`EventBus::remove_wrapper`].
    pub fn add_wrapper(&mut self, event: Option<&str>, wrapper: Wrapper) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let list = match event {
            Some(e) => self.wrappers.entry(e.to_owned()).or_default(),
            None => &mut self.all_wrappers,
        };
        let mut v = Vec::with_capacity(list.len() + 1);
        v.push((seq, wrapper));
        v.extend(list.iter().cloned());
        *list = Rc::new(v);
        seq
    }

    /// Removes the wrapper `add_wrapper` returned `id` for.
    pub fn remove_wrapper(&mut self, event: Option<&str>, id: u64) {
        let list = match event {
            Some(e) => match self.wrappers.get_mut(e) {
                Some(l) => l,
                None => return,
            },
            None => &mut self.all_wrappers,
        };
        let v: Vec<(u64, Wrapper)> = list.iter().filter(|w| w.0 != id).cloned().collect();
        *list = Rc::new(v);
        if let Some(e) = event {
            if self.wrappers.get(e).is_some_and(|l| l.is_empty()) {
                self.wrappers.remove(e);
            }
        }
    }

    /// Whether any wrapper would run for `event`.
    pub fn has_wrappers(&self, event: &str) -> bool {
        !self.all_wrappers.is_empty() || self.wrappers.contains_key(event)
    }

    fn snapshot(&self, event: &str) -> Option<Rc<Vec<Entry>>> {
        self.handlers.get(event).cloned()
    }

    /// The wrappers of `event`, outermost first, or None when there are none (the common
    /// case, tested without allocating).
    fn wrapper_chain(&self, event: &str) -> Option<Vec<Wrapper>> {
        if self.wrappers.is_empty() && self.all_wrappers.is_empty() {
            return None;
        }
        let per_event = self.wrappers.get(event);
        if per_event.is_none() && self.all_wrappers.is_empty() {
            return None;
        }
        let mut chain: Vec<Wrapper> = Vec::new();
        if let Some(l) = per_event {
            chain.extend(l.iter().map(|w| w.1.clone()));
        }
        chain.extend(self.all_wrappers.iter().map(|w| w.1.clone()));
        Some(chain)
    }
}

/// A handler registered by `Core::hook`, for `Core::unhook`: which bus and event it is on
/// and the bus's sequence number for it (`None`: it was never registered).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookId {
    pub(super) bus: Bus,
    pub(super) event: String,
    pub(super) seq: Option<u64>,
}

impl HookId {
    /// The event the handler was registered for.
    pub fn event(&self) -> &str {
        &self.event
    }
}

/// Which bus an event is fired on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bus {
    Global,
    Host(String),
}

fn bus_ref<'a>(core: &'a Core, bus: &Bus) -> Option<&'a EventBus> {
    match bus {
        Bus::Global => Some(&core.global_events),
        Bus::Host(h) => core.hosts.get(h).map(|h| &h.events),
    }
}

fn run_handlers(core: &mut Core, event: &mut Event, list: Option<&[Entry]>) -> HookResult {
    for entry in list? {
        if let Some(r) = (entry.handler)(core, event) {
            return Some(r);
        }
    }
    None
}

fn run_chain(
    core: &mut Core,
    event: &mut Event,
    name: &str,
    wrappers: &[Wrapper],
    list: Option<&[Entry]>,
) -> HookResult {
    match wrappers.split_first() {
        None => run_handlers(core, event, list),
        Some((w, rest)) => w(core, event, name, &mut |c: &mut Core, e: &mut Event| {
            run_chain(c, e, name, rest, list)
        }),
    }
}

thread_local! {
    /// Ids handed out to fires so far on this thread.
    static FIRES: Cell<u64> = const { Cell::new(0) };
    /// The innermost fire in progress on this thread (0: none).
    static CURRENT: Cell<u64> = const { Cell::new(0) };
}

/// The id of the innermost fire in progress on this thread: every fire gets a new one, so
/// a handler can tell a second call for the same event (the Lua dispatch shares one event
/// table between the Lua handlers of one fire, as Prosody does) from a new event that
/// happens to live at the same address.
pub fn current_fire() -> u64 {
    CURRENT.with(Cell::get)
}

/// Fires `name` on `bus`, returning the first handler's non-`None` result (or, when
/// wrappers are installed, the outermost wrapper's result).
pub fn fire(core: &mut Core, bus: &Bus, name: &str, event: &mut Event) -> HookResult {
    let id = FIRES.with(|f| {
        let id = f.get() + 1;
        f.set(id);
        id
    });
    let outer = CURRENT.with(|c| c.replace(id));
    let result = fire_inner(core, bus, name, event);
    CURRENT.with(|c| c.set(outer));
    result
}

/// Runs the handlers of `name` on `bus` whose priority is below `below`, without the
/// wrappers: how a handler that took an event to wait for something (mod_mam waiting for
/// its archive write) lets the rest of the chain go on once it is done.
pub fn fire_below(
    core: &mut Core,
    bus: &Bus,
    name: &str,
    below: f64,
    event: &mut Event,
) -> HookResult {
    let list = bus_ref(core, bus).and_then(|b| b.snapshot(name));
    let rest: Vec<Entry> = list
        .iter()
        .flat_map(|l| l.iter())
        .filter(|e| e.priority < below)
        .cloned()
        .collect();
    let result = run_handlers(core, event, Some(&rest));
    if core.lua.as_ref().is_some_and(|h| h.filters.has_pending()) {
        crate::lua::filters::flush(core);
    }
    result
}

fn fire_inner(core: &mut Core, bus: &Bus, name: &str, event: &mut Event) -> HookResult {
    let (list, chain) = match bus_ref(core, bus) {
        Some(b) => (b.snapshot(name), b.wrapper_chain(name)),
        None => (None, None),
    };
    let result = match chain {
        None => run_handlers(core, event, list.as_deref().map(Vec::as_slice)),
        Some(chain) => run_chain(
            core,
            event,
            name,
            &chain,
            list.as_deref().map(Vec::as_slice),
        ),
    };
    // Stanzas for sessions with Lua `stanzas/out` filters wait for a `&mut Core`.
    if core.lua.as_ref().is_some_and(|h| h.filters.has_pending()) {
        crate::lua::filters::flush(core);
    }
    result
}

#[cfg(test)]
mod only_handler_tests {
    use super::*;

    #[test]
    fn only_handler_is_true_for_the_sole_unwrapped_handler_alone() {
        let mine: Handler = Rc::new(|_, _| Some(true));
        let other: Handler = Rc::new(|_, _| None);
        let mut bus = EventBus::new();
        assert!(!bus.only_handler_is("message/full", &mine));
        bus.add_handler("message/full", -1.0, mine.clone());
        assert!(bus.only_handler_is("message/full", &mine));
        assert!(!bus.only_handler_is("message/full", &other));
        let id = bus.add_handler("message/full", 0.0, other.clone());
        assert!(
            !bus.only_handler_is("message/full", &mine),
            "a plugin hooked it"
        );
        bus.remove_handler("message/full", id);
        assert!(bus.only_handler_is("message/full", &mine));
        let w = bus.add_wrapper(None, Rc::new(|core, ev, _, next| next(core, ev)));
        assert!(
            !bus.only_handler_is("message/full", &mine),
            "a wrapper runs around it"
        );
        bus.remove_wrapper(None, w);
        assert!(bus.only_handler_is("message/full", &mine));
    }
}
