//! The hyper server over real sockets: host matching, methods, pages, redirects, CORS,
//! proxies, body limits and connection headers (reference §6).

use crate::http_support;

use http_support::*;
use lilt::modules::http::{CorsSpec, HttpSettings, TrustedProxies};
use lilt::modules::websocket::route::WebSocketSettings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn post_to_websocket_path_is_404_page() {
    let server = start_default().await;
    let resp = exchange(
        &server,
        &request(
            "POST",
            "/xmpp-websocket",
            "example.com",
            &["Content-Length: 0"],
        ),
    )
    .await;
    assert_eq!(resp.status, 404);
    assert_eq!(
        resp.header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    assert!(resp.text().contains("<title>Not Found</title>"));
}

#[tokio::test]
async fn head_gets_get_headers_without_body() {
    let server = start_default().await;
    let get_resp = exchange(&server, &get("/xmpp-websocket", &[])).await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    let mut two = request("HEAD", "/xmpp-websocket", "example.com", &[]);
    two.push_str(&get("/probe", &[]));
    stream.write_all(two.as_bytes()).await.expect("write");
    let head = read_response(&mut stream, true).await;
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("Content-Length"),
        get_resp.header("Content-Length")
    );
    // The next bytes must be the second response, proving HEAD sent no body.
    let next = read_response(&mut stream, false).await;
    assert_eq!(next.status, 200);
    assert!(next.text().starts_with("ip="));
}

#[tokio::test]
async fn unknown_host_is_404_with_its_name() {
    let server = start_default().await;
    let resp = exchange(
        &server,
        &request("GET", "/xmpp-websocket", "other.example:5280", &[]),
    )
    .await;
    assert_eq!(resp.status, 404);
    assert!(
        resp.text().contains("Unknown host: other.example"),
        "{}",
        resp.text()
    );
}

#[tokio::test]
async fn missing_host_is_400() {
    let server = start_default().await;
    let resp = exchange(&server, "GET /xmpp-websocket HTTP/1.0\r\n\r\n").await;
    assert_eq!(resp.status, 400);
    assert!(
        resp.text()
            .contains("Missing or invalid &#39;Host&#39; header"),
        "{}",
        resp.text()
    );
}

#[tokio::test]
async fn default_host_serves_unknown_host() {
    let settings = HttpSettings {
        default_host: Some("example.com".into()),
        ..HttpSettings::default()
    };
    let server = start(settings, WebSocketSettings::default(), |_| {}).await;
    let resp = exchange(&server, &request("GET", "/probe", "elsewhere.example", &[])).await;
    assert_eq!(resp.status, 200);
    let resp = exchange(&server, "GET /probe HTTP/1.0\r\n\r\n").await;
    assert_eq!(resp.status, 200);
}

#[tokio::test]
async fn root_shows_running_page() {
    let server = start_default().await;
    let resp = exchange(&server, &get("/", &[])).await;
    assert_eq!(resp.status, 200);
    assert!(resp.text().contains("Lilt is running!"));
}

#[tokio::test]
async fn slash_route_redirects_with_query() {
    let server = start_default().await;
    let resp = exchange(&server, &get("/files?x=1", &[])).await;
    assert_eq!(resp.status, 301);
    assert_eq!(resp.header("Location"), Some("/files/?x=1"));
    let resp = exchange(&server, &get("/files/", &[])).await;
    assert_eq!(resp.text(), "index");
}

#[tokio::test]
async fn cors_headers_on_routes_and_options_preflight() {
    let server = start_default().await;
    let resp = exchange(
        &server,
        &get("/xmpp-websocket", &["Origin: https://web.example"]),
    )
    .await;
    assert_eq!(
        resp.header("Access-Control-Allow-Origin"),
        Some("https://web.example")
    );
    assert_eq!(
        resp.header("Access-Control-Allow-Methods"),
        Some("GET, OPTIONS")
    );
    assert_eq!(
        resp.header("Access-Control-Allow-Headers"),
        Some("Content-Type")
    );
    assert_eq!(resp.header("Access-Control-Max-Age"), Some("7200"));
    let pre = exchange(
        &server,
        &request("OPTIONS", "/xmpp-websocket", "example.com", &[]),
    )
    .await;
    assert_eq!(pre.status, 200);
    assert_eq!(pre.header("Content-Length"), Some("0"));
    assert_eq!(pre.header("Access-Control-Allow-Origin"), Some("*"));
}

