//! The edge options against a real in-process Lilt on loopback: keepalive with pong timeout,
//! websocket_max_frame_size, Origin refusal, CORS per app, https_redirect, trusted proxies
//! and forged X-Forwarded-For, secure detection (§5.8) and the OpenMetrics endpoint.

use crate::proxy;

use std::time::Duration;

use lilt::modules::openmetrics::{metrics, LimitKind};
use proxy::{connect_from, logs, request, start_lilt, Frame, Ws};

const HOST: &str = "example.test";

fn config(extra: &str) -> String {
    format!(
        r#"
http_ports = {{ 0 }}
c2s_ports = {{ }}
http_interfaces = {{ "127.0.0.1" }}
https_ports = {{ }}
data_path = "DATA"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
modules_enabled = {{ "websocket", "http" }}
{extra}
VirtualHost "{HOST}"
"#
    )
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

async fn get(addr: std::net::SocketAddr, text: &str) -> String {
    let s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    request(s, text).await.0
}

#[tokio::test]
async fn silent_client_is_dropped_after_pong_timeout_and_its_session_freed() {
    let lilt = start_lilt(&config(
        "websocket_config = { websocket_ping_interval = 0.2, websocket_pong_timeout = 0.3 }",
    ))
    .await;
    lilt.add_user(HOST, "quiet", "pw");
    let before = metrics().limit_hits(LimitKind::PongTimeout);
    let tcp = tokio::net::TcpStream::connect(lilt.addr)
        .await
        .expect("connect");
    let mut ws = Ws::open(tcp, HOST, "").await;
    ws.login(HOST, "quiet", "pw").await;
    assert_eq!(lilt.listeners.sessions(), 1);
    // From now on the client reads but never answers a ping.
    let mut pings = 0;
    let mut texts = Vec::new();
    let close = loop {
        match ws.next_frame(Duration::from_secs(5)).await {
            Some(Frame::Ping(_)) => pings += 1,
            Some(Frame::Text(t)) => texts.push(t),
            Some(Frame::Close(code, _)) => break code,
            Some(Frame::Pong(_)) => {}
            None => panic!("connection ended without a close frame"),
        }
    };
    assert!(pings >= 1, "the server pinged");
    assert!(
        texts.iter().any(|t| t.contains("connection-timeout")),
        "{texts:?}"
    );
    assert_eq!(close, Some(1000));
    assert_eq!(
        ws.next_frame(Duration::from_secs(5)).await,
        None,
        "TCP closed"
    );
    for _ in 0..100 {
        if lilt.listeners.sessions() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(lilt.listeners.sessions(), 0, "the session was freed");
    assert!(metrics().limit_hits(LimitKind::PongTimeout) > before);
}

#[tokio::test]
async fn client_answering_pings_stays_connected_and_latency_is_measured() {
    let lilt = start_lilt(&config(
        "websocket_ping_interval = 0.1\nwebsocket_pong_timeout = 0.3\nmodules_enabled = { \"websocket\", \"http\", \"http_openmetrics\" }",
    ))
    .await;
    let tcp = tokio::net::TcpStream::connect(lilt.addr)
        .await
        .expect("connect");
    let mut ws = Ws::open(tcp, HOST, "").await;
    let until = tokio::time::Instant::now() + Duration::from_millis(800);
    let mut answered = 0;
    while tokio::time::Instant::now() < until {
        match ws.next_frame(Duration::from_secs(2)).await {
            Some(Frame::Ping(p)) => {
                ws.send_frame(10, &p).await;
                answered += 1;
            }
            other => panic!("expected only pings, got {other:?}"),
        }
    }
    assert!(answered >= 4, "pinged on the 0.1 s timer: {answered}");
    let scrape = get(
        lilt.addr,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(scrape.starts_with("HTTP/1.1 200"), "{scrape}");
    let body = {
        let s = tokio::net::TcpStream::connect(lilt.addr)
            .await
            .expect("connect");
        let (_, mut rest, mut s) = request(
            s,
            "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        use tokio::io::AsyncReadExt;
        s.read_to_end(&mut rest).await.expect("body");
        String::from_utf8_lossy(&rest).to_string()
    };
    let count = body
        .lines()
        .find_map(|l| l.strip_prefix("lilt_websocket_ping_latency_seconds_count "))
        .and_then(|n| n.parse::<u64>().ok())
        .expect("latency count");
    assert!(count >= 4, "{body}");
}

#[tokio::test]
async fn frame_over_websocket_max_frame_size_closes_with_1009() {
    for extra in [
        "websocket_max_frame_size = 1000",
        "websocket_config = { websocket_max_frame_size = 1000 }",
    ] {
        let lilt = start_lilt(&config(extra)).await;
        let tcp = tokio::net::TcpStream::connect(lilt.addr)
            .await
            .expect("connect");
        let mut ws = Ws::open(tcp, HOST, "").await;
        let big = format!("<{}", "a".repeat(1500));
        ws.send_text(&big).await;
        let frame = ws.next_frame(Duration::from_secs(5)).await;
        assert!(
            matches!(frame, Some(Frame::Close(Some(1009), _))),
            "{extra}: {frame:?}"
        );
        assert_eq!(ws.next_frame(Duration::from_secs(5)).await, None);
    }
}

#[tokio::test]
async fn origin_not_allowed_is_refused_with_403_before_upgrade_and_logged() {
    let lilt = start_lilt(&config(
        "websocket_origin_check = true\nallowed_origins = { \"https://good.example\" }",
    ))
    .await;
    let head = get(
        lilt.addr,
        &proxy::upgrade(HOST, "/xmpp-websocket", "Origin: https://evil.example\r\n"),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
    assert!(logs().contains("Origin not in allowed_origins"), "logged");
    assert!(logs().contains("https://evil.example"));
    let tcp = tokio::net::TcpStream::connect(lilt.addr)
        .await
        .expect("connect");
    Ws::open(tcp, HOST, "Origin: https://good.example\r\n").await;
}

#[tokio::test]
async fn access_control_allow_origins_limits_cors_headers() {
    let lilt = start_lilt(&config(
        "access_control_allow_origins = { \"https://a.example\" }",
    ))
    .await;
    let pre = |origin: &str| {
        format!(
            "OPTIONS /xmpp-websocket HTTP/1.1\r\nHost: {HOST}\r\nOrigin: {origin}\r\nConnection: close\r\n\r\n"
        )
    };
    let ok = get(lilt.addr, &pre("https://a.example")).await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    assert_eq!(
        header(&ok, "Access-Control-Allow-Origin"),
        Some("https://a.example")
    );
    assert!(header(&ok, "Access-Control-Allow-Methods").is_some_and(|m| m.contains("GET")));
    let other = get(lilt.addr, &pre("https://b.example")).await;
    assert_eq!(
        header(&other, "Access-Control-Allow-Origin"),
        None,
        "{other}"
    );
}

#[tokio::test]
async fn cors_override_applies_per_app() {
    let lilt = start_lilt(&config(
        r#"modules_enabled = { "websocket", "http", "http_openmetrics" }
http_cors_override = {
    websocket = { enabled = true, credentials = true, origins = { "https://ws.example" }, headers = { ["X-Custom"] = true } },
}"#,
    ))
    .await;
    let ws = get(
        lilt.addr,
        &format!("OPTIONS /xmpp-websocket HTTP/1.1\r\nHost: {HOST}\r\nOrigin: https://ws.example\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!(
        header(&ws, "Access-Control-Allow-Origin"),
        Some("https://ws.example"),
        "{ws}"
    );
    assert_eq!(
        header(&ws, "Access-Control-Allow-Credentials"),
        Some("true")
    );
    assert!(header(&ws, "Access-Control-Allow-Headers").is_some_and(|h| h.contains("X-Custom")));
    let elsewhere = get(
        lilt.addr,
        &format!("GET /xmpp-websocket HTTP/1.1\r\nHost: {HOST}\r\nOrigin: https://x.example\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!(header(&elsewhere, "Access-Control-Allow-Origin"), None);
    // The metrics app has CORS off: scrapers are not browsers.
    let m = get(lilt.addr, "GET /metrics HTTP/1.1\r\nHost: x\r\nOrigin: https://ws.example\r\nConnection: close\r\n\r\n").await;
    assert!(m.starts_with("HTTP/1.1 200"), "{m}");
    assert_eq!(header(&m, "Access-Control-Allow-Origin"), None);
}

#[tokio::test]
async fn https_redirect_sends_plain_http_to_the_external_url_or_https_port() {
    let lilt = start_lilt(&config(
        "https_redirect = true\nhttp_external_url = \"https://chat.example/\"",
    ))
    .await;
    let r = get(
        lilt.addr,
        &format!("GET /xmpp-websocket?x=1 HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 301"), "{r}");
    assert_eq!(
        header(&r, "Location"),
        Some("https://chat.example/xmpp-websocket?x=1")
    );
    assert!(
        logs().contains("WebSocket endpoint for example.test: wss://chat.example/xmpp-websocket"),
        "the printed URL uses http_external_url"
    );
    // A trusted proxy that terminated TLS makes the request secure: no redirect.
    let secure = get(
        lilt.addr,
        &format!("GET /xmpp-websocket HTTP/1.1\r\nHost: {HOST}\r\nX-Forwarded-Proto: https\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert!(secure.starts_with("HTTP/1.1 200"), "{secure}");

    let lilt = start_lilt(&config("https_redirect = true")).await;
    let r = get(
        lilt.addr,
        &format!("GET /xmpp-websocket HTTP/1.1\r\nHost: {HOST}:5280\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!(
        header(&r, "Location"),
        Some("https://example.test:5281/xmpp-websocket"),
        "{r}"
    );
}

/// The span of a bound session's log line names the client address Lilt believed.
fn logged_ip_of(jid_prefix: &str) -> Option<String> {
    let text = logs();
    let line = text
        .lines()
        .find(|l| l.contains("Session bound") && l.contains(jid_prefix))?;
    let start = line.find(" ip=").or_else(|| line.find("{ip="))? + 4;
    let rest = &line[start..];
    Some(rest[..rest.find(['}', ' ']).unwrap_or(rest.len())].to_owned())
}

#[tokio::test]
async fn forged_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let lilt = start_lilt(&config("trusted_proxies = { \"127.0.0.1\" }")).await;
    lilt.add_user(HOST, "forger", "pw");
    lilt.add_user(HOST, "proxied", "pw");
    let tcp = connect_from("127.0.0.2", lilt.addr).await;
    let mut ws = Ws::open(
        tcp,
        HOST,
        "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n",
    )
    .await;
    ws.login(HOST, "forger", "pw").await;
    assert_eq!(
        logged_ip_of("forger@").as_deref(),
        Some("127.0.0.2"),
        "{}",
        logs()
    );

    let tcp = connect_from("127.0.0.1", lilt.addr).await;
    let mut ws = Ws::open(tcp, HOST, "X-Forwarded-For: 6.6.6.6, 203.0.113.5\r\n").await;
    ws.login(HOST, "proxied", "pw").await;
    assert_eq!(logged_ip_of("proxied@").as_deref(), Some("203.0.113.5"));
}

#[tokio::test]
async fn insecure_websocket_session_gets_no_mechanisms_unless_considered_secure() {
    let strict = "c2s_require_encryption = true\nallow_unencrypted_plain_auth = false";
    let lilt = start_lilt(&config(strict)).await;
    let open =
        format!("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='{HOST}' version='1.0'/>");
    // From an untrusted address X-Forwarded-Proto does not count.
    let tcp = connect_from("127.0.0.3", lilt.addr).await;
    let mut ws = Ws::open(tcp, HOST, "X-Forwarded-Proto: https\r\n").await;
    ws.send_text(&open).await;
    let mut all = String::new();
    while let Some(f) = ws.next_frame(Duration::from_secs(5)).await {
        if let Frame::Text(t) = f {
            all.push_str(&t);
        }
    }
    assert!(all.contains("undefined-condition"), "{all}");
    assert!(!all.contains("<mechanism>"));
    // From the trusted proxy, X-Forwarded-Proto: https makes the session secure.
    let tcp = connect_from("127.0.0.1", lilt.addr).await;
    let mut ws = Ws::open(tcp, HOST, "X-Forwarded-Proto: https\r\n").await;
    ws.send_text(&open).await;
    let _ = ws.next_text().await;
    assert!(ws
        .next_text()
        .await
        .contains("<mechanism>PLAIN</mechanism>"));
    // consider_websocket_secure makes every session secure.
    let lilt = start_lilt(&config(&format!(
        "{strict}\nconsider_websocket_secure = true"
    )))
    .await;
    let tcp = connect_from("127.0.0.3", lilt.addr).await;
    let mut ws = Ws::open(tcp, HOST, "").await;
    ws.send_text(&open).await;
    let _ = ws.next_text().await;
    assert!(ws
        .next_text()
        .await
        .contains("<mechanism>PLAIN</mechanism>"));
}

#[tokio::test]
async fn metrics_endpoint_is_openmetrics_for_allowed_addresses_only() {
    let lilt = start_lilt(&config(
        "modules_enabled = { \"websocket\", \"http\", \"http_openmetrics\" }",
    ))
    .await;
    let q = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let tcp = connect_from("127.0.0.1", lilt.addr).await;
    let (head, mut body, mut s) = request(tcp, q).await;
    use tokio::io::AsyncReadExt;
    s.read_to_end(&mut body).await.expect("body");
    let body = String::from_utf8_lossy(&body);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(header(&head, "Content-Type")
        .is_some_and(|c| c.starts_with("application/openmetrics-text")));
    for family in [
        "lilt_connections{transport=\"websocket\"}",
        "lilt_sessions ",
        "lilt_stanzas_total{direction=\"in\"}",
        "lilt_bytes_total{transport=\"websocket\",direction=\"out\"}",
        "lilt_websocket_ping_latency_seconds_count",
        "lilt_limit_hits_total{limit=\"websocket_max_frame_size\"}",
    ] {
        assert!(body.contains(family), "{family} in {body}");
    }
    assert!(body.ends_with("# EOF\n"));
    let far = request(connect_from("127.0.0.2", lilt.addr).await, q)
        .await
        .0;
    assert!(far.starts_with("HTTP/1.1 403"), "{far}");
    let forwarded = request(connect_from("127.0.0.1", lilt.addr).await,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 198.51.100.1\r\nConnection: close\r\n\r\n").await.0;
    assert!(
        forwarded.starts_with("HTTP/1.1 403"),
        "the forwarded client is not allowed: {forwarded}"
    );
    let lilt = start_lilt(&config("modules_enabled = { \"websocket\", \"http\", \"http_openmetrics\" }\nopenmetrics_allow_cidr = \"127.0.0.0/8\"")).await;
    let near = request(connect_from("127.0.0.2", lilt.addr).await, q)
        .await
        .0;
    assert!(near.starts_with("HTTP/1.1 200"), "{near}");
}
