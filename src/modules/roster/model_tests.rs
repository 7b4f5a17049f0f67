use super::*;
use crate::storage::serialization::{parse_lua_source, to_lua_source};

const FIXTURE: &str =
    include_str!("../../../tests/fixtures/prosody-data/example%2etest/roster/alice.dat");

#[test]
fn reads_prosodys_roster_file() {
    let value = parse_lua_source(FIXTURE).expect("fixture parses");
    let r = Roster::from_lua(&value, "alice@example.test");
    assert_eq!(r.version, Some(3));
    assert_eq!(
        r.pending.get("carol@example.test"),
        Some(&LuaValue::Bool(true))
    );
    let bob = &r.items["bob.x@example.test"];
    assert_eq!(bob.subscription, Subscription::Both);
    assert!(!bob.ask);
    assert_eq!(bob.name.as_deref(), Some("Bob \"the\" builder\n"));
    assert_eq!(
        bob.groups.iter().map(String::as_str).collect::<Vec<_>>(),
        ["Friends", "Work"]
    );
    let dave = &r.items["dave@example.test"];
    assert_eq!(dave.subscription, Subscription::None);
    assert!(dave.ask);
    assert!(dave.groups.is_empty());
}

#[test]
fn writing_keeps_prosodys_layout_and_round_trips() {
    let value = parse_lua_source(FIXTURE).expect("fixture parses");
    let r = Roster::from_lua(&value, "alice@example.test");
    let written = r.to_lua();
    // Same pairs as Prosody wrote (table equality ignores order).
    assert_eq!(written, value);
    let text = to_lua_source(&written);
    assert!(text.contains("[false] = {"), "{text}");
    assert!(text.contains("[\"ask\"] = \"subscribe\";"), "{text}");
    let back = Roster::from_lua(
        &parse_lua_source(&text).expect("ours parses"),
        "alice@example.test",
    );
    assert_eq!(back, r);
}

#[test]
fn self_contact_and_legacy_pending_are_normalised() {
    let src = "return { [\"me@h\"] = { subscription = \"both\"; groups = {} }; \
               pending = { [\"x@h\"] = true } };";
    let r = Roster::from_lua(&parse_lua_source(src).expect("parses"), "me@h");
    assert!(r.items.is_empty());
    assert!(r.pending.contains_key("x@h"));
    assert_eq!(r.client_version(), 1);
}

#[test]
fn unknown_item_fields_survive_a_rewrite() {
    let src = "return { [\"a@h\"] = { subscription = \"to\"; groups = {}; custom = 5; approved = \"true\" } };";
    let r = Roster::from_lua(&parse_lua_source(src).expect("parses"), "me@h");
    let item = &r.items["a@h"];
    assert!(item.approved);
    assert_eq!(item.extra.field("custom"), Some(&LuaValue::Int(5)));
    let t = item.to_lua();
    assert_eq!(t.field("custom"), Some(&LuaValue::Int(5)));
    assert_eq!(t.field("approved").and_then(LuaValue::as_str), Some("true"));
}
