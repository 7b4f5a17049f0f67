//! A data directory made by Debian's Prosody 0.12 (accounts, a roster with pending
//! subscriptions both ways, an offline message, a vCard, private XML) is served by Lilt, and
//! what Lilt writes there (a roster item, a new vCard and private XML, an offline message)
//! Prosody serves back. Both servers use the same data_path in turn — never at once — driven
//! by `tests/interop/im-data.mjs` (@xmpp/client 0.13 over WebSocket).
//! Needs prosody + node modules (`bash .ci/run`).

use crate::common;

use std::path::Path;

use common::{interop_ready, node_script, prosody_ready, NodeRun, Prosody, ServerDir, PASSWORD};
use serde_json::{json, Value};

use crate::{im_config, DOMAIN};

/// Runs phase `phase` of im-data.mjs against `port` and asserts it completed.
#[track_caller]
fn phase(port: u16, phase: &str, server: &str) -> NodeRun {
    let port = port.to_string();
    let run = node_script(
        "im-data.mjs",
        &[
            "--port",
            &port,
            "--domain",
            DOMAIN,
            "--password",
            PASSWORD,
            "--phase",
            phase,
            "--timeout-ms",
            "10000",
        ],
    );
    assert!(
        run.output.status.success() && run.failure().is_none(),
        "phase {phase} on {server}: {}\n\n{}",
        run.failure().unwrap_or_default(),
        run.describe()
    );
    run.assert_success();
    run
}

fn items_by_jid(run: &NodeRun) -> Vec<(String, Value)> {
    let mut items: Vec<(String, Value)> = run.step("alice-roster")["roster"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|i| (i["jid"].as_str().unwrap_or("").to_owned(), i))
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    items
}

/// The checks after Prosody seeded the dir (run on Lilt, or on Prosody for the control).
#[track_caller]
fn assert_seeded_served(run: &NodeRun) {
    assert_eq!(
        run.step("alice-presence-gets-pending-request")["from"],
        format!("carol@{DOMAIN}"),
        "{}",
        run.describe()
    );
    let m = run.step("alice-gets-offline-message");
    assert_eq!(m["body"], "stored by Prosody", "{}", run.describe());
    assert_eq!(
        m["from"],
        format!("bob@{DOMAIN}/phone"),
        "{}",
        run.describe()
    );
    assert_eq!(m["delay"]["from"], DOMAIN, "{}", run.describe());
    assert!(m["delay"]["stamp"]
        .as_str()
        .is_some_and(|s| s.ends_with('Z')));
    let items: Vec<Value> = items_by_jid(run).into_iter().map(|(_, i)| i).collect();
    assert_eq!(
        items,
        [
            json!({"jid": format!("bob@{DOMAIN}"), "subscription": "both", "ask": null,
                   "name": null, "groups": []}),
            json!({"jid": format!("erin@{DOMAIN}"), "subscription": "none", "ask": "subscribe",
                   "name": null, "groups": []}),
        ],
        "{}",
        run.describe()
    );
    assert_eq!(
        run.step("alice-vcard-get")["vcard"],
        json!({"FN": "Alice from Prosody", "NICKNAME": "ally"}),
        "{}",
        run.describe()
    );
    assert_eq!(
        run.step("alice-private-get")["theme"],
        "set on the first server",
        "{}",
        run.describe()
    );
}

/// The checks after the second server wrote (run on Prosody).
#[track_caller]
fn assert_written_served(run: &NodeRun) {
    assert_eq!(
        run.step("alice-presence-gets-pending-request")["from"],
        format!("carol@{DOMAIN}"),
        "{}",
        run.describe()
    );
    let items = items_by_jid(run);
    let jids: Vec<&str> = items.iter().map(|(j, _)| j.as_str()).collect();
    assert_eq!(
        jids,
        [
            format!("bob@{DOMAIN}"),
            format!("dave@{DOMAIN}"),
            format!("erin@{DOMAIN}")
        ],
        "{}",
        run.describe()
    );
    assert_eq!(
        items[1].1,
        json!({"jid": format!("dave@{DOMAIN}"), "subscription": "none", "ask": null,
               "name": "Dave", "groups": ["Pals"]}),
        "{}",
        run.describe()
    );
    assert_eq!(items[0].1["subscription"], "both", "{}", run.describe());
    assert_eq!(items[2].1["ask"], "subscribe", "{}", run.describe());
    assert_eq!(
        run.step("alice-vcard-get")["vcard"],
        json!({"FN": "Alice from Lilt", "NICKNAME": "al"}),
        "{}",
        run.describe()
    );
    assert_eq!(
        run.step("alice-private-get")["theme"],
        "set on the second server",
        "{}",
        run.describe()
    );
    let m = run.step("carol-gets-offline-message");
    assert_eq!(
        m["body"],
        "stored by the second server",
        "{}",
        run.describe()
    );
    assert_eq!(
        m["from"],
        format!("bob@{DOMAIN}/phone"),
        "{}",
        run.describe()
    );
    assert_eq!(m["delay"]["from"], DOMAIN, "{}", run.describe());
}

