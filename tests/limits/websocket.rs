//! mod_limits on real sockets: a flooding WebSocket client is held to its rate after the
//! burst while others stay responsive, `unlimited_jids` lifts the limit, the `c2s` entry
//! governs WebSocket when there is no `websocket` entry, oversized stanzas get
//! `policy-violation` however they arrive, and failed logins are throttled per address.

use crate::support;

use std::time::{Duration, Instant};

use base64::Engine;
use support::*;

/// One masked frame of exactly this many bytes on the wire (6 header + 120 payload).
const WIRE: usize = 126;

fn ping(n: usize) -> String {
    let base = format!("<iq xmlns='jabber:client' type='get' id='f{n:08}' to='{HOST}'><ping xmlns='urn:xmpp:ping'/></iq>");
    let pad = 120 - base.len();
    // Pad inside the id so the stanza stays valid and every frame has the same size.
    base.replace(
        &format!("id='f{n:08}'"),
        &format!("id='f{n:08}{}'", "x".repeat(pad)),
    )
}

fn config(limits: &str, extra: &str) -> String {
    base_config(&format!("{limits}\n{extra}"))
        .replace("\"ping\", \"disco\" }", "\"ping\", \"disco\", \"limits\" }")
}

/// Floods `c` with pings for `secs` and returns the arrival times of the replies.
async fn flood(c: WsClient, secs: u64) -> Vec<Instant> {
    let (mut rd, mut wr) = tokio::io::split(c.stream);
    let writer = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let key = [1u8, 2, 3, 4];
        for n in 0.. {
            let payload = ping(n);
            let mut f = vec![0x81, 0x80 | payload.len() as u8];
            f.extend_from_slice(&key);
            f.extend(payload.bytes().enumerate().map(|(i, b)| b ^ key[i % 4]));
            assert_eq!(f.len(), WIRE);
            if wr.write_all(&f).await.is_err() {
                break;
            }
        }
    });
    let mut arrivals = Vec::new();
    let end = Instant::now() + Duration::from_secs(secs);
    let mut buf = vec![0u8; 65536];
    let mut pending = Vec::new();
    use tokio::io::AsyncReadExt;
    while Instant::now() < end {
        let left = end.saturating_duration_since(Instant::now());
        let Ok(Ok(n)) = tokio::time::timeout(left, rd.read(&mut buf)).await else {
            break;
        };
        if n == 0 {
            break;
        }
        pending.extend_from_slice(&buf[..n]);
        while let Some((frame, used)) = parse_frame(&pending) {
            pending.drain(..used);
            if let WsFrame::Text(t) = frame {
                if t.contains("type='result'") {
                    arrivals.push(Instant::now());
                }
            }
        }
    }
    writer.abort();
    arrivals
}

/// Bytes per second processed between `from` and `to` seconds after the first reply.
fn rate(arrivals: &[Instant], from: f64, to: f64) -> f64 {
    let t0 = arrivals[0];
    let n = arrivals
        .iter()
        .filter(|t| {
            let s = t.duration_since(t0).as_secs_f64();
            s >= from && s < to
        })
        .count();
    (n * WIRE) as f64 / (to - from)
}

#[tokio::test]
async fn flooding_client_is_held_to_the_websocket_rate_while_others_stay_responsive() {
    let s = Server::start(&config(
        "limits = { websocket = { rate = \"10kb/s\", burst = \"10kb\" } }",
        "",
    ))
    .await;
    s.add_user("flood", "pw");
    s.add_user("calm", "pw");
    let mut f = WsClient::connect(s.addr).await;
    f.login("flood", "pw", "f").await;
    let mut calm = WsClient::connect(s.addr).await;
    calm.login("calm", "pw", "c").await;
    let flooding = tokio::spawn(flood(f, 12));
    // While the flood runs, another client's round trips stay fast.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut worst = Duration::ZERO;
    for i in 0..20 {
        let t = Instant::now();
        calm.send_text(&format!("<iq xmlns='jabber:client' type='get' id='c{i}' to='{HOST}'><ping xmlns='urn:xmpp:ping'/></iq>")).await;
        let r = calm.next_text().await;
        assert!(r.contains(&format!("id='c{i}'")), "{r}");
        worst = worst.max(t.elapsed());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        worst < Duration::from_millis(50),
        "calm client's worst ping RTT {worst:?}"
    );
    let arrivals = flooding.await.expect("flood task");
    assert!(arrivals.len() > 100, "{} replies", arrivals.len());
    // After the burst: 10 s at 10 000 B/s, within 10 %.
    let r = rate(&arrivals, 1.5, 11.5);
    eprintln!("websocket limit 10000 B/s: sustained {r:.0} B/s, calm client worst RTT {worst:?}");
    assert!(
        (9_000.0..=11_000.0).contains(&r),
        "sustained rate {r:.0} B/s"
    );
}

#[tokio::test]
async fn unlimited_jids_are_not_held_back() {
    let s = Server::start(&config(
        "limits = { websocket = { rate = \"10kb/s\", burst = \"10kb\" } }",
        &format!("unlimited_jids = {{ \"fast@{HOST}\" }}"),
    ))
    .await;
    s.add_user("fast", "pw");
    let mut f = WsClient::connect(s.addr).await;
    f.login("fast", "pw", "f").await;
    let arrivals = flood(f, 3).await;
    // Far above the 10 kB/s limit (a debug build still does well over 40 kB/s).
    let r = rate(&arrivals, 0.5, 2.5);
    eprintln!("unlimited_jids client: {r:.0} B/s");
    assert!(r > 40_000.0, "unlimited client went at only {r:.0} B/s");
}

