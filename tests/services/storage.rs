//! Services that keep data in Prosody's files, through a real WebSocket client: vcard-temp
//! in the `vcard` store, vcard_legacy's PEP nodes, private XML storage and last activity.

use crate::support;

use std::path::PathBuf;

use support::*;

fn config(modules: &str) -> String {
    format!(
        r#"
http_ports = {{ 0 }}
https_ports = {{ }}
data_path = "data"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
modules_enabled = {{ "websocket", "http", "disco", {modules} }}
VirtualHost "{HOST}"
"#
    )
}

fn host_dir(s: &Server) -> PathBuf {
    s.dir.path().join("data").join("example%2etest")
}

async fn user(s: &Server, name: &str) -> WsClient {
    s.add_user(name, "pw");
    let mut c = WsClient::connect(s.addr).await;
    c.login(name, "pw", "r").await;
    c
}

const VCARD: &str =
    "<vCard xmlns='vcard-temp'><FN>Alice Liddell</FN><NICKNAME>al</NICKNAME></vCard>";

#[tokio::test]
async fn vcard_set_then_get_for_self_and_others() {
    let s = Server::start(&config("\"vcard\"")).await;
    let mut alice = user(&s, "alice").await;
    let mut bob = user(&s, "bob").await;
    let r = ask(
        &mut bob,
        &format!("<iq type='get' id='g0' to='alice@{HOST}'><vCard xmlns='vcard-temp'/></iq>"),
        "g0",
    )
    .await;
    assert!(r.contains("item-not-found"), "nothing stored yet: {r}");
    let r = ask(
        &mut alice,
        &format!("<iq type='set' id='s1'>{VCARD}</iq>"),
        "s1",
    )
    .await;
    assert!(r.contains("type='result'"), "{r}");
    let file =
        std::fs::read_to_string(host_dir(&s).join("vcard/alice.dat")).expect("vcard/alice.dat");
    assert!(file.contains("[\"name\"] = \"vCard\""), "{file}");
    assert!(file.contains("\"Alice Liddell\""), "{file}");
    let r = ask(
        &mut alice,
        "<iq type='get' id='g1'><vCard xmlns='vcard-temp'/></iq>",
        "g1",
    )
    .await;
    assert!(
        r.contains("<FN>Alice Liddell</FN>") && r.contains("<NICKNAME>al</NICKNAME>"),
        "{r}"
    );
    let r = ask(
        &mut bob,
        &format!("<iq type='get' id='g2' to='alice@{HOST}'><vCard xmlns='vcard-temp'/></iq>"),
        "g2",
    )
    .await;
    assert!(r.contains("<FN>Alice Liddell</FN>"), "{r}");
    let r = ask(
        &mut bob,
        &format!("<iq type='set' id='s2' to='alice@{HOST}'>{VCARD}</iq>"),
        "s2",
    )
    .await;
    assert!(r.contains("forbidden"), "only the owner sets: {r}");
}

const PHOTO_VCARD: &str = "<vCard xmlns='vcard-temp'><FN>Alice Liddell</FN><PHOTO><TYPE>image/png</TYPE><BINVAL>aGVsbG8=</BINVAL></PHOTO></vCard>";
const HELLO_SHA1: &str = "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d";

#[tokio::test]
async fn vcard_legacy_keeps_the_vcard_in_prosodys_pep_files() {
    // Both enabled: vcard is dropped, as Prosody does.
    let s = Server::start(&config("\"vcard\", \"vcard_legacy\"")).await;
    let mut alice = user(&s, "alice").await;
    let r = ask(
        &mut alice,
        &format!("<iq type='set' id='s1'>{PHOTO_VCARD}</iq>"),
        "s1",
    )
    .await;
    assert!(r.contains("type='result'"), "{r}");
    let dir = host_dir(&s);
    assert!(
        !dir.join("vcard/alice.dat").exists(),
        "mod_vcard is not the one storing"
    );
    let nodes = std::fs::read_to_string(dir.join("pep/alice.dat")).expect("pep/alice.dat");
    for node in [
        "urn:xmpp:vcard4",
        "urn:xmpp:avatar:data",
        "urn:xmpp:avatar:metadata",
    ] {
        assert!(
            nodes.contains(&format!("[\"{node}\"] = {{")),
            "{node} in {nodes}"
        );
    }
    assert!(nodes.contains("[\"access_model\"] = \"open\""), "{nodes}");
    let v4 = std::fs::read_to_string(dir.join("pep_urn%3axmpp%3avcard4/alice.list"))
        .expect("vcard4 items");
    assert!(v4.starts_with("item({"), "{v4}");
    assert!(v4.contains("[\"key\"] = \"current\""), "{v4}");
    assert!(
        v4.contains("[\"xmlns\"] = \"urn:ietf:params:xml:ns:vcard-4.0\""),
        "{v4}"
    );
    assert!(v4.contains("\"Alice Liddell\""), "{v4}");
    let data = std::fs::read_to_string(dir.join("pep_urn%3axmpp%3aavatar%3adata/alice.list"))
        .expect("avatar data");
    assert!(
        data.contains(&format!("[\"key\"] = \"{HELLO_SHA1}\"")) && data.contains("aGVsbG8="),
        "{data}"
    );
    let meta = std::fs::read_to_string(dir.join("pep_urn%3axmpp%3aavatar%3ametadata/alice.list"))
        .expect("avatar meta");
    assert!(meta.contains("[\"bytes\"] = \"5\""), "{meta}");

    let mut bob = user(&s, "bob").await;
    let r = ask(
        &mut bob,
        &format!("<iq type='get' id='g1' to='alice@{HOST}'><vCard xmlns='vcard-temp'/></iq>"),
        "g1",
    )
    .await;
    assert!(r.contains("<FN>Alice Liddell</FN>"), "{r}");
    assert!(
        r.contains("<BINVAL>aGVsbG8=</BINVAL>") && r.contains("<TYPE>image/png</TYPE>"),
        "{r}"
    );

    // Setting it again keeps one item per node.
    let r = ask(
        &mut alice,
        &format!("<iq type='set' id='s2'>{PHOTO_VCARD}</iq>"),
        "s2",
    )
    .await;
    assert!(r.contains("type='result'"), "{r}");
    let v4 = std::fs::read_to_string(dir.join("pep_urn%3axmpp%3avcard4/alice.list"))
        .expect("vcard4 items");
    assert_eq!(v4.matches("item({").count(), 1, "{v4}");
}

