//! Our `.dat`/`.list` reader and writer against files written by Prosody 0.12.3 itself
//! (tests/fixtures/prosody-data, see its README.md).

use std::fs;
use std::path::{Path, PathBuf};

use lilt::storage::serialization::{
    parse_list_source, parse_lua_source, to_list_item, to_lua_source,
};
use lilt::storage::{InternalStore, LuaKey, LuaValue};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/prosody-data")
}

fn fixture(rel: &str) -> String {
    fs::read_to_string(fixtures().join(rel)).unwrap()
}

/// Parsing keeps key order, so rewriting a Prosody file must give back the same bytes.
#[test]
fn prosody_dat_files_rewrite_byte_identically() {
    for rel in [
        "example%2etest/accounts/alice.dat",
        "example%2etest/accounts/bob%2ex.dat",
        "example%2etest/roster/alice.dat",
        "example%2etest/misc.dat",
        "_global/glob/x.dat",
    ] {
        let text = fixture(rel);
        let value = parse_lua_source(&text).unwrap();
        assert_eq!(to_lua_source(&value), text, "{rel}");
    }
}

#[test]
fn prosody_list_file_rewrites_byte_identically() {
    let text = fixture("example%2etest/offline/alice.list");
    let items = parse_list_source(&text).unwrap();
    assert_eq!(items.len(), 2);
    let rewritten: String = items.iter().map(to_list_item).collect();
    assert_eq!(rewritten, text);
}

#[test]
fn prosody_roster_reads_with_false_metadata_key() {
    let store = InternalStore::new(fixtures());
    let roster = store
        .get("example.test", Some("alice"), "roster")
        .unwrap()
        .unwrap();
    let roster = roster.as_table().unwrap();
    let meta = roster
        .get(&LuaKey::Bool(false))
        .unwrap()
        .as_table()
        .unwrap();
    assert_eq!(meta.field("version"), Some(&LuaValue::Int(3)));
    let bob = roster
        .field("bob.x@example.test")
        .unwrap()
        .as_table()
        .unwrap();
    assert_eq!(bob.field("subscription").unwrap().as_str(), Some("both"));
    assert_eq!(
        bob.field("name").unwrap().as_str(),
        Some("Bob \"the\" builder\n")
    );
    let groups = bob.field("groups").unwrap().as_table().unwrap();
    assert_eq!(groups.field("Friends"), Some(&LuaValue::Bool(true)));
}

#[test]
fn prosody_offline_list_reads_stanza_and_metadata() {
    let store = InternalStore::new(fixtures());
    let items = store
        .archive_list("example.test", Some("alice"), "offline")
        .unwrap();
    let first = items[0].as_table().unwrap();
    assert_eq!(first.field("when"), Some(&LuaValue::Num(1700000000.25)));
    assert_eq!(
        first.field("key").unwrap().as_str(),
        Some("abcdefghijklmnopqrstuvwx")
    );
    let body = first.get(&LuaKey::Int(1)).unwrap().as_table().unwrap();
    assert_eq!(
        body.get(&LuaKey::Int(1)).unwrap().as_str(),
        Some("hi <there> & ünïcode\t'q'")
    );
    let attr = first.field("attr").unwrap().as_table().unwrap();
    assert_eq!(
        attr.field("stamp").unwrap().as_str(),
        Some("2023-11-14T22:13:20Z")
    );
}

#[test]
fn prosody_misc_values_keep_their_types() {
    let v = parse_lua_source(&fixture("example%2etest/misc.dat")).unwrap();
    let t = v.as_table().unwrap();
    assert_eq!(t.field("n"), Some(&LuaValue::Num(-1.5)));
    assert_eq!(t.field("i"), Some(&LuaValue::Int(42)));
    assert_eq!(t.field("f"), Some(&LuaValue::Bool(false)));
    assert_eq!(t.get(&LuaKey::Int(1)).unwrap().as_str(), Some("one"));
    assert_eq!(t.get(&LuaKey::Num(2.5)).unwrap().as_str(), Some("x"));
    assert_eq!(t.field("s").unwrap().as_str(), Some("a\0b\u{7f}\u{1}€"));
}