#[tokio::test]
async fn websocket_falls_back_to_the_c2s_entry() {
    let s = Server::start(&config(
        "limits = { c2s = { rate = \"5kb/s\", burst = \"5kb\" } }",
        "",
    ))
    .await;
    s.add_user("slow", "pw");
    let mut f = WsClient::connect(s.addr).await;
    f.login("slow", "pw", "f").await;
    let arrivals = flood(f, 7).await;
    let r = rate(&arrivals, 1.5, 6.5);
    eprintln!("c2s entry 5000 B/s applied to WebSocket: {r:.0} B/s");
    assert!(
        (4_500.0..=5_500.0).contains(&r),
        "rate {r:.0} B/s, expected the c2s 5000 B/s"
    );
}

async fn expect_policy_violation(c: &mut WsClient) -> String {
    let (texts, close) = c.until_close().await;
    let t = texts.join("");
    assert!(
        t.contains("<policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"),
        "{t}"
    );
    assert_eq!(close.map(|c| c.0), Some(Some(1000)));
    t
}

#[tokio::test]
async fn oversized_stanzas_are_policy_violations_in_one_frame_or_many() {
    let s = Server::start(&base_config("c2s_stanza_size_limit = 20000")).await;
    s.add_user("alice", "secret");
    let big_body = "y".repeat(15_000);
    // Before authentication (limit 10 000): one frame, then many frames.
    let mut c = WsClient::connect(s.addr).await;
    c.open(HOST).await;
    c.send_text(&format!(
        "<message xmlns='jabber:client'><body>{big_body}</body></message>"
    ))
    .await;
    let t = expect_policy_violation(&mut c).await;
    assert!(
        t.contains("XML stanza is too big") && t.contains("stanza-too-big"),
        "{t}"
    );
    let mut c = WsClient::connect(s.addr).await;
    c.open(HOST).await;
    c.send_text("<message xmlns='jabber:client'>").await;
    for _ in 0..30 {
        c.send_text(&format!("<x>{}</x>", "z".repeat(500))).await;
    }
    let t = expect_policy_violation(&mut c).await;
    assert!(t.contains("XML stanza is too big"), "{t}");
    // After authentication (limit 20 000): a 25 kB stanza in one frame is refused by the
    // frame check, and in many frames by the parser.
    let mut c = WsClient::connect(s.addr).await;
    c.login("alice", "secret", "a").await;
    c.send_text(&format!(
        "<message xmlns='jabber:client'><body>{}</body></message>",
        "y".repeat(25_000)
    ))
    .await;
    let t = expect_policy_violation(&mut c).await;
    assert!(t.contains("stanza too large"), "{t}");
    let mut c = WsClient::connect(s.addr).await;
    c.login("alice", "secret", "b").await;
    c.send_text("<message xmlns='jabber:client'>").await;
    for _ in 0..50 {
        c.send_text(&format!("<x>{}</x>", "z".repeat(500))).await;
    }
    let t = expect_policy_violation(&mut c).await;
    assert!(t.contains("XML stanza is too big"), "{t}");
    // A stanza under the authenticated limit still passes after login.
    let mut c = WsClient::connect(s.addr).await;
    c.login("alice", "secret", "c").await;
    c.send_text(&format!("<iq xmlns='jabber:client' type='get' id='ok' to='{HOST}'><ping xmlns='urn:xmpp:ping'/><!-- --></iq>").replace("<!-- -->", "")).await;
    assert!(c.next_text().await.contains("id='ok'"));
}

async fn plain_attempt(c: &mut WsClient, user: &str, password: &str) -> String {
    let (_, features) = c.open(HOST).await;
    assert!(features.contains("PLAIN"), "{features}");
    let payload = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
    c.send_text(&format!(
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{payload}</auth>"
    ))
    .await;
    match c.next_frame().await {
        Some(WsFrame::Text(t)) => t,
        other => format!("{other:?}"),
    }
}

#[tokio::test]
async fn repeated_wrong_passwords_from_one_address_are_refused_but_others_log_in() {
    let s = Server::start(&base_config("limit_auth_max = 3")).await;
    s.add_user("alice", "secret");
    let a: std::net::IpAddr = "127.0.0.1".parse().expect("ip");
    for _ in 0..3 {
        let mut c = WsClient::connect_from(s.addr, a).await;
        let r = plain_attempt(&mut c, "alice", "wrong").await;
        assert!(r.contains("<not-authorized"), "{r}");
    }
    let mut c = WsClient::connect_from(s.addr, a).await;
    let r = plain_attempt(&mut c, "alice", "secret").await;
    let (rest, _) = c.until_close().await;
    let all = format!("{r}{}", rest.join(""));
    assert!(
        all.contains("<policy-violation"),
        "fourth attempt from the same address: {all}"
    );
    // The account's owner, from another address, still gets in.
    let b: std::net::IpAddr = "127.0.0.2".parse().expect("ip");
    let mut c = WsClient::connect_from(s.addr, b).await;
    let jid = c.login("alice", "secret", "home").await;
    assert_eq!(jid, format!("alice@{HOST}/home"));
}
