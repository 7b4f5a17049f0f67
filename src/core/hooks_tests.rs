//! `Core::hook` hands back an id and `Core::unhook` removes exactly that handler.

use std::cell::Cell;
use std::rc::Rc;

use super::{Bus, Core, Event};

fn core() -> Core {
    let text = "VirtualHost \"example.test\"\ns2s_ports = {}\n";
    let path = std::path::Path::new("/nonexistent/prosody.cfg.lua");
    let config = crate::config::Config::load_str(path, text).expect("config parses");
    Core::new(crate::core::server::build(config).0)
}

fn counter(core: &mut Core, bus: &Bus, hits: &Rc<Cell<u32>>) -> super::HookId {
    let hits = hits.clone();
    core.hook(
        bus,
        "test-event",
        0.0,
        Rc::new(move |_, _| {
            hits.set(hits.get() + 1);
            None
        }),
    )
}

#[test]
fn unhook_removes_only_the_handler_whose_id_it_is_given() {
    let mut core = core();
    core.hosts.insert(
        "example.test".into(),
        super::Host {
            name: "example.test".into(),
            is_component: false,
            events: Default::default(),
            modules: Default::default(),
            features: Default::default(),
            identities: Vec::new(),
            extensions: Vec::new(),
        },
    );
    let bus = Bus::Host("example.test".into());
    let (a, b) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    let id_a = counter(&mut core, &bus, &a);
    let _id_b = counter(&mut core, &bus, &b);
    core.fire(&bus, "test-event", &mut Event::global());
    core.unhook(&id_a);
    core.fire(&bus, "test-event", &mut Event::global());
    assert_eq!((a.get(), b.get()), (1, 2));
    // A second unhook of the same id is harmless.
    core.unhook(&id_a);
    core.fire(&bus, "test-event", &mut Event::global());
    assert_eq!((a.get(), b.get()), (1, 3));
}

#[test]
fn unhook_on_the_global_bus_stops_the_handler() {
    let mut core = core();
    let hits = Rc::new(Cell::new(0));
    let id = counter(&mut core, &Bus::Global, &hits);
    core.fire(&Bus::Global, "test-event", &mut Event::global());
    core.unhook(&id);
    core.fire(&Bus::Global, "test-event", &mut Event::global());
    assert_eq!(hits.get(), 1);
    assert!(!core.global_events.has_handlers("test-event"));
}

#[test]
fn a_hook_on_a_host_not_served_is_dropped_and_its_unhook_is_a_no_op() {
    let mut core = core();
    let hits = Rc::new(Cell::new(0));
    let id = counter(&mut core, &Bus::Host("nowhere.test".into()), &hits);
    core.unhook(&id);
    assert_eq!(id.event(), "test-event");
    assert_eq!(hits.get(), 0);
}