#[tokio::test]
async fn cors_override_disabled_removes_headers() {
    let mut settings = HttpSettings::default();
    settings.cors_override.insert(
        "websocket".into(),
        CorsSpec {
            enabled: Some(false),
            ..CorsSpec::default()
        },
    );
    let server = start(settings, WebSocketSettings::default(), |_| {}).await;
    let resp = exchange(
        &server,
        &get("/xmpp-websocket", &["Origin: https://web.example"]),
    )
    .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("Access-Control-Allow-Origin"), None);
    let pre = exchange(
        &server,
        &request("OPTIONS", "/xmpp-websocket", "example.com", &[]),
    )
    .await;
    assert_eq!(pre.status, 404);
}

#[tokio::test]
async fn forwarded_for_from_trusted_peer_sets_ip_and_secure() {
    let server = start_default().await;
    let resp = exchange(
        &server,
        &get(
            "/probe",
            &[
                "X-Forwarded-For: 203.0.113.7, 127.0.0.1",
                "X-Forwarded-Proto: https",
            ],
        ),
    )
    .await;
    assert_eq!(resp.text(), "ip=203.0.113.7 secure=true");
}

#[tokio::test]
async fn forwarded_for_from_untrusted_peer_is_ignored() {
    let settings = HttpSettings {
        trusted_proxies: TrustedProxies::parse(["10.0.0.0/8"]).0,
        ..HttpSettings::default()
    };
    let server = start(settings, WebSocketSettings::default(), |_| {}).await;
    let resp = exchange(
        &server,
        &get(
            "/probe",
            &["X-Forwarded-For: 203.0.113.7", "X-Forwarded-Proto: https"],
        ),
    )
    .await;
    assert_eq!(resp.text(), "ip=127.0.0.1 secure=false");
}

#[tokio::test]
async fn body_above_max_content_size_is_refused() {
    let settings = HttpSettings {
        max_content_size: 16,
        ..HttpSettings::default()
    };
    let server = start(settings, WebSocketSettings::default(), |_| {}).await;
    let small = format!(
        "{}0123456789",
        request("POST", "/probe", "example.com", &["Content-Length: 10"])
    );
    assert_eq!(exchange(&server, &small).await.text(), "got 10 bytes");
    let big = format!(
        "{}{}",
        request("POST", "/probe", "example.com", &["Content-Length: 17"]),
        "x".repeat(17)
    );
    let resp = exchange(&server, &big).await;
    assert_eq!(resp.status, 413);
    assert_eq!(resp.header("Connection"), Some("close"));
    let chunked = request(
        "POST",
        "/probe",
        "example.com",
        &["Transfer-Encoding: chunked"],
    ) + "20\r\n01234567890123456789012345678901\r\n0\r\n\r\n";
    assert_eq!(exchange(&server, &chunked).await.status, 413);
}

#[tokio::test]
async fn responses_carry_date_length_and_keep_alive_headers() {
    let server = start_default().await;
    let resp = exchange(&server, &get("/probe", &[])).await;
    assert!(resp.head.contains("\r\nDate: "), "{}", resp.head);
    assert!(resp.head.contains("\r\nContent-Length: "), "{}", resp.head);
    assert_eq!(resp.header("Connection"), Some("Keep-Alive"));
    let resp = exchange(&server, &get("/probe", &["Connection: close"])).await;
    assert_eq!(resp.header("Connection"), Some("close"));
    let old = exchange(&server, "GET /probe HTTP/1.0\r\nHost: example.com\r\n\r\n").await;
    assert_eq!(old.header("Connection"), None);
    let old_ka = "GET /probe HTTP/1.0\r\nHost: example.com\r\nConnection: keep-alive\r\n\r\n";
    assert_eq!(
        exchange(&server, old_ka).await.header("Connection"),
        Some("Keep-Alive")
    );
}

#[tokio::test]
async fn absolute_uri_request_line_sets_the_host() {
    let server = start_default().await;
    let raw = "GET http://example.com/probe HTTP/1.1\r\nHost: other.example\r\n\r\n";
    let resp = exchange(&server, raw).await;
    assert_eq!(resp.status, 200);
    assert!(resp.text().starts_with("ip="));
}

#[tokio::test]
async fn header_block_over_10_kib_is_refused() {
    let server = start_default().await;
    let big = format!("X-Filler: {}", "a".repeat(12 * 1024));
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream
        .write_all(get("/probe", &[&big]).as_bytes())
        .await
        .expect("write");
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply).await;
    let reply = String::from_utf8_lossy(&reply);
    assert!(
        !reply.contains(" 200 "),
        "oversized header block was served: {reply}"
    );
}
