//! Layout, atomicity and archive behaviour of the internal store.

use super::*;
use crate::storage::lua_value::LuaKey;
use std::os::unix::fs::PermissionsExt;

fn store() -> (tempfile::TempDir, InternalStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = InternalStore::new(dir.path().to_path_buf());
    (dir, store)
}

fn table(pairs: &[(&str, i64)]) -> LuaValue {
    let mut t = LuaTable::new();
    for (k, v) in pairs {
        t.set(*k, *v);
    }
    LuaValue::Table(t)
}

#[test]
fn path_parts_percent_encode_every_non_alphanumeric_byte() {
    assert_eq!(encode_path_part("example.com"), "example%2ecom");
    assert_eq!(encode_path_part("alice.x"), "alice%2ex");
    assert_eq!(encode_path_part("a_b-c/ü"), "a%5fb%2dc%2f%c3%bc");
    assert_eq!(encode_store_name("archive_prefs"), "archive_prefs");
    assert_eq!(encode_store_name("a.b"), "a%2eb");
}

#[test]
fn layout_matches_prosody() {
    let (dir, s) = store();
    let root = dir.path();
    assert_eq!(
        s.file_path("example.com", Some("alice.x"), "accounts", "dat")
            .unwrap(),
        root.join("example%2ecom/accounts/alice%2ex.dat")
    );
    assert_eq!(
        s.file_path("example.com", None, "misc", "dat").unwrap(),
        root.join("example%2ecom/misc.dat")
    );
    assert_eq!(
        s.file_path("", Some("x"), "glob", "dat").unwrap(),
        root.join("_global/glob/x.dat")
    );
    assert_eq!(
        s.file_path("h", Some("u"), "offline", "list").unwrap(),
        root.join("h/offline/u.list")
    );
    assert!(s.file_path("h", None, "", "dat").is_err());
}

#[test]
fn set_then_get_round_trips_and_creates_private_dirs() {
    let (dir, s) = store();
    assert_eq!(
        s.get("example.com", Some("alice"), "accounts").unwrap(),
        None
    );
    let v = table(&[("iteration_count", 10000)]);
    s.set("example.com", Some("alice"), "accounts", Some(&v))
        .unwrap();
    assert_eq!(
        s.get("example.com", Some("alice"), "accounts").unwrap(),
        Some(v)
    );
    let host_dir = dir.path().join("example%2ecom");
    let mode = fs::metadata(&host_dir).unwrap().permissions().mode();
    assert_eq!(mode & 0o007, 0, "no access for others: {mode:o}");
    let file = host_dir.join("accounts/alice.dat");
    let text = fs::read_to_string(&file).unwrap();
    assert_eq!(text, "return {\n\t[\"iteration_count\"] = 10000;\n};\n");
    let leftovers: Vec<_> = fs::read_dir(host_dir.join("accounts")).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "temporary file left behind");
}

#[test]
fn empty_table_or_none_deletes_the_file() {
    let (dir, s) = store();
    let file = dir.path().join("h/roster/u.dat");
    s.set("h", Some("u"), "roster", Some(&table(&[("a", 1)])))
        .unwrap();
    assert!(file.exists());
    s.set(
        "h",
        Some("u"),
        "roster",
        Some(&LuaValue::Table(LuaTable::new())),
    )
    .unwrap();
    assert!(!file.exists());
    s.set("h", Some("u"), "roster", Some(&table(&[("a", 1)])))
        .unwrap();
    s.set("h", Some("u"), "roster", None).unwrap();
    assert!(!file.exists());
    s.set("h", Some("u"), "roster", None).unwrap();
}

#[test]
fn bad_file_content_names_the_file_and_line() {
    let (dir, s) = store();
    let file = dir.path().join("h/accounts/u.dat");
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    fs::write(&file, "return {\n\t[\"a\"] = os.exit();\n};\n").unwrap();
    let err = s.get("h", Some("u"), "accounts").unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("accounts/u.dat:2:"), "{msg}");
    assert!(matches!(err, StorageError::BadData { line: 2, .. }));
}

#[test]
fn io_errors_are_reported_as_io() {
    let (dir, s) = store();
    // A regular file where the host directory should be.
    fs::write(dir.path().join("h"), "").unwrap();
    let err = s
        .set("h", Some("u"), "accounts", Some(&table(&[("a", 1)])))
        .unwrap_err();
    assert!(matches!(err, StorageError::Io { .. }), "{err:?}");
}

#[test]
fn archive_appends_lines_and_lists_them_in_order() {
    let (dir, s) = store();
    let mut msg = LuaTable::new();
    msg.set("name", "message");
    s.archive_append(
        "h",
        Some("u"),
        "offline",
        "k1",
        1700000000.0,
        "a@h",
        &msg.clone().into(),
    )
    .unwrap();
    s.archive_append(
        "h",
        Some("u"),
        "offline",
        "k2",
        1700000000.5,
        "b@h",
        &msg.into(),
    )
    .unwrap();
    let text = fs::read_to_string(dir.path().join("h/offline/u.list")).unwrap();
    assert_eq!(text.matches("item({").count(), 2);
    assert!(text.contains("\t[\"when\"] = 1700000000;\n"));
    let items = s.archive_list("h", Some("u"), "offline").unwrap();
    let keys: Vec<_> = items
        .iter()
        .map(|i| {
            i.as_table()
                .unwrap()
                .field("key")
                .unwrap()
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(keys, ["k1", "k2"]);
    let second = items[1].as_table().unwrap();
    assert_eq!(second.field("when"), Some(&LuaValue::Num(1700000000.5)));
    assert_eq!(second.field("with"), Some(&LuaValue::from("b@h")));
    assert_eq!(
        second.get(&LuaKey::from("name")),
        Some(&LuaValue::from("message"))
    );

    s.archive_replace("h", Some("u"), "offline", &items[1..])
        .unwrap();
    assert_eq!(s.archive_list("h", Some("u"), "offline").unwrap().len(), 1);
    s.archive_replace("h", Some("u"), "offline", &[]).unwrap();
    assert!(s
        .archive_list("h", Some("u"), "offline")
        .unwrap()
        .is_empty());
    assert!(!dir.path().join("h/offline/u.list").exists());
}
