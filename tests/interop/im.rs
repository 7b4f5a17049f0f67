//! IM features with a real client library: `tests/interop/im-scenarios.mjs` (@xmpp/client 0.13
//! over WebSocket) drives roster pushes, the subscription handshake, offline delivery,
//! carbons, blocking, vCard and private storage against Lilt; the same scripts run against
//! Debian's Prosody as a control. `tests/interop/im_data.rs` covers the shared data dir.
//! Needs node + `tests/interop/node_modules` (and prosody for the control): `bash .ci/run`.

use crate::common;

use common::{interop_ready, node_script, prosody_ready, NodeRun, Prosody, ServerDir, PASSWORD};
use serde_json::{json, Value};

use crate::{im_config, DOMAIN};
const USERS: [&str; 3] = ["alice", "bob", "carol"];

/// Runs one scenario against `port` and asserts it completed.
#[track_caller]
fn scenario(port: u16, name: &str) -> NodeRun {
    let port = port.to_string();
    let run = node_script(
        "im-scenarios.mjs",
        &[
            "--port",
            &port,
            "--domain",
            DOMAIN,
            "--password",
            PASSWORD,
            "--scenario",
            name,
            "--timeout-ms",
            "10000",
        ],
    );
    run.assert_success();
    run
}

/// A Lilt server with alice, bob and carol, running the IM config.
fn lilt_scenario(name: &str) -> NodeRun {
    let dir = ServerDir::new(im_config());
    for user in USERS {
        dir.register(user, DOMAIN, PASSWORD);
    }
    let server = dir.start();
    let run = scenario(server.http_port(), name);
    drop(server);
    run
}

#[track_caller]
fn field<'a>(run: &'a NodeRun, step: &str, path: &[&str]) -> &'a Value {
    let mut v = run.step(step);
    for p in path {
        v = &v[*p];
    }
    v
}

