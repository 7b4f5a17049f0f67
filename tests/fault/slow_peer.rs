//! Hostile-peer timing faults: a client that stops reading while stanzas keep coming (its
//! session ends on `max_send_buffer_size` or `send_timeout`, others are unaffected), and
//! slowloris clients trickling bytes into the HTTP head (cut off by the header timeout,
//! `ssl_handshake_timeout`) or into an unauthenticated stream (`c2s_timeout`).

use crate::fault_support;
use crate::support;

use std::time::{Duration, Instant};

use fault_support::{start, FaultServer, HOST};
use support::{base_config, WsClient};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Logs `user` in over a socket with a tiny receive buffer, so the server's writes back up
/// quickly once the test stops reading.
async fn stuck_client(server: &FaultServer, user: &str) -> WsClient {
    let sock = tokio::net::TcpSocket::new_v4().expect("socket");
    sock.set_recv_buffer_size(4096).expect("rcvbuf");
    let stream = sock.connect(server.addr).await.expect("connect");
    let mut c = WsClient::upgrade_on(stream, HOST).await;
    c.login(user, "pw", "stuck").await;
    c
}

async fn ping_answered(c: &mut WsClient, id: &str) -> bool {
    c.send_text(&format!(
        "<iq xmlns='jabber:client' type='get' id='{id}' to='{HOST}'><ping xmlns='urn:xmpp:ping'/></iq>"
    ))
    .await;
    for _ in 0..10_000 {
        let t = c.next_text().await;
        if t.contains(&format!("id='{id}'")) && t.contains("type='result'") {
            return true;
        }
    }
    false
}