/// The `stamp` attribute of the single message in an offline archive file (`.list`): the
/// time of storing, which the `<delay/>` at delivery must carry, whichever server delivers.
#[track_caller]
fn stored_stamp(list: &Path) -> String {
    let text =
        std::fs::read_to_string(list).unwrap_or_else(|e| panic!("read {}: {e}", list.display()));
    assert_eq!(text.matches("item(").count(), 1, "one message in {text}");
    let key = "[\"stamp\"] = \"";
    let start = text
        .find(key)
        .unwrap_or_else(|| panic!("no stamp in {text}"))
        + key.len();
    let len = text[start..].find('"').expect("closing quote");
    text[start..start + len].to_owned()
}

/// The roster version in a roster file (`[false] = { ["version"] = N }`), as the `ver` string
/// a server that read the file must announce.
#[track_caller]
fn stored_roster_version(file: &Path) -> String {
    let text =
        std::fs::read_to_string(file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
    let key = "[\"version\"] = ";
    let start = text
        .find(key)
        .unwrap_or_else(|| panic!("no version in {text}"))
        + key.len();
    let len = text[start..].find(';').expect("end of number");
    text[start..start + len].to_owned()
}

/// Prosody on `data`: accounts and the seed phase, then stopped.
fn seed_with_prosody(data: &Path) {
    let mut prosody = Prosody::new(data, DOMAIN);
    for user in ["alice", "bob", "carol", "dave", "erin"] {
        prosody.register(user, DOMAIN, PASSWORD);
    }
    prosody.start();
    let run = phase(prosody.http_port, "seed", "prosody");
    assert_eq!(
        run.step("alice-vcard-set")["FN"],
        "Alice from Prosody",
        "{}",
        run.describe()
    );
    prosody.stop();
    let host = data.join("example%2etest");
    for file in [
        "roster/alice.dat",
        "offline/alice.list",
        "private/alice.dat",
        "accounts/carol.dat",
    ] {
        assert!(
            host.join(file).is_file(),
            "Prosody did not write {file}:\n{}",
            prosody.log()
        );
    }
}

#[test]
fn prosody_data_dir_is_served_by_lilt_and_lilt_writes_are_served_by_prosody() {
    if !(interop_ready() && prosody_ready()) {
        return;
    }
    let dir = ServerDir::new(im_config());
    let data = dir.data_path();
    seed_with_prosody(&data);

    // Lilt on Prosody's data: read it, then write to it.
    let mut lilt = dir.start();
    let prosody_stamp = stored_stamp(&data.join("example%2etest/offline/alice.list"));
    let prosody_version = stored_roster_version(&data.join("example%2etest/roster/alice.dat"));
    let seeded = phase(lilt.http_port(), "check-seeded", "lilt");
    assert_eq!(
        seeded.step("alice-roster")["roster"]["ver"],
        prosody_version.as_str(),
        "Lilt announces the roster version Prosody stored"
    );
    assert_seeded_served(&seeded);
    assert_eq!(
        seeded.step("alice-gets-offline-message")["delay"]["stamp"],
        prosody_stamp.as_str(),
        "Lilt delays the message to when Prosody stored it"
    );
    phase(lilt.http_port(), "write", "lilt");
    lilt.stop();
    let offline = data.join("example%2etest/offline/carol.list");
    assert!(
        offline.is_file(),
        "Lilt did not store carol's offline message in Prosody's layout\n{}",
        lilt.log()
    );
    let lilt_stamp = stored_stamp(&offline);
    assert!(
        !data.join("example%2etest/offline/alice.list").exists(),
        "delivered offline messages are removed"
    );

    // Prosody on what Lilt wrote.
    let mut prosody = Prosody::new(&data, DOMAIN);
    prosody.start();
    let lilt_version = stored_roster_version(&data.join("example%2etest/roster/alice.dat"));
    let as_number = |v: &str| {
        v.parse::<i64>()
            .unwrap_or_else(|e| panic!("version {v:?}: {e}"))
    };
    assert!(
        as_number(&lilt_version) > as_number(&prosody_version),
        "adding dave bumps the stored version: {prosody_version} -> {lilt_version}"
    );
    let written = phase(prosody.http_port, "check-written", "prosody");
    assert_eq!(
        written.step("alice-roster")["roster"]["ver"],
        lilt_version.as_str(),
        "Prosody announces the roster version Lilt stored"
    );
    prosody.stop();
    assert_written_served(&written);
    assert_eq!(
        written.step("carol-gets-offline-message")["delay"]["stamp"],
        lilt_stamp.as_str(),
        "Prosody delays the message to when Lilt stored it"
    );
}

/// Control: the same hand-over with Prosody on both sides. When this fails, the scripts or
/// the environment are wrong, not Lilt.
#[test]
fn control_prosody_serves_its_own_data_dir_across_restarts() {
    if !(interop_ready() && prosody_ready()) {
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path().join("data");
    seed_with_prosody(&data);
    let mut second = Prosody::new(&data, DOMAIN);
    second.start();
    assert_seeded_served(&phase(second.http_port, "check-seeded", "prosody"));
    phase(second.http_port, "write", "prosody");
    second.stop();
    let mut third = Prosody::new(&data, DOMAIN);
    third.start();
    let written = phase(third.http_port, "check-written", "prosody");
    third.stop();
    assert_written_served(&written);
}
