//! XMPP over WebSocket against a real listener: the handshake, every frame rule and close
//! code of reference §5.5, the closing sequences and stream errors of §5.7, and hostile
//! input that must not disturb other clients.

use crate::support;

use support::*;

async fn server() -> Server {
    Server::start(&base_config("")).await
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[tokio::test]
async fn upgrade_answers_101_with_rfc7395_headers() {
    let s = server().await;
    let c = WsClient::connect(s.addr).await;
    let h = &c.response_head;
    assert_eq!(
        header(h, "upgrade").map(str::to_ascii_lowercase).as_deref(),
        Some("websocket")
    );
    assert_eq!(
        header(h, "connection")
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("upgrade")
    );
    assert_eq!(
        header(h, "sec-websocket-accept"),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    );
    assert_eq!(header(h, "sec-websocket-protocol"), Some("xmpp"));
    assert!(header(h, "date").is_some(), "Date header: {h}");
    assert!(
        header(h, "content-length").is_none(),
        "no Content-Length: {h}"
    );
}

#[tokio::test]
async fn upgrade_without_xmpp_subprotocol_is_501() {
    let s = server().await;
    let (head, _, _) = http_request(
        s.addr,
        &upgrade_request(HOST, "Sec-WebSocket-Protocol: chat\r\n"),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 501"), "{head}");
    let (head, _, _) = http_request(s.addr, &upgrade_request(HOST, "")).await;
    assert!(head.starts_with("HTTP/1.1 501"), "{head}");
}

#[tokio::test]
async fn subprotocol_token_is_case_insensitive_in_a_list() {
    let s = server().await;
    let c = WsClient::connect_with(s.addr, "Sec-WebSocket-Protocol: foo, XMPP\r\n").await;
    assert!(c.response_head.starts_with("HTTP/1.1 101"));
}

#[tokio::test]
async fn plain_get_shows_the_endpoint_page() {
    let s = server().await;
    let (head, body) = http_get(
        s.addr,
        &format!("GET /xmpp-websocket HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        header(&head, "content-type")
            .unwrap_or("")
            .starts_with("text/html"),
        "{head}"
    );
    assert!(body.contains("WebSocket"), "{body}");
    assert!(body.contains("not considered secure"), "{body}");
}

#[tokio::test]
async fn open_reply_carries_framing_namespace_host_id_and_version() {
    let s = server().await;
    let mut c = WsClient::connect(s.addr).await;
    let (open, features) = c.open(HOST).await;
    assert!(open.starts_with("<open"), "{open}");
    assert!(
        open.contains("xmlns='urn:ietf:params:xml:ns:xmpp-framing'"),
        "{open}"
    );
    assert!(open.contains(&format!("from='{HOST}'")), "{open}");
    assert!(open.contains("version='1.0'"), "{open}");
    assert!(open.contains("xml:lang='en'"), "{open}");
    let id_start = open.find("id='").expect("id attribute") + 4;
    assert!(
        open[id_start..].find('\'').unwrap_or(0) > 8,
        "non-trivial id: {open}"
    );
    assert!(features.starts_with("<stream:features"), "{features}");
    assert!(
        features.contains("xmlns:stream='http://etherx.jabber.org/streams'"),
        "{features}"
    );
    assert!(
        features.contains("<mechanism>SCRAM-SHA-1</mechanism>"),
        "{features}"
    );
    assert!(
        features.contains("<mechanism>PLAIN</mechanism>"),
        "{features}"
    );
}

#[tokio::test]
async fn legacy_stream_stream_frames_work() {
    let s = server().await;
    let mut c = WsClient::connect(s.addr).await;
    c.send_text(&format!("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='{HOST}' version='1.0'>")).await;
    let open = c.next_text().await;
    assert!(open.contains(&format!("from='{HOST}'")), "{open}");
    let features = c.next_text().await;
    assert!(features.contains("mechanisms"), "{features}");
}

#[tokio::test]
async fn frame_rules_of_section_5_5_close_with_the_right_codes() {
    let s = server().await;
    let cases: Vec<(u8, Vec<u8>, u16, &str)> = vec![
        (0xC1, b"<a/>".to_vec(), 1002, "Reserved bits not zero"),
        (
            0x88,
            vec![0x03],
            1002,
            "Close frame with payload, but too short for status code",
        ),
        (
            0x88,
            999u16.to_be_bytes().to_vec(),
            1002,
            "Closed with invalid/reserved status code",
        ),
        (
            0x88,
            1005u16.to_be_bytes().to_vec(),
            1002,
            "Closed with invalid/reserved status code",
        ),
        (
            0x88,
            2000u16.to_be_bytes().to_vec(),
            1002,
            "Closed with invalid/reserved status code",
        ),
        (
            0x89,
            vec![b'x'; 126],
            1002,
            "Control frame payload too long",
        ),
        (0x83, b"x".to_vec(), 1002, "Reserved opcode"),
        (0x8B, b"x".to_vec(), 1002, "Reserved opcode"),
        (
            0x82,
            b"<a/>".to_vec(),
            1003,
            "Only text frames are supported, RFC 7395 3.2",
        ),
        (
            0x01,
            b"<a".to_vec(),
            1003,
            "Continuation frames are not supported, RFC 7395 3.3.3",
        ),
        (
            0x81,
            b"hello".to_vec(),
            1007,
            "Invalid payload start character, RFC 7395 3.3.3",
        ),
        (0x88, 1000u16.to_be_bytes().to_vec(), 1000, "Goodbye"),
    ];
    for (first, payload, code, reason) in cases {
        let mut c = WsClient::connect(s.addr).await;
        c.send_frame(first, &payload, true).await;
        let (_, close) = c.until_close().await;
        let (got_code, got_reason) = close.unwrap_or_else(|| panic!("close frame for {first:#x}"));
        assert_eq!(got_code, Some(code), "frame {first:#x}: {got_reason}");
        if code != 1002 || !reason.starts_with("Control") {
            assert_eq!(got_reason, reason, "frame {first:#x}");
        }
    }
}

#[tokio::test]
async fn control_frame_without_fin_is_a_protocol_error() {
    let s = server().await;
    let mut c = WsClient::connect(s.addr).await;
    c.send_frame(0x09, b"p", true).await;
    let (_, close) = c.until_close().await;
    assert_eq!(close.map(|c| c.0), Some(Some(1002)));
}

#[tokio::test]
async fn unmasked_client_frames_are_accepted_and_pings_answered() {
    let s = server().await;
    let mut c = WsClient::connect(s.addr).await;
    c.send_frame(0x89, b"hello", false).await;
    assert_eq!(c.next_frame().await, Some(WsFrame::Pong(b"hello".to_vec())));
    c.send_frame(0x8A, b"unsolicited", true).await;
    c.send_frame(0x80, b"", true).await; // continuation with FIN: ignored
    let (open, _) = c.open(HOST).await;
    assert!(open.contains("<open"));
}

#[tokio::test]
async fn frame_larger_than_stanza_limit_is_policy_violation() {
    let s = Server::start(&base_config("c2s_stanza_size_limit = 1000")).await;
    let mut c = WsClient::connect(s.addr).await;
    // Only the header of a 1 GB frame: refused before any payload arrives.
    c.send_raw(&[0x81, 0xFF, 0, 0, 0, 0, 0x40, 0, 0, 0, 1, 2, 3, 4])
        .await;
    let (texts, close) = c.until_close().await;
    let joined = texts.join("");
    assert!(joined.contains("<policy-violation"), "{joined}");
    assert!(
        joined.contains("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'"),
        "{joined}"
    );
    assert_eq!(close, Some((Some(1000), "Stream closed".into())));
}

#[tokio::test]
async fn client_close_gets_close_then_1000_stream_closed() {
    let s = server().await;
    let mut c = WsClient::connect(s.addr).await;
    c.open(HOST).await;
    c.send_text("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>")
        .await;
    let (texts, close) = c.until_close().await;
    assert_eq!(
        texts,
        vec!["<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>".to_string()]
    );
    assert_eq!(close, Some((Some(1000), "Stream closed".into())));
}

async fn stream_error_on_open(open: &str) -> String {
    let s = server().await;
    let mut c = WsClient::connect(s.addr).await;
    c.send_text(open).await;
    let (texts, close) = c.until_close().await;
    assert_eq!(close, Some((Some(1000), "Stream closed".into())));
    texts.join("")
}

#[tokio::test]
async fn unknown_host_is_host_unknown() {
    let t = stream_error_on_open(
        "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='nowhere.test' version='1.0'/>",
    )
    .await;
    assert!(
        t.contains("<host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"),
        "{t}"
    );
    assert!(t.contains("This server does not serve nowhere.test"), "{t}");
}

#[tokio::test]
async fn missing_to_is_improper_addressing() {
    let t =
        stream_error_on_open("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' version='1.0'/>")
            .await;
    assert!(t.contains("<improper-addressing"), "{t}");
}

#[tokio::test]
async fn doctype_and_entities_are_not_well_formed() {
    let s = server().await;
    let mut c = WsClient::connect(s.addr).await;
    c.open(HOST).await;
    c.send_text("<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;\">]>")
        .await;
    let (texts, close) = c.until_close().await;
    assert!(texts.join("").contains("<not-well-formed"), "{texts:?}");
    assert_eq!(close.map(|c| c.0), Some(Some(1000)));
}

#[tokio::test]
async fn deep_nesting_is_refused() {
    let s = server().await;
    let mut c = WsClient::connect(s.addr).await;
    c.open(HOST).await;
    let deep = "<a>".repeat(10_000);
    c.send_text(&deep).await;
    let (texts, close) = c.until_close().await;
    let t = texts.join("");
    assert!(
        t.contains("<not-well-formed") || t.contains("<policy-violation"),
        "{t}"
    );
    assert!(close.is_some());
}

#[tokio::test]
async fn invalid_utf8_closes_the_connection() {
    let s = server().await;
    let mut c = WsClient::connect(s.addr).await;
    c.open(HOST).await;
    c.send_frame(0x81, &[b'<', 0xff, 0xfe, b'>'], true).await;
    let (_, close) = c.until_close().await;
    let code = close.and_then(|c| c.0);
    assert!(matches!(code, Some(1007) | Some(1000)), "{code:?}");
}

#[tokio::test]
async fn stanza_without_jabber_client_namespace_is_unsupported() {
    let s = server().await;
    s.add_user("alice", "secret");
    let mut c = WsClient::connect(s.addr).await;
    c.login("alice", "secret", "r1").await;
    c.send_text("<iq type='get' id='x'><ping xmlns='urn:xmpp:ping'/></iq>")
        .await;
    let (texts, _) = c.until_close().await;
    assert!(
        texts.join("").contains("<unsupported-stanza-type"),
        "{texts:?}"
    );
}

#[tokio::test]
async fn second_login_with_same_resource_replaces_the_first() {
    let s = server().await;
    s.add_user("alice", "secret");
    let mut a = WsClient::connect(s.addr).await;
    assert_eq!(
        a.login("alice", "secret", "r1").await,
        format!("alice@{HOST}/r1")
    );
    let mut b = WsClient::connect(s.addr).await;
    assert_eq!(
        b.login("alice", "secret", "r1").await,
        format!("alice@{HOST}/r1")
    );
    let (texts, close) = a.until_close().await;
    let t = texts.join("");
    assert!(t.contains("<conflict"), "{t}");
    assert!(t.contains("Replaced by new connection"), "{t}");
    assert_eq!(close.map(|c| c.0), Some(Some(1000)));
}

#[tokio::test]
async fn shutdown_closes_sessions_with_system_shutdown() {
    let s = server().await;
    s.add_user("alice", "secret");
    let mut a = WsClient::connect(s.addr).await;
    a.login("alice", "secret", "r1").await;
    s.shutdown_sessions().await;
    let (texts, close) = a.until_close().await;
    assert!(texts.join("").contains("<system-shutdown"), "{texts:?}");
    assert_eq!(close.map(|c| c.0), Some(Some(1000)));
}

#[tokio::test]
async fn insecure_session_with_required_encryption_has_no_features() {
    let s = Server::start(&base_config("").replace(
        "c2s_require_encryption = false",
        "c2s_require_encryption = true",
    ))
    .await;
    let mut c = WsClient::connect(s.addr).await;
    c.send_text(&format!(
        "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='{HOST}' version='1.0'/>"
    ))
    .await;
    let (texts, close) = c.until_close().await;
    let t = texts.join("");
    assert!(t.contains("<undefined-condition"), "{t}");
    assert!(t.contains("No stream features to proceed with"), "{t}");
    assert_eq!(close.map(|c| c.0), Some(Some(1000)));
}

#[tokio::test]
async fn messages_flow_between_two_users_and_iq_errors_follow_prosody() {
    let s = server().await;
    s.add_user("alice", "secret");
    s.add_user("bob", "hunter2");
    let mut a = WsClient::connect(s.addr).await;
    a.login("alice", "secret", "web").await;
    let mut b = WsClient::connect(s.addr).await;
    b.login("bob", "hunter2", "web").await;
    b.send_text("<presence xmlns='jabber:client'/>").await;
    let reflected = b.next_text().await;
    assert!(reflected.contains("<presence"), "{reflected}");
    a.send_text(&format!("<message xmlns='jabber:client' to='bob@{HOST}' type='chat' id='m1'><body>hi bob</body></message>")).await;
    let got = b.next_text().await;
    assert!(got.contains("<body>hi bob</body>"), "{got}");
    assert!(got.contains(&format!("from='alice@{HOST}/web'")), "{got}");
    // Ping the server, and an unknown IQ gets service-unavailable.
    a.send_text(&format!("<iq xmlns='jabber:client' type='get' id='p1' to='{HOST}'><ping xmlns='urn:xmpp:ping'/></iq>")).await;
    let pong = a.next_text().await;
    assert!(
        pong.contains("type='result'") && pong.contains("id='p1'"),
        "{pong}"
    );
    a.send_text(&format!("<iq xmlns='jabber:client' type='get' id='u1' to='{HOST}'><q xmlns='urn:example:unknown'/></iq>")).await;
    let err = a.next_text().await;
    assert!(
        err.contains("type='error'") && err.contains("<service-unavailable"),
        "{err}"
    );
    // A malformed destination.
    a.send_text("<message xmlns='jabber:client' to='a@b@c' id='m2'><body>x</body></message>")
        .await;
    let err = a.next_text().await;
    assert!(err.contains("<jid-malformed"), "{err}");
    // An IQ to a full JID reaches that client.
    a.send_text(&format!("<iq xmlns='jabber:client' type='get' id='v1' to='bob@{HOST}/web'><query xmlns='jabber:iq:version'/></iq>")).await;
    let at_bob = b.next_text().await;
    assert!(
        at_bob.contains("id='v1'") && at_bob.contains("jabber:iq:version"),
        "{at_bob}"
    );
}

#[tokio::test]
async fn many_connections_dropped_mid_handshake_do_not_disturb_a_client() {
    let s = server().await;
    s.add_user("alice", "secret");
    let mut a = WsClient::connect(s.addr).await;
    a.login("alice", "secret", "steady").await;
    let addr = s.addr;
    let mut tasks = Vec::new();
    for i in 0..2000 {
        tasks.push(tokio::spawn(async move {
            if let Ok(mut t) = tokio::net::TcpStream::connect(addr).await {
                use tokio::io::AsyncWriteExt;
                let req = upgrade_request(HOST, "Sec-WebSocket-Protocol: xmpp\r\n");
                let cut = (i * 7) % req.len();
                let _ = t.write_all(&req.as_bytes()[..cut]).await;
            }
        }));
        if i % 100 == 0 {
            a.send_text(&format!("<iq xmlns='jabber:client' type='get' id='p{i}' to='{HOST}'><ping xmlns='urn:xmpp:ping'/></iq>")).await;
            let pong = a.next_text().await;
            assert!(pong.contains(&format!("id='p{i}'")), "{pong}");
        }
    }
    for t in tasks {
        let _ = t.await;
    }
    a.send_text(&format!("<iq xmlns='jabber:client' type='get' id='last' to='{HOST}'><ping xmlns='urn:xmpp:ping'/></iq>")).await;
    assert!(a.next_text().await.contains("id='last'"));
}

#[tokio::test]
async fn silence_for_read_timeout_gets_an_empty_ping() {
    let s = Server::start(&base_config("network_settings = { read_timeout = 1 }")).await;
    let mut c = WsClient::connect(s.addr).await;
    c.open(HOST).await;
    let started = std::time::Instant::now();
    let frame = c.next_frame().await;
    assert_eq!(frame, Some(WsFrame::Ping(Vec::new())));
    let waited = started.elapsed();
    assert!(
        waited >= std::time::Duration::from_millis(900),
        "{waited:?}"
    );
}

#[tokio::test]
async fn ping_to_own_bare_jid_session_iq_and_disco_items_are_answered() {
    let s = server().await;
    s.add_user("alice", "secret");
    let mut a = WsClient::connect(s.addr).await;
    a.login("alice", "secret", "r").await;
    a.send_text(&format!("<iq xmlns='jabber:client' type='get' id='b' to='alice@{HOST}'><ping xmlns='urn:xmpp:ping'/></iq>")).await;
    let r = a.next_text().await;
    assert!(r.contains("type='result'") && r.contains("id='b'"), "{r}");
    a.send_text("<iq xmlns='jabber:client' type='set' id='s'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>").await;
    let r = a.next_text().await;
    assert!(r.contains("type='result'") && r.contains("id='s'"), "{r}");
    a.send_text(&format!("<iq xmlns='jabber:client' type='get' id='d' to='{HOST}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")).await;
    let r = a.next_text().await;
    assert!(
        r.contains("category='server'") && r.contains("type='im'"),
        "{r}"
    );
    assert!(r.contains("var='urn:xmpp:ping'"), "{r}");
    a.send_text(&format!("<iq xmlns='jabber:client' type='get' id='i' to='{HOST}'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>")).await;
    let r = a.next_text().await;
    assert!(
        r.contains("type='result'") && r.contains("disco#items"),
        "{r}"
    );
}

#[tokio::test]
async fn conflict_resolve_kick_new_refuses_the_second_bind() {
    let s = Server::start(&base_config("conflict_resolve = \"kick_new\"")).await;
    s.add_user("alice", "secret");
    let mut a = WsClient::connect(s.addr).await;
    a.login("alice", "secret", "r1").await;
    let mut b = WsClient::connect(s.addr).await;
    use base64::Engine;
    b.open(HOST).await;
    let payload = base64::engine::general_purpose::STANDARD.encode("\0alice\0secret");
    b.send_text(&format!(
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{payload}</auth>"
    ))
    .await;
    assert!(b.next_text().await.contains("<success"));
    b.open(HOST).await;
    b.send_text("<iq xmlns='jabber:client' type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r1</resource></bind></iq>").await;
    let r = b.next_text().await;
    assert!(
        r.contains("<conflict") && r.contains("Resource already exists"),
        "{r}"
    );
    // The first session is untouched.
    a.send_text(&format!("<iq xmlns='jabber:client' type='get' id='still' to='{HOST}'><ping xmlns='urn:xmpp:ping'/></iq>")).await;
    assert!(a.next_text().await.contains("id='still'"));
}