/// Sends `count` messages of about 4 KiB from `from` to alice's stuck resource, checking
/// between batches whether her session is already gone.
async fn flood(server: &FaultServer, from: &mut WsClient, count: usize) -> usize {
    let body = "x".repeat(4096);
    for i in 0..count {
        from.send_text(&format!(
            "<message xmlns='jabber:client' to='alice@{HOST}/stuck' type='chat' id='f{i}'><body>{body}</body></message>"
        ))
        .await;
        if i % 100 == 99 && server.listeners.sessions() < 2 {
            return i + 1;
        }
    }
    count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_stops_reading_is_dropped_when_its_send_buffer_is_full() {
    let server = start(&base_config(
        "network_settings = { max_send_buffer_size = 65536, send_timeout = 600 }",
    ))
    .await;
    server.add_user("alice", "pw");
    server.add_user("bob", "pw");
    let _alice = stuck_client(&server, "alice").await;
    let mut bob = WsClient::connect(server.addr).await;
    bob.login("bob", "pw", "flooder").await;
    assert_eq!(server.listeners.sessions(), 2);

    let started = Instant::now();
    // 12 MiB: far more than loopback socket buffers hold, so the budget must trip.
    let sent = flood(&server, &mut bob, 3000).await;
    assert!(
        server.sessions_drop_to(1, Duration::from_secs(20)).await,
        "alice's session still alive after {sent} messages"
    );
    // send_timeout is 10 minutes: only the buffer budget can have ended it this fast.
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(ping_answered(&mut bob, "after").await, "bob still served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_stops_reading_is_dropped_after_send_timeout() {
    let server = start(&base_config("network_settings = { send_timeout = 1 }")).await;
    server.add_user("alice", "pw");
    server.add_user("bob", "pw");
    let _alice = stuck_client(&server, "alice").await;
    let mut bob = WsClient::connect(server.addr).await;
    bob.login("bob", "pw", "flooder").await;

    let sent = flood(&server, &mut bob, 3000).await;
    let flood_done = Instant::now();
    assert!(
        server.sessions_drop_to(1, Duration::from_secs(10)).await,
        "alice's session outlived send_timeout after {sent} messages"
    );
    assert!(flood_done.elapsed() < Duration::from_secs(10));
    assert!(ping_answered(&mut bob, "after").await, "bob still served");
}

/// Writes `bytes` one at a time every `gap`, returning how long until the server closed
/// the connection (None: it never did).
async fn trickle(stream: tokio::net::TcpStream, bytes: &[u8], gap: Duration) -> Option<Duration> {
    let start = Instant::now();
    let (mut rd, mut wr) = stream.into_split();
    let mut sink = Vec::new();
    for b in bytes {
        if wr.write_all(&[*b]).await.is_err() {
            return Some(start.elapsed());
        }
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout(gap, rd.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(start.elapsed()),
            Ok(Ok(n)) => sink.extend_from_slice(&chunk[..n]),
            Err(_) => {}
        }
    }
    None
}

#[tokio::test]
async fn a_slowloris_http_head_is_cut_off_by_the_header_timeout() {
    let server = start(&base_config(
        "network_settings = { ssl_handshake_timeout = 1 }",
    ))
    .await;
    let head = support::upgrade_request(HOST, "Sec-WebSocket-Protocol: xmpp\r\n");
    let stream = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let closed = trickle(stream, head.as_bytes(), Duration::from_millis(250)).await;
    let after = closed.expect("the server closed the trickling connection");
    assert!(
        after < Duration::from_secs(4),
        "closed only after {after:?}"
    );
    assert!(
        after >= Duration::from_millis(900),
        "closed too early: {after:?}"
    );
    // A normal client is still served.
    let mut c = WsClient::connect(server.addr).await;
    let (open, _) = c.open(HOST).await;
    assert!(open.contains("<open"));
}

#[tokio::test]
async fn a_slowloris_stream_after_the_upgrade_is_closed_by_c2s_timeout() {
    let server = start(&base_config("c2s_timeout = 1")).await;
    let mut c = WsClient::connect(server.addr).await;
    let started = Instant::now();
    // One byte of a masked text frame every 300 ms: never a complete <open/>.
    let open =
        format!("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='{HOST}' version='1.0'/>");
    let mut frame = vec![0x81u8, 0x80 | 126];
    frame.extend_from_slice(&(open.len() as u16).to_be_bytes());
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend_from_slice(open.as_bytes());
    let mut closed = false;
    for b in frame {
        if c.stream.write_all(&[b]).await.is_err() {
            closed = true;
            break;
        }
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout(Duration::from_millis(300), c.stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(n)) => {
                let text = String::from_utf8_lossy(&chunk[..n]).to_string();
                if text.contains("connection-timeout") {
                    closed = true;
                    break;
                }
            }
            Err(_) => {}
        }
    }
    assert!(closed, "the trickling session was never closed");
    assert!(started.elapsed() < Duration::from_secs(4));
    assert!(server.sessions_drop_to(0, Duration::from_secs(5)).await);
}

/// Found with the xml_stream fuzz target: a frame holding a complete stanza followed by
/// broken XML. The stanza parsed before the error is still routed (bob gets the message),
/// then the sender's stream is closed with `not-well-formed`.
#[tokio::test]
async fn a_stanza_before_an_xml_error_in_the_same_frame_is_still_routed() {
    let server = start(&base_config("")).await;
    server.add_user("alice", "pw");
    server.add_user("bob", "pw");
    let mut bob = WsClient::connect(server.addr).await;
    bob.login("bob", "pw", "r").await;
    let mut alice = WsClient::connect(server.addr).await;
    alice.login("alice", "pw", "r").await;
    alice
        .send_text(&format!(
            "<message xmlns='jabber:client' to='bob@{HOST}/r' type='chat' id='m1'><body>hi</body></message><a></b>"
        ))
        .await;
    let (texts, _) = alice.until_close().await;
    assert!(
        texts.iter().any(|t| t.contains("not-well-formed")),
        "not-well-formed: {texts:?}"
    );
    let got = bob.next_text().await;
    assert!(
        got.contains("id='m1'") && got.contains("<body>hi</body>"),
        "{got}"
    );
}
