//! Data written by real Prosody 0.12.3 (tests/fixtures/prosody-data) is served as
//! Prosody would serve it, and what Lilt writes back keeps Prosody's layout.

use crate::im_support;
use crate::support;

use std::path::Path;

use im_support::{im_config_at, must_find, Client};
use lilt::storage::serialization::parse_lua_source;
use lilt::storage::{LuaKey, LuaValue};

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("readdir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[tokio::test]
async fn prosody_roster_and_offline_messages_are_served_and_rewritten_compatibly() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    copy_tree(Path::new("tests/fixtures/prosody-data"), &data);
    let server = support::Server::start(&im_config_at(&data)).await;
    let mut a = Client::login_with(&server, "alice", "secret", "pc").await;

    let got = a
        .exchange("<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>")
        .await;
    let roster = must_find(&got, &["id='r1'", "type='result'"]);
    assert!(roster.contains("ver='3'"), "{roster}");
    assert!(
        roster.contains("<item jid='bob.x@example.test' subscription='both' name='Bob &quot;the&quot; builder\n'><group>Friends</group><group>Work</group></item>"),
        "{roster}"
    );
    assert!(
        roster.contains("<item jid='dave@example.test' subscription='none' ask='subscribe'/>"),
        "{roster}"
    );
    assert!(
        !roster.contains("carol"),
        "pending requests are not roster items: {roster}"
    );
    let got = a
        .exchange("<iq type='get' id='r2'><query xmlns='jabber:iq:roster' ver='3'/></iq>")
        .await;
    assert!(!must_find(&got, &["id='r2'"]).contains("<query"));

    let got = a.exchange("<presence/>").await;
    must_find(
        &got,
        &["<presence", "type='subscribe'", "from='carol@example.test'"],
    );
    let first = got
        .iter()
        .position(|f| f.contains("id='m1'"))
        .expect("first offline message");
    let m1 = &got[first];
    assert!(
        m1.contains("<body>hi &lt;there&gt; &amp; ünïcode\t&apos;q&apos;</body>"),
        "{m1}"
    );
    assert!(
        m1.contains("from='bob.x@example.test/phone'") && m1.contains("type='chat'"),
        "{m1}"
    );
    assert!(
        m1.contains(
            "<delay xmlns='urn:xmpp:delay' from='example.test' stamp='2023-11-14T22:13:20Z'/>"
        ),
        "{m1}"
    );
    let second = got
        .iter()
        .position(|f| f.contains("<body>two</body>"))
        .expect("second offline message");
    assert!(second > first, "archive order kept");
    assert!(
        got[second].contains("stamp='2023-11-14T22:13:21Z'"),
        "{}",
        got[second]
    );
    assert!(
        !data.join("example%2etest/offline/alice.list").exists(),
        "archive cleared"
    );

    // A roster change rewrites the file in Prosody's layout, keeping everything else.
    let got = a
        .exchange("<iq type='set' id='s1'><query xmlns='jabber:iq:roster'><item jid='erin@example.test'><group>New</group></item></query></iq>")
        .await;
    must_find(&got, &["id='s1'", "type='result'"]);
    let text =
        std::fs::read_to_string(data.join("example%2etest/roster/alice.dat")).expect("roster file");
    assert!(text.starts_with("return {\n"), "{text}");
    assert!(text.contains("\t[false] = {\n"), "{text}");
    assert!(text.contains("\t\t[\"version\"] = 4;\n"), "{text}");
    assert!(text.contains("[\"carol@example.test\"] = true;"), "{text}");
    let v = parse_lua_source(&text).expect("our file parses with our reader");
    let t = v.as_table().expect("table");
    let meta = t
        .get(&LuaKey::Bool(false))
        .and_then(LuaValue::as_table)
        .expect("[false]");
    assert_eq!(meta.field("version").and_then(LuaValue::as_int), Some(4));
    let bob = t
        .field("bob.x@example.test")
        .and_then(LuaValue::as_table)
        .expect("bob kept");
    assert_eq!(
        bob.field("subscription").and_then(LuaValue::as_str),
        Some("both")
    );
    assert_eq!(
        bob.field("name").and_then(LuaValue::as_str),
        Some("Bob \"the\" builder\n")
    );
    let groups = bob
        .field("groups")
        .and_then(LuaValue::as_table)
        .expect("groups");
    assert_eq!(groups.field("Work"), Some(&LuaValue::Bool(true)));
    assert_eq!(groups.field("Friends"), Some(&LuaValue::Bool(true)));
    let erin = t
        .field("erin@example.test")
        .and_then(LuaValue::as_table)
        .expect("erin");
    assert_eq!(
        erin.field("subscription").and_then(LuaValue::as_str),
        Some("none")
    );
    assert!(erin.field("ask").is_none() && erin.field("name").is_none());
    let eg = erin
        .field("groups")
        .and_then(LuaValue::as_table)
        .expect("groups");
    assert_eq!(eg.field("New"), Some(&LuaValue::Bool(true)));
    // The same pairs Prosody had, plus erin and the new version.
    let original = parse_lua_source(
        &std::fs::read_to_string("tests/fixtures/prosody-data/example%2etest/roster/alice.dat")
            .expect("fixture"),
    )
    .expect("fixture parses");
    let mut expected = original.as_table().expect("table").clone();
    let mut m = expected
        .get(&LuaKey::Bool(false))
        .and_then(LuaValue::as_table)
        .expect("meta")
        .clone();
    m.set("version", 4i64);
    expected.set(false, m);
    expected.set("erin@example.test", erin.clone());
    assert_eq!(t, &expected);
}