#[track_caller]
fn assert_roster(run: &NodeRun) {
    let bob = format!("bob@{DOMAIN}");
    let add = field(run, "roster-add", &["push_two"]);
    assert_eq!(
        add,
        &json!({"jid": bob, "subscription": "none", "ask": null, "name": "Bob", "groups": ["Friends"]}),
        "{}",
        run.describe()
    );
    let update = field(run, "roster-update", &["push_two"]);
    assert_eq!(update["name"], "Bobby", "{}", run.describe());
    let mut groups: Vec<&str> = update["groups"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    groups.sort_unstable();
    assert_eq!(groups, ["Chess", "Work"], "{}", run.describe());
    let remove = field(run, "roster-remove", &["push_two"]);
    assert_eq!(remove["subscription"], "remove", "{}", run.describe());
    assert_eq!(
        field(run, "roster-after", &["roster", "items"]),
        &json!([]),
        "{}",
        run.describe()
    );
}

#[track_caller]
fn assert_subscription(run: &NodeRun) {
    for who in ["alice", "bob"] {
        let item = field(run, &format!("roster-final:{who}"), &["item"]);
        assert_eq!(item["subscription"], "both", "{}", run.describe());
        assert_eq!(item["ask"], Value::Null, "{}", run.describe());
    }
    assert_eq!(
        field(run, "presence-flows:alice->bob", &[]),
        &json!({"step": "presence-flows:alice->bob", "ok": true,
                "from": format!("alice@{DOMAIN}/pc"), "show": "away", "status": "lunch"}),
        "{}",
        run.describe()
    );
    assert_eq!(
        field(run, "presence-flows:bob->alice", &["from"]),
        &json!(format!("bob@{DOMAIN}/phone")),
        "{}",
        run.describe()
    );
    // A resource going unavailable is announced from the full JID or the bare one.
    let from = field(run, "unavailable:bob", &["from"])
        .as_str()
        .unwrap_or("");
    assert!(from.starts_with(&format!("bob@{DOMAIN}")), "{from}");
}

#[track_caller]
fn assert_offline(run: &NodeRun) {
    let step = run.step("bob-presence-gets-offline-message");
    assert_eq!(step["body"], "while you were away", "{}", run.describe());
    assert_eq!(
        step["from"],
        format!("alice@{DOMAIN}/pc"),
        "{}",
        run.describe()
    );
    assert_eq!(step["delay"]["from"], DOMAIN, "{}", run.describe());
    let stamp = step["delay"]["stamp"].as_str().unwrap_or("");
    assert!(
        stamp.len() >= 20 && stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
        "XEP-0082 UTC stamp: {stamp:?}"
    );
}

#[track_caller]
fn assert_carbons(run: &NodeRun) {
    let alice = format!("alice@{DOMAIN}");
    assert_eq!(
        run.step("received-carbon"),
        &json!({"step": "received-carbon", "ok": true, "from": alice,
                "inner_from": format!("bob@{DOMAIN}/phone"), "inner_to": format!("{alice}/one"),
                "body": "to one"}),
        "{}",
        run.describe()
    );
    assert_eq!(
        run.step("sent-carbon"),
        &json!({"step": "sent-carbon", "ok": true, "from": alice,
                "inner_from": format!("{alice}/one"), "inner_to": format!("bob@{DOMAIN}"),
                "body": "from one"}),
        "{}",
        run.describe()
    );
}

#[track_caller]
fn assert_blocking(run: &NodeRun) {
    let bob = format!("bob@{DOMAIN}");
    assert_eq!(
        field(run, "block-bob", &["blocklist"]),
        &json!([bob]),
        "{}",
        run.describe()
    );
    assert_eq!(field(run, "block-bob", &["push_item"]), &json!(bob));
    let bounce = run.step("outgoing-to-blocked-bounces");
    assert_eq!(bounce["condition"], "not-acceptable", "{}", run.describe());
    assert_eq!(bounce["blocked"], true, "{}", run.describe());
    assert_eq!(
        field(run, "message-after-unblock", &["blocked_delivered"]),
        &json!(false)
    );
}

#[track_caller]
fn assert_storage(run: &NodeRun) {
    assert_eq!(
        field(run, "vcard-get-own", &["vcard"]),
        &json!({"FN": "Alice Liddell", "NICKNAME": "ally", "URL": "https://example.org/<a>&b"}),
        "{}",
        run.describe()
    );
    assert_eq!(
        field(run, "vcard-get-by-bob", &["vcard"]),
        &json!({"FN": "Alice Liddell", "NICKNAME": "ally"}),
        "{}",
        run.describe()
    );
    let private = run.step("private-get");
    assert_eq!(private["theme"], "solarized", "{}", run.describe());
    assert_eq!(private["mode"], "dark", "{}", run.describe());
    assert_eq!(private["note"], "a < b & c", "{}", run.describe());
    assert_eq!(
        field(run, "private-other-namespace-empty", &["other_children"]),
        &json!(0)
    );
}

#[test]
fn roster_add_update_remove_are_pushed_to_a_second_resource() {
    if !interop_ready() {
        return;
    }
    assert_roster(&lilt_scenario("roster"));
}

#[test]
fn subscription_handshake_ends_in_both_and_presence_flows() {
    if !interop_ready() {
        return;
    }
    assert_subscription(&lilt_scenario("subscription"));
}

#[test]
fn message_to_offline_contact_is_delivered_with_delay_at_login() {
    if !interop_ready() {
        return;
    }
    assert_offline(&lilt_scenario("offline"));
}

#[test]
fn carbons_copy_received_and_sent_messages_to_a_second_resource() {
    if !interop_ready() {
        return;
    }
    assert_carbons(&lilt_scenario("carbons"));
}

#[test]
fn blocking_stops_messages_until_unblocked() {
    if !interop_ready() {
        return;
    }
    assert_blocking(&lilt_scenario("blocking"));
}

#[test]
fn vcard_and_private_storage_round_trip() {
    if !interop_ready() {
        return;
    }
    assert_storage(&lilt_scenario("storage"));
}

/// Control: every scenario and assertion against Debian's Prosody. When this fails, the
/// scripts or the environment are wrong, not Lilt.
#[test]
fn control_prosody_passes_the_same_im_scenarios() {
    if !(interop_ready() && prosody_ready()) {
        return;
    }
    let data = tempfile::tempdir().expect("temp dir");
    let mut prosody = Prosody::new(data.path(), DOMAIN);
    for user in USERS {
        prosody.register(user, DOMAIN, PASSWORD);
    }
    prosody.start();
    let port = prosody.http_port;
    assert_roster(&scenario(port, "roster"));
    assert_subscription(&scenario(port, "subscription"));
    assert_offline(&scenario(port, "offline"));
    assert_carbons(&scenario(port, "carbons"));
    assert_blocking(&scenario(port, "blocking"));
    assert_storage(&scenario(port, "storage"));
}
