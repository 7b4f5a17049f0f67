//! How a c2s TCP stream fails (reference §9.1): every error before our header still gets
//! one (`id=''`, no `from`), then `<stream:error>` and `</stream:stream>`, then the
//! connection closes; timers close silent or stuck connections.

use crate::tcp_support;

use std::time::{Duration, Instant};

use tcp_support::{TcpServer, XmppClient, HOST};

const EARLY_HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' xml:lang='en' id='' version='1.0'>";

fn stream_error(condition: &str, text: Option<&str>) -> String {
    let text = text
        .map(|t| format!("<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>{t}</text>"))
        .unwrap_or_default();
    format!(
        "<stream:error><{condition} xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>{text}</stream:error></stream:stream>"
    )
}

/// Sends `input` on a fresh plain connection and returns everything until the close.
async fn answer_to(server: &TcpServer, input: &str) -> String {
    let mut c = XmppClient::plain(server.c2s).await;
    c.send(input).await;
    let (text, closed) = c.read_to_close(Duration::from_secs(5)).await;
    assert!(closed, "connection closed after {input:?}: {text}");
    text
}

#[tokio::test]
async fn a_non_stream_first_element_is_invalid_namespace_after_a_header() {
    let server = TcpServer::start("").await;
    let text = answer_to(&server, "<message to='x'/>").await;
    assert_eq!(
        text,
        format!("{EARLY_HEADER}{}", stream_error("invalid-namespace", None))
    );
}

#[tokio::test]
async fn an_http_request_to_the_c2s_port_is_not_well_formed_as_in_prosody() {
    let server = TcpServer::start("").await;
    let text = answer_to(&server, "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n").await;
    assert_eq!(
        text,
        format!("{EARLY_HEADER}{}", stream_error("not-well-formed", None))
    );
}

#[tokio::test]
async fn header_in_the_wrong_namespace_is_invalid_namespace() {
    let server = TcpServer::start("").await;
    let text = answer_to(
        &server,
        &format!("<stream:stream to='{HOST}' version='1.0' xmlns='jabber:client' xmlns:stream='http://example.com/wrong'>"),
    )
    .await;
    assert_eq!(
        text,
        format!("{EARLY_HEADER}{}", stream_error("invalid-namespace", None))
    );
}

#[tokio::test]
async fn broken_header_is_not_well_formed() {
    let server = TcpServer::start("").await;
    let text = answer_to(
        &server,
        &format!("<stream:stream to='{HOST}' version='1.0' xmlns:stream='http://etherx.jabber.org/streams' <<>"),
    )
    .await;
    assert_eq!(
        text,
        format!("{EARLY_HEADER}{}", stream_error("not-well-formed", None))
    );
}

#[tokio::test]
async fn wrong_or_missing_to_gets_prosodys_addressing_errors() {
    let server = TcpServer::start("").await;
    let open = |to: &str| {
        format!("<stream:stream {to} version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>")
    };
    let text = answer_to(&server, &open("to='unknown.test'")).await;
    assert_eq!(
        text,
        format!(
            "{EARLY_HEADER}{}",
            stream_error(
                "host-unknown",
                Some("This server does not serve unknown.test")
            )
        )
    );
    let text = answer_to(&server, &open("")).await;
    assert_eq!(
        text,
        format!(
            "{EARLY_HEADER}{}",
            stream_error(
                "improper-addressing",
                Some("A &apos;to&apos; attribute is required on stream headers")
            )
        )
    );
    let text = answer_to(&server, &open("to='bad@@host'")).await;
    assert!(
        text.ends_with(&stream_error(
            "improper-addressing",
            Some("A valid &apos;to&apos; attribute is required on stream headers")
        )),
        "{text}"
    );
}

#[tokio::test]
async fn errors_after_the_header_do_not_repeat_it() {
    let server = TcpServer::start("").await;
    let mut c = XmppClient::plain(server.c2s).await;
    c.open(HOST).await;
    c.send("<message><unclosed></message>").await;
    let (text, closed) = c.read_to_close(Duration::from_secs(5)).await;
    assert!(closed);
    assert_eq!(text, stream_error("not-well-formed", None));
}

