//! The `lilt` process: SIGTERM and SIGINT close every session with `system-shutdown` and
//! the process exits 0 within `network_settings.shutdown_deadline`.

mod common;
mod support;

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