#[tokio::test]
async fn offline_message_written_by_lilt_has_prosodys_archive_fields() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    copy_tree(Path::new("tests/fixtures/prosody-data"), &data);
    let server = support::Server::start(&im_config_at(&data)).await;
    let mut b = Client::login_with(&server, "bob.x", "pencil", "phone").await;
    std::fs::remove_file(data.join("example%2etest/offline/alice.list")).expect("clear fixture");
    b.exchange("<message to='alice@example.test' type='chat' id='n1'><body>later</body></message>")
        .await;
    let text =
        std::fs::read_to_string(data.join("example%2etest/offline/alice.list")).expect("list");
    let items = lilt::storage::serialization::parse_list_source(&text).expect("parses");
    assert_eq!(items.len(), 1);
    let item = items[0].as_table().expect("table");
    assert_eq!(
        item.field("name").and_then(LuaValue::as_str),
        Some("message")
    );
    assert_eq!(item.field("with").and_then(LuaValue::as_str), Some(""));
    assert_eq!(
        item.field("key").and_then(LuaValue::as_str).map(str::len),
        Some(24)
    );
    assert!(item.field("when").and_then(LuaValue::as_int).is_some());
    let attr = item
        .field("attr")
        .and_then(LuaValue::as_table)
        .expect("attr");
    assert_eq!(
        attr.field("from").and_then(LuaValue::as_str),
        Some("bob.x@example.test/phone")
    );
    assert_eq!(
        attr.field("to").and_then(LuaValue::as_str),
        Some("alice@example.test")
    );
    assert_eq!(attr.field("id").and_then(LuaValue::as_str), Some("n1"));
    assert!(attr
        .field("stamp")
        .and_then(LuaValue::as_str)
        .is_some_and(|s| s.ends_with('Z')));
    assert!(attr.field("xmlns").is_none(), "jabber:client is implied");
    let body = item
        .get(&LuaKey::Int(1))
        .and_then(LuaValue::as_table)
        .expect("body child");
    assert_eq!(body.field("name").and_then(LuaValue::as_str), Some("body"));
    assert_eq!(
        body.get(&LuaKey::Int(1)).and_then(LuaValue::as_str),
        Some("later")
    );
}
