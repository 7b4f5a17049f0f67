//! mod_limits over TCP: `limits.c2s` throttles reads by back-pressure, and failed logins
//! are refused with `policy-violation` after `limit_auth_max` attempts.

use crate::tcp_support;

use std::time::{Duration, Instant};

use tcp_support::*;

const OPEN: &str = "c2s_require_encryption = false\nallow_unencrypted_plain_auth = true";

fn pings(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!("<iq type='get' id='p{i:05}' to='{HOST}'><ping xmlns='urn:xmpp:ping'/></iq>")
        })
        .collect()
}

async fn time_to_answer_30kb(extra: &str) -> Duration {
    let server = TcpServer::start(&format!("{OPEN}\n{extra}")).await;
    server.add_user("alice", "secret");
    let mut c = XmppClient::plain(server.c2s).await;
    c.open(HOST).await;
    assert!(c.auth_plain("alice", "secret").await.contains("<success"));
    c.bind("flood").await;
    let batch = pings(400);
    assert!(batch.len() > 30_000, "{}", batch.len());
    let started = Instant::now();
    c.send(&batch).await;
    c.read_until("id='p00399'").await;
    started.elapsed()
}

#[tokio::test]
async fn c2s_rate_holds_a_flooding_tcp_client_back() {
    let limited = time_to_answer_30kb(
        "modules_enabled = { \"ping\", \"limits\" }\nlimits = { c2s = { rate = \"10kb/s\", burst = \"10kb\" } }",
    )
    .await;
    // About 31 kB at 10 kB/s after a 10 kB burst (login bytes count too): about 2 s.
    assert!(
        limited >= Duration::from_millis(1600) && limited <= Duration::from_secs(4),
        "{limited:?}"
    );
    let free = time_to_answer_30kb("modules_enabled = { \"ping\" }").await;
    assert!(free < Duration::from_millis(1500), "{free:?}");
}

#[tokio::test]
async fn failed_logins_over_tcp_are_refused_after_the_limit() {
    let server = TcpServer::start(&format!("{OPEN}\nlimit_auth_max = 2")).await;
    server.add_user("alice", "secret");
    for _ in 0..2 {
        let mut c = XmppClient::plain(server.c2s).await;
        c.open(HOST).await;
        assert!(c
            .auth_plain("alice", "wrong")
            .await
            .contains("<not-authorized"));
    }
    let mut c = XmppClient::plain(server.c2s).await;
    c.open(HOST).await;
    use base64::Engine;
    let payload = base64::engine::general_purpose::STANDARD.encode("\0alice\0secret");
    c.send(&format!(
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{payload}</auth>"
    ))
    .await;
    let (all, closed) = c.read_to_close(Duration::from_secs(5)).await;
    assert!(all.contains("<policy-violation"), "{all}");
    assert!(closed);
}
