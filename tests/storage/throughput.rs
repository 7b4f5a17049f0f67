//! Store throughput per driver (roster set on a 1 000-item roster, offline-message store,
//! archive append), printed for docs/storage.md. Ignored by default (it measures, on a
//! shared machine); run with `cargo test --test storage throughput -- --ignored --nocapture`.

use std::time::Instant;

use lilt::storage::migrate::Location;
use lilt::storage::{LuaTable, LuaValue};

fn roster(n: usize, extra: usize) -> LuaValue {
    let mut t = LuaTable::new();
    for i in 0..n + extra {
        let mut item = LuaTable::new();
        item.set("subscription", "both");
        item.set("groups", LuaTable::new());
        t.set(format!("c{i}@example.test"), item);
    }
    LuaValue::Table(t)
}

fn message(i: usize) -> LuaValue {
    let mut body = LuaTable::new();
    body.set("name", "body");
    body.set("attr", LuaTable::new());
    body.push(format!("message number {i}"));
    let mut attr = LuaTable::new();
    attr.set("to", "bob@example.test");
    attr.set("type", "chat");
    let mut t = LuaTable::new();
    t.set("name", "message");
    t.set("attr", attr);
    t.push(body);
    lilt::storage::internal::archive_item(
        &format!("id{i}"),
        i as f64,
        "alice@example.test",
        &LuaValue::Table(t),
    )
}

fn measure(spec: &str) {
    let d = Location::parse(spec).and_then(|l| l.open()).expect("open");
    let rate = |n: usize, start: Instant| n as f64 / start.elapsed().as_secs_f64();
    let n = 50;
    let start = Instant::now();
    for i in 0..n {
        d.set(
            "example.test",
            Some("alice"),
            "roster",
            Some(&roster(1000, i)),
        )
        .expect("set");
    }
    let roster_sets = rate(n, start);
    let n = 300;
    let start = Instant::now();
    for i in 0..n {
        d.archive_append_item("example.test", Some("bob"), "offline", &message(i))
            .expect("append");
    }
    let offline = rate(n, start);
    let start = Instant::now();
    for i in 0..n {
        d.archive_append_item("example.test", Some("alice"), "archive", &message(i))
            .expect("append");
    }
    let archive = rate(n, start);
    assert_eq!(
        d.archive_count("example.test", Some("alice"), "archive")
            .expect("count"),
        n
    );
    let name = spec.split(':').next().unwrap_or(spec);
    eprintln!("{name}: roster set (1000 items) {roster_sets:.0}/s, offline store {offline:.0}/s, archive append {archive:.0}/s");
}

#[test]
#[ignore = "a measurement; run explicitly"]
fn throughput_per_driver() {
    let dir = tempfile::tempdir().expect("tempdir");
    measure(&format!("internal:{}", dir.path().join("data").display()));
    measure(&format!("sqlite:{}", dir.path().join("p.sqlite").display()));
    let url = crate::postgres::database_url("throughput").expect("database");
    measure(&url);
}
