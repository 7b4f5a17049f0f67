//! The executor API as a handler sees it: results come back on the core thread, in
//! order per key, and batched appends are each acknowledged once durable.

use std::cell::RefCell;
use std::rc::Rc;

use tokio::sync::mpsc::UnboundedReceiver;

use super::{append, spawn, waiting};
use crate::core::session::CoreMsg;
use crate::core::Core;
use crate::storage::executor::key;
use crate::storage::{LuaTable, LuaValue};

fn core_in(dir: &std::path::Path) -> (Core, UnboundedReceiver<CoreMsg>) {
    let text = format!(
        "data_path = {:?}\nVirtualHost \"example.test\"\n",
        dir.display().to_string()
    );
    let path = dir.join("prosody.cfg.lua");
    let config = crate::config::Config::load_str(&path, &text).expect("config parses");
    let (shared, rx) = crate::core::server::build(config);
    (Core::new(shared), rx)
}

/// Runs the core's tasks until no continuation waits.
fn drain(core: &mut Core, rx: &mut UnboundedReceiver<CoreMsg>) {
    while waiting(core) > 0 {
        match rx.blocking_recv() {
            Some(CoreMsg::Task(task)) => (task.0)(core),
            Some(_) => {}
            None => panic!("core channel closed with continuations waiting"),
        }
    }
}

fn message(n: i64) -> LuaValue {
    let mut t = LuaTable::new();
    t.set("name", "message");
    t.set("n", LuaValue::Int(n));
    LuaValue::Table(t)
}

#[test]
fn a_continuation_gets_the_result_on_the_core_thread_in_key_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut core, mut rx) = core_in(dir.path());
    let core_thread = std::thread::current().id();
    let seen = Rc::new(RefCell::new(Vec::new()));
    for n in 0..20 {
        let seen = seen.clone();
        let k = key("example.test", Some("alice"), "private");
        spawn(
            &mut core,
            k,
            move |st| {
                let mut t = LuaTable::new();
                t.set("n", LuaValue::Int(n));
                st.set(
                    "example.test",
                    Some("alice"),
                    "private",
                    Some(&LuaValue::Table(t)),
                )
                .map(|()| (n, std::thread::current().id()))
            },
            move |_core: &mut Core, result| {
                let (n, worker) = result.expect("write succeeds");
                assert_ne!(worker, core_thread, "the write ran off the core thread");
                assert_eq!(std::thread::current().id(), core_thread);
                seen.borrow_mut().push(n);
            },
        );
    }
    drain(&mut core, &mut rx);
    assert_eq!(*seen.borrow(), (0..20).collect::<Vec<_>>());
    let stored = core
        .shared
        .store
        .get("example.test", Some("alice"), "private")
        .expect("readable")
        .expect("stored");
    assert_eq!(
        stored.as_table().and_then(|t| t.field("n")),
        Some(&LuaValue::Int(19))
    );
}

#[test]
fn batched_appends_are_each_acknowledged_and_all_stored_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut core, mut rx) = core_in(dir.path());
    let acked = Rc::new(RefCell::new(Vec::new()));
    for n in 0..200 {
        let acked = acked.clone();
        let item = crate::storage::internal::archive_item(
            &format!("k{n}"),
            1_000.0 + n as f64,
            "bob@example.test",
            &message(n),
        );
        append(
            &mut core,
            key("example.test", Some("alice"), "archive"),
            item,
            move |_core: &mut Core, result| {
                result.expect("append succeeds");
                acked.borrow_mut().push(n);
            },
        );
    }
    drain(&mut core, &mut rx);
    assert_eq!(*acked.borrow(), (0..200).collect::<Vec<_>>());
    let items = core
        .shared
        .store
        .archive_list("example.test", Some("alice"), "archive")
        .expect("readable");
    let keys: Vec<&str> = items
        .iter()
        .filter_map(|i| crate::storage::driver::item_str(i, "key"))
        .collect();
    let want: Vec<String> = (0..200).map(|n| format!("k{n}")).collect();
    assert_eq!(keys, want);
}
