//! The storage test suite every driver must pass (internal, memory, sqlite, postgresql):
//! keyval, map, archive queries by time, with, id and paging, create-if-absent, and
//! concurrent writers. Public so the integration tests can run it against drivers that
//! need a server (PostgreSQL); it panics on the first failure, like a test.

use std::sync::Arc;

use super::driver::{item_str, ArchiveQuery, Driver, StoreKind};
use super::lua_value::{LuaKey, LuaTable, LuaValue};

/// Runs every check against `driver` under `host` (use a fresh host per run: checks
/// assume its stores start empty).
pub fn run_all(driver: Arc<dyn Driver>, host: &str) {
    keyval(&*driver, host);
    map(&*driver, host);
    add_is_create_if_absent(&*driver, host);
    archive(&*driver, host);
    listing(&*driver, host);
    concurrent_writers(driver, host);
}

fn roster_like() -> LuaValue {
    let mut groups = LuaTable::new();
    groups.set("Friends", true);
    let mut item = LuaTable::new();
    item.set("subscription", "both");
    item.set("name", "Bob");
    item.set("groups", groups);
    let mut pending = LuaTable::new();
    pending.set("carol@example.test", true);
    let mut meta = LuaTable::new();
    meta.set("version", 7i64);
    meta.set("pending", pending);
    let mut t = LuaTable::new();
    t.set("bob@example.test", item);
    t.set(false, meta);
    LuaValue::Table(t)
}

fn keyval(d: &dyn Driver, host: &str) {
    assert_eq!(
        d.get(host, Some("alice"), "roster").expect("get"),
        None,
        "{}: empty store",
        d.name()
    );
    let roster = roster_like();
    d.set(host, Some("alice"), "roster", Some(&roster))
        .expect("set");
    assert_eq!(
        d.get(host, Some("alice"), "roster").expect("get"),
        Some(roster.clone()),
        "{}: round trip",
        d.name()
    );
    assert_eq!(
        d.get(host, Some("bob"), "roster").expect("get"),
        None,
        "{}: other user",
        d.name()
    );

    let mut account = LuaTable::new();
    account.set("iteration_count", 10000i64);
    account.set("salt", "s");
    account.set("ratio", 0.5f64);
    d.set(
        host,
        Some("alice"),
        "accounts",
        Some(&LuaValue::Table(account.clone())),
    )
    .expect("set");
    assert_eq!(
        d.get(host, Some("alice"), "accounts").expect("get"),
        Some(LuaValue::Table(account)),
        "{}: scalar types",
        d.name()
    );

    let mut host_level = LuaTable::new();
    host_level.set("motd", "hello");
    d.set(
        host,
        None,
        "settings",
        Some(&LuaValue::Table(host_level.clone())),
    )
    .expect("set");
    assert_eq!(
        d.get(host, None, "settings").expect("get"),
        Some(LuaValue::Table(host_level)),
        "{}: host-level",
        d.name()
    );

    d.set(
        host,
        Some("alice"),
        "roster",
        Some(&LuaValue::Table(LuaTable::new())),
    )
    .expect("set");
    assert_eq!(
        d.get(host, Some("alice"), "roster").expect("get"),
        None,
        "{}: empty table deletes",
        d.name()
    );
    d.set(host, Some("alice"), "roster", Some(&roster))
        .expect("set");
    d.set(host, Some("alice"), "roster", None).expect("delete");
    assert_eq!(
        d.get(host, Some("alice"), "roster").expect("get"),
        None,
        "{}: nil deletes",
        d.name()
    );
}

fn map(d: &dyn Driver, host: &str) {
    d.set(host, Some("mapper"), "roster", Some(&roster_like()))
        .expect("set");
    let bob = d
        .map_get(
            host,
            Some("mapper"),
            "roster",
            &LuaKey::from("bob@example.test"),
        )
        .expect("map_get");
    assert_eq!(
        bob.as_ref()
            .and_then(|b| b.as_table())
            .and_then(|t| t.field("name"))
            .and_then(LuaValue::as_str),
        Some("Bob"),
        "{}",
        d.name()
    );
    let meta = d
        .map_get(host, Some("mapper"), "roster", &LuaKey::Bool(false))
        .expect("map_get");
    assert_eq!(
        meta.as_ref()
            .and_then(|m| m.as_table())
            .and_then(|t| t.field("version"))
            .and_then(LuaValue::as_int),
        Some(7),
        "{}: false key",
        d.name()
    );
    let mut dave = LuaTable::new();
    dave.set("subscription", "none");
    d.map_set(
        host,
        Some("mapper"),
        "roster",
        LuaKey::from("dave@example.test"),
        Some(LuaValue::Table(dave)),
    )
    .expect("map_set");
    d.map_set(
        host,
        Some("mapper"),
        "roster",
        LuaKey::from("bob@example.test"),
        None,
    )
    .expect("map_set");
    let whole = d
        .get(host, Some("mapper"), "roster")
        .expect("get")
        .expect("some");
    let t = whole.as_table().expect("table");
    assert!(
        t.field("bob@example.test").is_none(),
        "{}: removed key",
        d.name()
    );
    assert!(
        t.field("dave@example.test").is_some(),
        "{}: added key",
        d.name()
    );
    assert!(
        t.get(&LuaKey::Bool(false)).is_some(),
        "{}: other keys kept",
        d.name()
    );
}

