//! The `lilt` process: SIGTERM and SIGINT close every session with `system-shutdown` and
//! the process exits 0 within `network_settings.shutdown_deadline`.

use crate::common;
use crate::support;

use std::time::Duration;

use common::{minimal_config, ServerDir};
use support::WsClient;

async fn signal_closes_sessions_with_system_shutdown(signal: i32) {
    let dir = ServerDir::new(minimal_config("example.test"));
    dir.register("alice", "example.test", "secret");
    let mut server = dir.start();
    let addr = format!("127.0.0.1:{}", server.http_port())
        .parse()
        .expect("addr");
    let mut c = WsClient::connect(addr).await;
    let jid = c.login("alice", "secret", "term").await;
    assert_eq!(jid, "alice@example.test/term");
    let status = tokio::task::spawn_blocking(move || {
        let s = server.signal_and_wait(signal, Duration::from_secs(10));
        (s, server.log())
    });
    let (texts, close) = c.until_close().await;
    let t = texts.join("");
    assert!(
        t.contains("<system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"),
        "{t}"
    );
    assert_eq!(close.map(|c| c.0), Some(Some(1000)));
    let (status, log) = status.await.expect("join");
    let status = status.unwrap_or_else(|| panic!("lilt did not exit; log:\n{log}"));
    assert_eq!(status.code(), Some(0), "log:\n{log}");
}

#[tokio::test]
async fn sigterm_closes_sessions_and_exits_0() {
    signal_closes_sessions_with_system_shutdown(libc::SIGTERM).await;
}

#[tokio::test]
async fn sigint_closes_sessions_and_exits_0() {
    signal_closes_sessions_with_system_shutdown(libc::SIGINT).await;
}

/// Reads text frames until one contains `needle`.
async fn until_text(c: &mut WsClient, needle: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let t = tokio::time::timeout_at(deadline, c.next_text())
            .await
            .unwrap_or_else(|_| panic!("no frame containing {needle:?}"));
        if t.contains(needle) {
            return t;
        }
    }
}

/// `me` subscribes to `other`'s presence and `other` approves.
async fn subscribe(me: &mut WsClient, me_name: &str, other: &mut WsClient, other_name: &str) {
    me.send_text(&format!(
        "<presence xmlns='jabber:client' to='{other_name}@example.test' type='subscribe'/>"
    ))
    .await;
    until_text(other, "type='subscribe'").await;
    other
        .send_text(&format!(
            "<presence xmlns='jabber:client' to='{me_name}@example.test' type='subscribed'/>"
        ))
        .await;
    until_text(me, "type='subscribed'").await;
}

#[tokio::test]
async fn sigterm_sends_contacts_unavailable_then_system_shutdown_with_the_reason() {
    let dir = ServerDir::new(minimal_config("example.test"));
    dir.register("alice", "example.test", "secret");
    dir.register("bob", "example.test", "secret");
    let mut server = dir.start();
    let addr = format!("127.0.0.1:{}", server.http_port())
        .parse()
        .expect("addr");
    let mut alice = WsClient::connect(addr).await;
    alice.login("alice", "secret", "a").await;
    let mut bob = WsClient::connect(addr).await;
    bob.login("bob", "secret", "b").await;
    // Both interested (roster fetched) and available, then a mutual subscription.
    for c in [&mut alice, &mut bob] {
        c.send_text(
            "<iq xmlns='jabber:client' type='get' id='r'><query xmlns='jabber:iq:roster'/></iq>",
        )
        .await;
        until_text(c, "id='r'").await;
        c.send_text("<presence xmlns='jabber:client'/>").await;
    }
    subscribe(&mut alice, "alice", &mut bob, "bob").await;
    subscribe(&mut bob, "bob", &mut alice, "alice").await;

    let status = tokio::task::spawn_blocking(move || {
        let s = server.signal_and_wait(libc::SIGTERM, Duration::from_secs(10));
        (s, server.log())
    });
    let (a, _) = alice.until_close().await;
    let (b, _) = bob.until_close().await;
    let shutdown = "<system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>\
                    <text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Received SIGTERM</text>";
    for t in [&a, &b] {
        let t = t.join("");
        assert!(t.contains(shutdown), "system-shutdown with the reason: {t}");
    }
    // Whichever session was closed first, the other one heard it go, before its own end.
    let unavailable = "<status>Disconnected: Received SIGTERM</status>";
    let heard = [&a, &b].into_iter().any(|texts| {
        let t = texts.join("");
        let p = t.find(unavailable);
        p.is_some() && p < t.find(shutdown)
    });
    assert!(
        heard,
        "a contact got the unavailable presence first: {a:?} {b:?}"
    );
    let (status, log) = status.await.expect("join");
    assert!(status.is_some(), "lilt did not exit; log:\n{log}");
}
