//! XEP-0198 stream management (wave-2 reference §16) through raw clients over TCP and
//! WebSocket: the same script against Lilt and Debian's Prosody 0.12.3 with its stock
//! mod_smacks, resumption across framings, and what hibernation's expiry does with the
//! stanzas that were never acknowledged.

use crate::common;
use crate::support;

#[path = "smacks/client.rs"]
mod client;
#[path = "smacks/memory.rs"]
mod memory;
#[path = "smacks/real_client.rs"]
mod real_client;
#[path = "smacks/server.rs"]
mod server;
use crate::shape;

use std::time::Duration;

use client::{attr, Addrs, Client, Transport};
use server::Lilt;
use support::HOST;

fn chat(to: &str, body: &str) -> String {
    format!("<message to='{to}' type='chat' id='m-{body}'><body>{body}</body></message>")
}

/// Waits (real time) until the server has noticed a cut connection.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// The differential script; each step's answers in canonical form (tokens blanked).
async fn script(addrs: Addrs, t: Transport) -> Vec<(String, Vec<String>)> {
    let mut log: Vec<(String, Vec<String>)> = Vec::new();
    let mut token = String::new();
    let push =
        |log: &mut Vec<(String, Vec<String>)>, step: &str, frames: Vec<String>, token: &str| {
            let canon = frames
                .iter()
                .map(|f| {
                    let f = if token.is_empty() {
                        f.clone()
                    } else {
                        f.replace(token, "TOKEN")
                    };
                    shape::canonical(&f)
                })
                .collect();
            log.push((step.to_owned(), canon));
        };
    let alice = format!("alice@{HOST}/pc");

    let mut a = Client::connect(addrs, t).await;
    let features = a.auth("alice", "pw").await;
    let offered = format!(
        "sm2={} sm3={}",
        features.contains("urn:xmpp:sm:2"),
        features.contains("urn:xmpp:sm:3")
    );
    log.push(("features".into(), vec![offered]));
    a.send("<enable xmlns='urn:xmpp:sm:3'/>").await;
    let before_bind = vec![a.next().await.expect("answer")];
    push(&mut log, "enable before bind", before_bind, &token);
    a.bind("pc").await;
    let enabled = a
        .exchange("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")
        .await;
    token = enabled
        .first()
        .and_then(|e| attr(e, "id"))
        .expect("a token");
    // Counting starts at <enabled/>: only the sync's answer came since.
    a.received = 1;
    assert_eq!(token.len(), 12, "{enabled:?}");
    push(&mut log, "enable resume", enabled, &token);
    let again = a.exchange("<enable xmlns='urn:xmpp:sm:3'/>").await;
    push(&mut log, "enable twice", again, &token);
    let r = a.exchange("<r xmlns='urn:xmpp:sm:3'/>").await;
    push(&mut log, "r", r, &token);
    // (The answer differs by module set: Prosody's vcard_legacy adds its photo hash.)
    a.exchange("<presence xmlns='jabber:client'/>").await;

    let mut b = Client::login(addrs, t, "bob", "phone").await;
    b.stanza(&chat(&alice, "one")).await;
    b.stanza(&chat(&alice, "two")).await;
    b.sync().await;
    let got = a.sync().await;
    push(&mut log, "two messages", got, &token);
    // Acknowledge all but "two"'s sync and "two" itself: the server still holds them.
    let h = a.received - 2;
    let acked = a
        .exchange(&format!("<a xmlns='urn:xmpp:sm:3' h='{h}'/>"))
        .await;
    push(&mut log, "ack", acked, &token);
    let h = a.received - 3;
    a.cut();
    settle().await;
    b.stanza(&chat(&alice, "three")).await;
    b.sync().await;

    let mut a2 = Client::connect(addrs, t).await;
    a2.auth("alice", "pw").await;
    a2.send(&format!(
        "<resume xmlns='urn:xmpp:sm:3' previd='{token}' h='{h}'/>"
    ))
    .await;
    let resumed = a2.sync().await;
    push(&mut log, "resume", resumed, &token);
    let r = a2.exchange("<r xmlns='urn:xmpp:sm:3'/>").await;
    push(&mut log, "r after resume", r, &token);

    let mut a3 = Client::connect(addrs, t).await;
    a3.auth("alice", "pw").await;
    a3.send("<resume xmlns='urn:xmpp:sm:3' previd='nosuchtoken1' h='0'/>")
        .await;
    let unknown = vec![a3.next().await.expect("answer")];
    push(&mut log, "resume unknown", unknown, &token);

    let mut b2 = Client::connect(addrs, t).await;
    b2.auth("bob", "pw").await;
    b2.send(&format!(
        "<resume xmlns='urn:xmpp:sm:3' previd='{token}' h='0'/>"
    ))
    .await;
    let others = vec![b2.next().await.expect("answer")];
    push(&mut log, "resume another user's", others, &token);

    a2.send("<a xmlns='urn:xmpp:sm:3' h='999'/>").await;
    let mut end = Vec::new();
    while let Some(e) = a2.next().await {
        let last = e.contains("</stream:stream>") || e.contains("<close");
        end.push(e);
        if last {
            break;
        }
    }
    push(&mut log, "ack too high", end, &token);
    log
}