#[tokio::test]
async fn oversized_unauthenticated_stanza_is_a_policy_violation() {
    let server = TcpServer::start("").await;
    let mut c = XmppClient::plain(server.c2s).await;
    c.open(HOST).await;
    let big = format!("<message><body>{}</body></message>", "x".repeat(20_000));
    c.send(&big).await;
    let (text, closed) = c.read_to_close(Duration::from_secs(5)).await;
    assert!(closed);
    assert_eq!(
        text,
        "<stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>XML stanza is too big</text><stanza-too-big xmlns='urn:xmpp:errors'/></stream:error></stream:stream>"
    );
}

#[tokio::test]
async fn unauthenticated_session_is_closed_after_c2s_timeout() {
    let server = TcpServer::start("c2s_timeout = 1").await;
    let mut c = XmppClient::plain(server.c2s).await;
    let started = Instant::now();
    c.open(HOST).await;
    let (text, closed) = c.read_to_close(Duration::from_secs(5)).await;
    assert!(closed);
    assert_eq!(text, stream_error("connection-timeout", None));
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn silence_after_the_header_gets_a_whitespace_keepalive() {
    let server = TcpServer::start("network_settings = { read_timeout = 0.3 }").await;
    let mut c = XmppClient::plain(server.c2s).await;
    c.open(HOST).await;
    assert!(c.buf.is_empty());
    assert_eq!(c.read_until(" ").await, " ");
    assert_eq!(c.read_until(" ").await, " ", "keepalives repeat");
}

#[tokio::test]
async fn silent_connection_without_a_header_is_dropped_at_read_timeout() {
    let server = TcpServer::start("network_settings = { read_timeout = 0.3 }").await;
    let mut c = XmppClient::plain(server.c2s).await;
    let (text, closed) = c.read_to_close(Duration::from_secs(5)).await;
    assert!(closed);
    assert_eq!(text, "");
}

#[tokio::test]
async fn direct_tls_handshake_that_never_finishes_is_dropped_at_ssl_handshake_timeout() {
    let server = TcpServer::start("network_settings = { ssl_handshake_timeout = 0.5 }").await;
    let mut c = XmppClient::plain(server.direct_tls.expect("direct TLS port")).await;
    // Half a ClientHello record header, then nothing.
    c.send("\u{16}\u{3}\u{1}").await;
    let started = Instant::now();
    let (text, closed) = c.read_to_close(Duration::from_secs(5)).await;
    assert!(closed, "closed");
    assert_eq!(text, "");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn starttls_handshake_that_never_finishes_is_dropped_at_ssl_handshake_timeout() {
    let server = TcpServer::start("network_settings = { ssl_handshake_timeout = 0.5 }").await;
    let mut c = XmppClient::plain(server.c2s).await;
    c.open(HOST).await;
    c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        .await;
    let proceed = c.read_until("/>").await;
    assert_eq!(
        proceed,
        "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
    );
    let started = Instant::now();
    let (text, closed) = c.read_to_close(Duration::from_secs(5)).await;
    assert!(closed);
    assert_eq!(text, "");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn starttls_refused_where_no_certificate_exists() {
    let server =
        TcpServer::start("c2s_require_encryption = false\nallow_unencrypted_plain_auth = true")
            .await;
    let mut c = XmppClient::plain(server.c2s).await;
    let features = c.open(tcp_support::NOCERT).await;
    assert!(!features.contains("starttls"), "{features}");
    c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        .await;
    let (text, closed) = c.read_to_close(Duration::from_secs(5)).await;
    assert!(closed);
    assert_eq!(
        text,
        "<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>"
    );
}

#[tokio::test]
async fn a_stream_error_from_the_client_is_answered_with_the_closing_tag_only() {
    let server = TcpServer::start("").await;
    let mut c = XmppClient::plain(server.c2s).await;
    c.open(HOST).await;
    c.send("<stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>")
        .await;
    let (text, closed) = c.read_to_close(Duration::from_secs(5)).await;
    assert!(closed);
    assert_eq!(text, "</stream:stream>");
}