#[tokio::test]
async fn vcard_legacy_moves_an_old_vcard_store_entry_to_pep_at_login() {
    let s = Server::start(&config("\"vcard_legacy\"")).await;
    let dir = host_dir(&s);
    std::fs::create_dir_all(dir.join("vcard")).expect("mkdir");
    std::fs::write(
        dir.join("vcard/alice.dat"),
        "return {\n\t[\"name\"] = \"vCard\";\n\t[\"attr\"] = {\n\t\t[\"xmlns\"] = \"vcard-temp\";\n\t};\n\t[1] = {\n\t\t[\"name\"] = \"FN\";\n\t\t[\"attr\"] = {\n\t\t\t[\"xmlns\"] = \"vcard-temp\";\n\t\t};\n\t\t[1] = \"Old Alice\";\n\t};\n};\n",
    )
    .expect("write old vcard");
    let mut alice = user(&s, "alice").await;
    let r = ask(
        &mut alice,
        "<iq type='get' id='g1'><vCard xmlns='vcard-temp'/></iq>",
        "g1",
    )
    .await;
    assert!(r.contains("<FN>Old Alice</FN>"), "{r}");
    assert!(!dir.join("vcard/alice.dat").exists(), "old store emptied");
    assert!(dir.join("pep_urn%3axmpp%3avcard4/alice.list").exists());
}

#[tokio::test]
async fn private_storage_round_trip_in_the_private_store() {
    let s = Server::start(&config("\"private\"")).await;
    let mut alice = user(&s, "alice").await;
    let r = ask(&mut alice, "<iq type='get' id='p0'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/></query></iq>", "p0").await;
    assert!(
        r.contains("type='result'") && r.contains("<storage xmlns='storage:bookmarks'/>"),
        "empty answer: {r}"
    );
    let set = "<iq type='set' id='p1'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'><conference jid='room@muc.example.test' autojoin='true'><nick>al</nick></conference></storage></query></iq>";
    let r = ask(&mut alice, set, "p1").await;
    assert!(r.contains("type='result'"), "{r}");
    let file =
        std::fs::read_to_string(host_dir(&s).join("private/alice.dat")).expect("private/alice.dat");
    assert!(
        file.contains("[\"storage:storage:bookmarks\"] = {"),
        "{file}"
    );
    let r = ask(&mut alice, "<iq type='get' id='p2'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/></query></iq>", "p2").await;
    assert!(
        r.contains(
            "<conference jid='room@muc.example.test' autojoin='true'><nick>al</nick></conference>"
        ),
        "{r}"
    );
    let r = ask(&mut alice, "<iq type='get' id='p3'><query xmlns='jabber:iq:private'><a xmlns='x:a'/><b xmlns='x:b'/></query></iq>", "p3").await;
    assert!(r.contains("bad-format"), "{r}");
}

#[tokio::test]
async fn last_activity_for_self_and_subscribed_contacts_only() {
    let s = Server::start(&config("\"lastactivity\"")).await;
    let mut alice = user(&s, "alice").await;
    let mut bob = user(&s, "bob").await;
    alice.send_text("<presence xmlns='jabber:client' type='unavailable'><status>gone fishing</status></presence>").await;
    let r = ask(
        &mut alice,
        "<iq type='get' id='l1'><query xmlns='jabber:iq:last'/></iq>",
        "l1",
    )
    .await;
    assert!(
        r.contains("type='result'") && r.contains(">gone fishing</query>"),
        "{r}"
    );
    let q =
        format!("<iq type='get' id='l2' to='alice@{HOST}'><query xmlns='jabber:iq:last'/></iq>");
    let r = ask(&mut bob, &q, "l2").await;
    assert!(r.contains("forbidden"), "bob has no subscription: {r}");
    let roster = "return {\n\t[\"bob@example.test\"] = {\n\t\t[\"subscription\"] = \"from\";\n\t\t[\"groups\"] = {};\n\t};\n};\n";
    std::fs::create_dir_all(host_dir(&s).join("roster")).expect("mkdir");
    std::fs::write(host_dir(&s).join("roster/alice.dat"), roster).expect("roster");
    let r = ask(&mut bob, &q.replace("l2", "l3"), "l3").await;
    assert!(
        r.contains("type='result'") && r.contains("gone fishing"),
        "{r}"
    );
}