async fn differential(t: Transport) {
    if !common::prosody_ready() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let (p, paddrs) = server::prosody(tmp.path(), "");
    let theirs = script(paddrs, t).await;
    let s = Lilt::start("").await;
    let ours = script(s.addrs, t).await;
    if std::env::var("LILT_TEST_SHOW").is_ok() {
        eprintln!("lilt: {ours:#?}\nprosody: {theirs:#?}");
    }
    assert_eq!(ours.len(), theirs.len());
    for ((step, mine), (_, prosodys)) in ours.iter().zip(&theirs) {
        assert_eq!(
            mine,
            prosodys,
            "step {step}\n  lilt:    {mine:#?}\n  prosody: {prosodys:#?}\n{}",
            p.log()
                .lines()
                .rev()
                .take(30)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_management_script_answers_as_prosody_does_over_tcp() {
    differential(Transport::Tcp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_management_script_answers_as_prosody_does_over_websocket() {
    differential(Transport::Ws).await;
}

/// Enables resumable SM on a fresh login; returns the token.
async fn resumable(c: &mut Client) -> String {
    let enabled = c
        .exchange("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")
        .await;
    c.received = 1;
    enabled.first().and_then(|e| attr(e, "id")).expect("token")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_tcp_stream_resumes_on_a_websocket_with_jid_presence_and_unacked_stanzas() {
    let s = Lilt::start("").await;
    let alice = format!("alice@{HOST}/pc");
    let mut a = Client::login(s.addrs, Transport::Tcp, "alice", "pc").await;
    let token = resumable(&mut a).await;
    a.exchange("<presence xmlns='jabber:client'><status>here</status></presence>")
        .await;
    let h = a.received;
    a.cut();
    settle().await;
    let mut b = Client::login(s.addrs, Transport::Ws, "bob", "phone").await;
    b.stanza(&chat(&alice, "while-away")).await;
    b.sync().await;

    let mut a2 = Client::connect(s.addrs, Transport::Ws).await;
    a2.auth("alice", "pw").await;
    a2.send(&format!(
        "<resume xmlns='urn:xmpp:sm:3' previd='{token}' h='{h}'/>"
    ))
    .await;
    let got = a2.sync().await;
    assert!(
        got[0].contains("<resumed") && got[0].contains(&format!("previd='{token}'")),
        "{got:?}"
    );
    let msg = got
        .iter()
        .find(|f| f.contains("while-away"))
        .expect("replayed");
    assert!(msg.contains("urn:xmpp:delay"), "{msg}");
    assert_eq!(
        got.iter().filter(|f| f.contains("while-away")).count(),
        1,
        "{got:?}"
    );
    // The session is the same one: its JID routes, and it is still available.
    b.stanza(&chat(&alice, "after")).await;
    b.sync().await;
    let after = a2.sync().await;
    assert!(after.iter().any(|f| f.contains(">after<")), "{after:?}");
    b.stanza(&format!("<presence type='probe' to='alice@{HOST}'/>"))
        .await;
    let _ = b.sync().await;
    let r = a2.exchange("<r xmlns='urn:xmpp:sm:3'/>").await;
    assert!(r.iter().any(|f| f.contains("<a ")), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_session_is_taken_over_by_a_resuming_connection() {
    let s = Lilt::start("").await;
    let mut a = Client::login(s.addrs, Transport::Ws, "alice", "pc").await;
    let token = resumable(&mut a).await;
    let h = a.received;
    let mut a2 = Client::connect(s.addrs, Transport::Tcp).await;
    a2.auth("alice", "pw").await;
    a2.send(&format!(
        "<resume xmlns='urn:xmpp:sm:3' previd='{token}' h='{h}'/>"
    ))
    .await;
    let got = a2.sync().await;
    assert!(got.iter().any(|f| f.contains("<resumed")), "{got:?}");
    // The old connection is closed.
    let mut rest = Vec::new();
    while let Some(e) = tokio::time::timeout(Duration::from_secs(5), a.next())
        .await
        .expect("closes")
    {
        rest.push(e);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_expiry_unacked_messages_go_to_offline_storage_and_the_token_reports_h() {
    let s = Lilt::start("smacks_hibernation_time = 1").await;
    let alice = format!("alice@{HOST}/pc");
    let mut a = Client::login(s.addrs, Transport::Tcp, "alice", "pc").await;
    let token = resumable(&mut a).await;
    a.exchange("<presence xmlns='jabber:client'/>").await;
    let mut b = Client::login(s.addrs, Transport::Ws, "bob", "phone").await;
    b.stanza(&chat(&alice, "unacked")).await;
    b.sync().await;
    a.next_containing("unacked").await;
    a.cut();
    tokio::time::sleep(Duration::from_millis(1800)).await;
    // Nothing bounced to bob: the message went to alice's offline store.
    let bounced = b.sync().await;
    assert!(
        !bounced.iter().any(|f| f.contains("recipient-unavailable")),
        "{bounced:?}"
    );
    let mut late = Client::connect(s.addrs, Transport::Tcp).await;
    late.auth("alice", "pw").await;
    late.send(&format!(
        "<resume xmlns='urn:xmpp:sm:3' previd='{token}' h='0'/>"
    ))
    .await;
    let failed = late.next().await.expect("answer");
    assert!(
        failed.contains("<failed") && failed.contains("item-not-found"),
        "{failed}"
    );
    assert!(
        attr(&failed, "h").is_some(),
        "the expired token's h: {failed}"
    );
    late.bind("pc2").await;
    let got = late.exchange("<presence xmlns='jabber:client'/>").await;
    assert_eq!(
        got.iter().filter(|f| f.contains(">unacked<")).count(),
        1,
        "{got:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unacked_stanzas_of_a_closed_session_with_another_resource_online_bounce() {
    let s = Lilt::start("").await;
    let alice = format!("alice@{HOST}/pc");
    let mut a = Client::login(s.addrs, Transport::Tcp, "alice", "pc").await;
    a.exchange("<enable xmlns='urn:xmpp:sm:3'/>").await;
    a.exchange("<presence xmlns='jabber:client'/>").await;
    let mut other = Client::login(s.addrs, Transport::Tcp, "alice", "laptop").await;
    other.exchange("<presence xmlns='jabber:client'/>").await;
    let mut b = Client::login(s.addrs, Transport::Ws, "bob", "phone").await;
    b.stanza(&chat(&alice, "lost")).await;
    b.sync().await;
    a.next_containing(">lost<").await;
    a.send("</stream:stream>").await;
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while a.next().await.is_some() {}
    })
    .await;
    settle().await;
    let got = b.sync().await;
    assert!(
        got.iter()
            .any(|f| f.contains("type='error'") && f.contains("recipient-unavailable")),
        "{got:?}"
    );
}

const WATCH_PLUGIN: &str = r#"
local st = require "util.stanza";
local function tell(text)
    module:send(st.message({ to = "bob@example.test", from = module.host, type = "chat" }):tag("body"):text(text));
end
module:hook("smacks-hibernation-start", function(event)
    tell("start " .. tostring(event.origin.username) .. " " .. #event.queue);
end);
module:hook("smacks-hibernation-stanza-queued", function(event)
    tell("queued " .. event.stanza.name .. " " .. #event.queue);
end);
module:hook("smacks-hibernation-end", function(event)
    tell("end " .. tostring(event.resumed.username) .. " " .. #event.queue);
end);
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lua_sees_hibernation_start_queued_and_end_with_prosodys_fields() {
    let s = Lilt::start_with(
        "plugin_paths = { \"@DIR@/plugins\" }",
        ", \"smwatch\"",
        |dir| {
            std::fs::create_dir_all(dir.join("plugins")).expect("plugins dir");
            std::fs::write(dir.join("plugins/mod_smwatch.lua"), WATCH_PLUGIN).expect("plugin");
        },
    )
    .await;
    let alice = format!("alice@{HOST}/pc");
    let mut b = Client::login(s.addrs, Transport::Ws, "bob", "phone").await;
    // Available, so the plugin's messages to bob's bare JID are delivered.
    b.exchange("<presence xmlns='jabber:client'/>").await;
    let mut a = Client::login(s.addrs, Transport::Tcp, "alice", "pc").await;
    let token = resumable(&mut a).await;
    a.exchange("<presence xmlns='jabber:client'/>").await;
    let h = a.received;
    a.cut();
    // `queue`: what alice never acknowledged (the answers since <enabled/>).
    let start = b
        .next_containing("start alice ")
        .await
        .pop()
        .expect("start");
    let unacked: usize = client::between(&start, "start alice ", "<")
        .and_then(|n| n.parse().ok())
        .expect("a queue length");
    assert!(unacked >= 1, "{start}");
    b.stanza(&chat(&alice, "x")).await;
    b.next_containing(&format!("queued message {}", unacked + 1))
        .await;
    let mut a2 = Client::connect(s.addrs, Transport::Ws).await;
    a2.auth("alice", "pw").await;
    a2.send(&format!(
        "<resume xmlns='urn:xmpp:sm:3' previd='{token}' h='{h}'/>"
    ))
    .await;
    a2.next_containing("<resumed").await;
    // Acked up to h: only "x" was left to replay.
    b.next_containing("end alice 1").await;
}
