//! The `login-and-chat.mjs` scenario from Rust: run it against a port and check every step's
//! JSON result, so the Lilt tests and the Prosody control runs assert the same things.

use serde_json::Value;

use super::node::{node_script, NodeRun};

/// Password the interop tests give alice and bob.
pub const PASSWORD: &str = "secret";

/// Runs `login-and-chat.mjs` against ws://127.0.0.1:`port`/xmpp-websocket for `domain`,
/// forcing SASL `mechanism`, with alice/bob and `PASSWORD` unless `creds` overrides alice's.
#[track_caller]
pub fn run_login_and_chat(port: u16, domain: &str, mechanism: &str, extra: &[&str]) -> NodeRun {
    let port = port.to_string();
    let mut args = vec![
        "--port",
        &port,
        "--domain",
        domain,
        "--mechanism",
        mechanism,
        "--timeout-ms",
        "10000",
    ];
    args.extend_from_slice(extra);
    node_script("login-and-chat.mjs", &args)
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Asserts a complete, successful run: both logins used `mechanism`, the server offered
/// PLAIN and SCRAM-SHA-1, bound JIDs are `user@domain/<non-empty>`, both messages arrived
/// with exact bodies and the sender's full JID, ping answered `result`, disco#info has
/// identity server/im and the ping and disco features, and both streams closed cleanly.
#[track_caller]
pub fn assert_login_and_chat(run: &NodeRun, domain: &str, mechanism: &str) {
    run.assert_success();
    let ctx = || run.describe();
    let mut full = std::collections::HashMap::new();
    for who in ["alice", "bob"] {
        let step = run.step(&format!("login:{who}"));
        assert_eq!(step["mechanism"], mechanism, "{who} mechanism\n{}", ctx());
        let offered = strings(&step["offered"]);
        for m in ["PLAIN", "SCRAM-SHA-1"] {
            assert!(
                offered.contains(&m),
                "{m} not offered: {offered:?}\n{}",
                ctx()
            );
        }
        let jid = run.str_of(&format!("login:{who}"), "jid");
        let prefix = format!("{who}@{domain}/");
        assert!(
            jid.starts_with(&prefix) && jid.len() > prefix.len(),
            "{who} bound JID {jid:?} is not {prefix}<resource>\n{}",
            ctx()
        );
        assert_eq!(step["stream_from"], domain, "stream header from\n{}", ctx());
        full.insert(who, jid);
    }
    let expect_msg = [
        (
            "message:alice->bob",
            "alice",
            "Hello Bob, from Alice \u{2603} <&>",
        ),
        (
            "message:bob->alice",
            "bob",
            "Hi Alice! \u{e9}\u{e8} 'quoted' \"double\"",
        ),
    ];
    for (name, sender, body) in expect_msg {
        let step = run.step(name);
        assert_eq!(step["body"], body, "{name} body\n{}", ctx());
        assert_eq!(
            step["from"],
            full[sender].as_str(),
            "{name} from\n{}",
            ctx()
        );
    }
    assert_eq!(run.step("ping")["type"], "result", "ping\n{}", ctx());
    let disco = run.step("disco-info");
    let identities = disco["identities"].as_array().cloned().unwrap_or_default();
    assert!(
        identities
            .iter()
            .any(|i| i["category"] == "server" && i["type"] == "im"),
        "no server/im identity in {identities:?}\n{}",
        ctx()
    );
    let features = strings(&disco["features"]);
    for f in ["urn:xmpp:ping", "http://jabber.org/protocol/disco#info"] {
        assert!(
            features.contains(&f),
            "feature {f} missing: {features:?}\n{}",
            ctx()
        );
    }
    for who in ["alice", "bob"] {
        let close = run.str_of(&format!("disconnect:{who}"), "server_close");
        assert!(
            close.starts_with("<close") && close.contains("urn:ietf:params:xml:ns:xmpp-framing"),
            "{who}: server did not answer <close/>: {close}\n{}",
            ctx()
        );
    }
}

/// Asserts that the run stopped at alice's login with a SASL `not-authorized` failure.
#[track_caller]
pub fn assert_login_refused(run: &NodeRun) {
    assert!(
        !run.output.status.success(),
        "login with a wrong password succeeded\n{}",
        run.describe()
    );
    let step = run.step("login:alice");
    assert_eq!(step["ok"], false, "{}", run.describe());
    let error = step["error"].as_str().unwrap_or("");
    assert!(
        error.contains("not-authorized"),
        "expected SASL not-authorized, got {error:?}\n{}",
        run.describe()
    );
}