fn add_is_create_if_absent(d: &dyn Driver, host: &str) {
    let mut first = LuaTable::new();
    first.set("salt", "first");
    let mut second = LuaTable::new();
    second.set("salt", "second");
    assert!(
        d.add(host, "newbie", "accounts", &LuaValue::Table(first.clone()))
            .expect("add"),
        "{}",
        d.name()
    );
    assert!(
        !d.add(host, "newbie", "accounts", &LuaValue::Table(second))
            .expect("add"),
        "{}",
        d.name()
    );
    assert_eq!(
        d.get(host, Some("newbie"), "accounts").expect("get"),
        Some(LuaValue::Table(first)),
        "{}: first kept",
        d.name()
    );
}

fn message(n: i64, with: &str) -> LuaValue {
    let mut attr = LuaTable::new();
    attr.set("to", "alice@example.test");
    attr.set("type", "chat");
    let mut body = LuaTable::new();
    body.set("name", "body");
    body.set("attr", LuaTable::new());
    body.push(format!("message {n}"));
    let mut t = LuaTable::new();
    t.set("name", "message");
    t.set("attr", attr);
    t.push(body);
    super::internal::archive_item(
        &format!("id{n}"),
        1000.0 + n as f64,
        with,
        &LuaValue::Table(t),
    )
}

fn keys(items: &[LuaValue]) -> Vec<&str> {
    items.iter().filter_map(|i| item_str(i, "key")).collect()
}

fn archive(d: &dyn Driver, host: &str) {
    let (u, s) = (Some("alice"), "archive");
    for n in 1..=6 {
        let with = if n % 2 == 0 {
            "bob@example.test"
        } else {
            "carol@example.test"
        };
        d.archive_append_item(host, u, s, &message(n, with))
            .expect("append");
    }
    let name = d.name();
    let all = d.archive_list(host, u, s).expect("list");
    assert_eq!(
        keys(&all),
        ["id1", "id2", "id3", "id4", "id5", "id6"],
        "{name}: append order"
    );
    assert_eq!(
        all[0],
        message(1, "carol@example.test"),
        "{name}: item round trip"
    );
    assert_eq!(d.archive_count(host, u, s).expect("count"), 6, "{name}");
    let find = |q: ArchiveQuery| {
        keys(&d.archive_find(host, u, s, &q).expect("find"))
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        find(ArchiveQuery {
            start: Some(1002.0),
            end: Some(1004.0),
            ..Default::default()
        }),
        ["id2", "id3", "id4"],
        "{name}: time range"
    );
    assert_eq!(
        find(ArchiveQuery {
            with: Some("bob@example.test".into()),
            ..Default::default()
        }),
        ["id2", "id4", "id6"],
        "{name}: with"
    );
    assert_eq!(
        find(ArchiveQuery {
            key: Some("id5".into()),
            ..Default::default()
        }),
        ["id5"],
        "{name}: id"
    );
    assert_eq!(
        find(ArchiveQuery {
            after: Some("id2".into()),
            limit: Some(2),
            ..Default::default()
        }),
        ["id3", "id4"],
        "{name}: page after"
    );
    assert_eq!(
        find(ArchiveQuery {
            before: Some("id5".into()),
            limit: Some(2),
            reverse: true,
            ..Default::default()
        }),
        ["id4", "id3"],
        "{name}: page before, newest first"
    );
    assert_eq!(
        find(ArchiveQuery {
            limit: Some(2),
            reverse: true,
            ..Default::default()
        }),
        ["id6", "id5"],
        "{name}: last page"
    );
    assert!(
        find(ArchiveQuery {
            after: Some("nope".into()),
            ..Default::default()
        })
        .is_empty(),
        "{name}: unknown id"
    );
    d.archive_replace(host, u, s, &all[..2]).expect("replace");
    assert_eq!(
        keys(&d.archive_list(host, u, s).expect("list")),
        ["id1", "id2"],
        "{name}: replace"
    );
    d.archive_replace(host, u, s, &[]).expect("clear");
    assert!(
        d.archive_list(host, u, s).expect("list").is_empty(),
        "{name}: cleared"
    );
}

fn listing(d: &dyn Driver, host: &str) {
    d.set(host, Some("lister"), "vcard", Some(&roster_like()))
        .expect("set");
    d.archive_append_item(host, Some("lister"), "offline", &message(1, ""))
        .expect("append");
    let users = d.users(host, "vcard", StoreKind::Keyval).expect("users");
    assert!(
        users.contains(&Some("lister".into())),
        "{}: {users:?}",
        d.name()
    );
    let stores = d.stores(host).expect("stores");
    assert!(
        stores.contains(&("vcard".into(), StoreKind::Keyval)),
        "{}: {stores:?}",
        d.name()
    );
    assert!(
        stores.contains(&("offline".into(), StoreKind::Archive)),
        "{}: {stores:?}",
        d.name()
    );
}

fn concurrent_writers(d: Arc<dyn Driver>, host: &str) {
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let d = d.clone();
            let host = host.to_owned();
            std::thread::spawn(move || {
                let mut t = LuaTable::new();
                t.set("salt", format!("writer{i}"));
                let won = d
                    .add(&host, "racer", "accounts", &LuaValue::Table(t))
                    .expect("add");
                for n in 0..20 {
                    d.archive_append_item(
                        &host,
                        Some("racer"),
                        "offline",
                        &message(i * 100 + n, ""),
                    )
                    .expect("append");
                }
                won
            })
        })
        .collect();
    let winners = threads
        .into_iter()
        .filter(|_| true)
        .map(|t| t.join().expect("join"))
        .filter(|w| *w)
        .count();
    assert_eq!(winners, 1, "{}: exactly one create wins", d.name());
    assert_eq!(
        d.archive_count(host, Some("racer"), "offline")
            .expect("count"),
        160,
        "{}: no append lost",
        d.name()
    );
}
