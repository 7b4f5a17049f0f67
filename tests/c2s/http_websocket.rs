//! The WebSocket endpoint over real sockets (reference §5.2, §5.3, §5.10): the 101 and its
//! headers, refusals, the plain page, and a working socket handed to the upgrade callback.

use crate::http_support;

use futures_util::{SinkExt, StreamExt};
use http_support::*;
use lilt::modules::http::HttpSettings;
use lilt::modules::websocket::conversion::frame_to_stream;
use lilt::modules::websocket::framing::{self, Frame, FrameDecoder};
use lilt::modules::websocket::route::WebSocketSettings;
use lilt::net::http::AsyncReadWrite;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

fn upgrade(protocol: &str, extra: &[&str]) -> String {
    let mut lines = vec![
        "Upgrade: websocket".to_owned(),
        "Connection: Upgrade".to_owned(),
        format!("Sec-WebSocket-Key: {WS_KEY}"),
        "Sec-WebSocket-Version: 13".to_owned(),
        format!("Sec-WebSocket-Protocol: {protocol}"),
    ];
    lines.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    get("/xmpp-websocket", &refs)
}

/// Echoes text frames back after the §5.4 conversion, answers pings, and closes on a close
/// frame with 1000 "Goodbye" — a stand-in for the c2s session.
fn echo(io: Box<dyn AsyncReadWrite>) {
    tokio::spawn(async move {
        let mut io = io;
        let mut decoder = FrameDecoder::new(262_144, 524_288);
        let mut buf = [0u8; 4096];
        loop {
            let n = match io.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            decoder.feed(&buf[..n]);
            let mut out = Vec::new();
            loop {
                match decoder.next_frame() {
                    Ok(Some(Frame::Text(t))) => {
                        framing::encode_text(&frame_to_stream(&t), &mut out)
                    }
                    Ok(Some(Frame::Ping(p))) => framing::encode_pong(&p, &mut out),
                    Ok(Some(Frame::Close(..))) => {
                        framing::encode_close(1000, "Goodbye", &mut out);
                        let _ = io.write_all(&out).await;
                        let _ = io.shutdown().await;
                        return;
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(_) => return,
                }
            }
            if io.write_all(&out).await.is_err() {
                return;
            }
        }
    });
}

#[tokio::test]
async fn upgrade_answers_101_with_websocket_headers() {
    let server = start_default().await;
    let resp = exchange(&server, &upgrade("xmpp", &["Origin: https://web.example"])).await;
    assert_eq!(resp.status, 101, "{}", resp.head);
    assert!(resp
        .head
        .starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
    assert_eq!(resp.header("Upgrade"), Some("websocket"));
    assert_eq!(resp.header("Connection"), Some("Upgrade"));
    assert_eq!(resp.header("Sec-WebSocket-Accept"), Some(WS_ACCEPT));
    assert_eq!(resp.header("Sec-WebSocket-Protocol"), Some("xmpp"));
    assert!(resp.header("Date").is_some());
    assert_eq!(resp.header("Content-Length"), None);
    assert_eq!(
        resp.header("Access-Control-Allow-Origin"),
        Some("https://web.example")
    );
}

#[tokio::test]
async fn upgrade_without_xmpp_subprotocol_is_501_page() {
    let server = start_default().await;
    let resp = exchange(&server, &upgrade("chat", &[])).await;
    assert_eq!(resp.status, 501);
    assert_eq!(
        resp.header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    assert!(resp.text().contains("<title>Not Implemented</title>"));
    let no_header = get(
        "/xmpp-websocket",
        &[&format!("Sec-WebSocket-Key: {WS_KEY}")],
    );
    assert_eq!(exchange(&server, &no_header).await.status, 501);
}

#[tokio::test]
async fn subprotocol_list_with_uppercase_xmpp_is_accepted() {
    let server = start_default().await;
    let resp = exchange(&server, &upgrade("foo, XMPP", &[])).await;
    assert_eq!(resp.status, 101);
    assert_eq!(resp.header("Sec-WebSocket-Protocol"), Some("xmpp"));
}

#[tokio::test]
async fn plain_get_shows_endpoint_page_with_insecure_warning() {
    let server = start_default().await;
    let resp = exchange(&server, &get("/xmpp-websocket/", &[])).await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    let body = resp.text();
    assert!(
        body.contains("<title>Lilt WebSocket endpoint</title>"),
        "{body}"
    );
    assert!(body.contains("point your WebSocket client at this URL"));
    assert!(body.contains("This endpoint is not considered secure!"));
    let proxied = exchange(
        &server,
        &get("/xmpp-websocket", &["X-Forwarded-Proto: https"]),
    )
    .await;
    assert!(!proxied.text().contains("not considered secure"));
}

#[tokio::test]
async fn configured_path_moves_the_endpoint() {
    let mut settings = HttpSettings::default();
    settings.paths.insert("websocket".into(), "/ws/".into());
    let server = start(settings, WebSocketSettings::default(), |_| {}).await;
    assert_eq!(exchange(&server, &get("/ws", &[])).await.status, 200);
    assert_eq!(
        exchange(&server, &get("/xmpp-websocket", &[])).await.status,
        404
    );
}

#[tokio::test]
async fn callback_gets_request_details_after_proxy_processing() {
    let mut server = start_default().await;
    let resp = exchange(
        &server,
        &upgrade(
            "xmpp",
            &[
                "X-Forwarded-For: 198.51.100.9",
                "Origin: https://web.example",
            ],
        ),
    )
    .await;
    assert_eq!(resp.status, 101);
    let ws = server.upgrades.recv().await.expect("upgrade reported");
    assert_eq!(ws.ip.to_string(), "198.51.100.9");
    assert_eq!(ws.peer.ip().to_string(), "127.0.0.1");
    assert!(!ws.secure);
    assert_eq!(ws.host.as_deref(), Some("example.com"));
    assert_eq!(ws.route_host.as_deref(), Some("example.com"));
    assert_eq!(ws.path, "/xmpp-websocket");
    assert_eq!(ws.header("Origin"), Some("https://web.example"));
}

#[tokio::test]
async fn upgraded_socket_carries_frames_both_ways() {
    let server = start(HttpSettings::default(), WebSocketSettings::default(), echo).await;
    let tcp = TcpStream::connect(server.addr).await.expect("connect");
    let mut req = "ws://example.com/xmpp-websocket"
        .into_client_request()
        .expect("request");
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", "xmpp".parse().expect("header"));
    let (mut ws, resp) = tokio_tungstenite::client_async(req, tcp)
        .await
        .expect("handshake");
    assert_eq!(resp.status(), 101);

    let open = "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='example.com' version='1.0'/>";
    ws.send(Message::Text(open.into()))
        .await
        .expect("send open");
    let got = ws.next().await.expect("frame").expect("ok");
    assert_eq!(
        got,
        Message::Text("<stream:stream xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0'>".into())
    );
    let big = format!(
        "<message xmlns='jabber:client'><body>{}</body></message>",
        "z".repeat(100_000)
    );
    ws.send(Message::Text(big.clone())).await.expect("send big");
    assert_eq!(
        ws.next().await.expect("frame").expect("ok"),
        Message::Text(big)
    );
    ws.send(Message::Ping(b"hello".to_vec()))
        .await
        .expect("ping");
    assert_eq!(
        ws.next().await.expect("frame").expect("ok"),
        Message::Pong(b"hello".to_vec())
    );
    ws.close(None).await.expect("close");
    match ws.next().await.expect("close reply").expect("ok") {
        Message::Close(Some(frame)) => {
            assert_eq!(frame.code, CloseCode::Normal);
            assert_eq!(frame.reason, "Goodbye");
        }
        other => panic!("expected close, got {other:?}"),
    }
}

#[tokio::test]
async fn upgrade_without_upgrade_header_is_400_not_a_dead_101() {
    let server = start_default().await;
    let raw = get(
        "/xmpp-websocket",
        &[
            &format!("Sec-WebSocket-Key: {WS_KEY}"),
            "Sec-WebSocket-Protocol: xmpp",
        ],
    );
    let resp = exchange(&server, &raw).await;
    assert_eq!(resp.status, 400);
    assert!(resp.text().contains("Upgrade: websocket"));
}
