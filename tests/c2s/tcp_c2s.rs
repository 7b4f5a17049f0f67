//! c2s over TCP: STARTTLS (required and optional), direct TLS, PLAIN in the clear when the
//! config allows it, SCRAM-SHA-1-PLUS with tls-exporter, and a TCP user and a WebSocket
//! user of the same host exchanging presence and messages.

use crate::support;
use crate::tcp_support;

use std::time::Duration;

use tcp_support::{TcpServer, XmppClient, HOST, NOCERT};

#[tokio::test]
async fn required_encryption_offers_only_starttls_then_sasl_after_tls() {
    let server = TcpServer::start("").await;
    server.add_user("alice", "secret");
    let mut c = XmppClient::plain(server.c2s).await;
    let head = c.open(HOST).await;
    assert!(
        head.starts_with("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' xml:lang='en' id='"),
        "{head}"
    );
    assert!(
        head.contains(&format!("from='{HOST}'")) && head.contains("version='1.0'"),
        "{head}"
    );
    assert!(
        head.contains("<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>"),
        "{head}"
    );
    assert!(!head.contains("mechanism"), "no SASL before TLS: {head}");
    c.starttls(&server.ca_path).await;
    let features = c.open(HOST).await;
    assert!(!features.contains("starttls"), "{features}");
    for m in ["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-1-PLUS"] {
        assert!(
            features.contains(&format!("<mechanism>{m}</mechanism>")),
            "{m}: {features}"
        );
    }
    let outcome = c.auth_scram_sha1("alice", "secret", None).await;
    assert!(outcome.contains("<success"), "{outcome}");
    let jid = c.bind("tcp").await;
    assert_eq!(jid, "alice@example.test/tcp");
}

#[tokio::test]
async fn sasl_before_tls_is_refused_with_encryption_required() {
    let server = TcpServer::start("").await;
    server.add_user("alice", "secret");
    let mut c = XmppClient::plain(server.c2s).await;
    c.open(HOST).await;
    let outcome = c.auth_plain("alice", "secret").await;
    assert!(outcome.contains("<encryption-required/>"), "{outcome}");
}

#[tokio::test]
async fn required_encryption_without_a_certificate_closes_for_lack_of_features() {
    let server = TcpServer::start("").await;
    let mut c = XmppClient::plain(server.c2s).await;
    c.send(&format!(
        "<stream:stream to='{NOCERT}' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
    ))
    .await;
    let (text, closed) = c.read_to_close(Duration::from_secs(5)).await;
    assert!(closed, "{text}");
    assert!(
        text.ends_with("<stream:error><undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>No stream features to proceed with</text></stream:error></stream:stream>"),
        "{text}"
    );
}

#[tokio::test]
async fn plain_in_the_clear_when_encryption_is_optional_and_plain_allowed() {
    let server =
        TcpServer::start("c2s_require_encryption = false\nallow_unencrypted_plain_auth = true")
            .await;
    server.add_user("alice", "secret");
    let mut c = XmppClient::plain(server.c2s).await;
    let features = c.open(HOST).await;
    assert!(
        features.contains("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
        "{features}"
    );
    assert!(
        features.contains("<mechanism>PLAIN</mechanism>"),
        "{features}"
    );
    assert!(
        !features.contains("PLUS"),
        "no channel binding in the clear: {features}"
    );
    let outcome = c.auth_plain("alice", "secret").await;
    assert!(outcome.contains("<success"), "{outcome}");
    assert_eq!(c.bind("clear").await, "alice@example.test/clear");
}

#[tokio::test]
async fn plain_is_hidden_in_the_clear_unless_allowed() {
    let server = TcpServer::start("c2s_require_encryption = false").await;
    let mut c = XmppClient::plain(server.c2s).await;
    let features = c.open(HOST).await;
    assert!(
        features.contains("<mechanism>SCRAM-SHA-1</mechanism>"),
        "{features}"
    );
    assert!(
        !features.contains("<mechanism>PLAIN</mechanism>"),
        "{features}"
    );
}

#[tokio::test]
async fn direct_tls_offers_no_starttls_and_scram_plus_binds_to_the_channel() {
    let server = TcpServer::start("").await;
    server.add_user("alice", "secret");
    let addr = server.direct_tls.expect("direct TLS listener");
    let mut c = XmppClient::direct_tls(addr, &server.ca_path).await;
    let features = c.open(HOST).await;
    assert!(!features.contains("starttls"), "{features}");
    assert!(
        features.contains("<mechanism>SCRAM-SHA-1-PLUS</mechanism>"),
        "{features}"
    );
    let exporter = c.exporter().expect("exporter");
    let outcome = c.auth_scram_sha1("alice", "secret", Some(&exporter)).await;
    assert!(outcome.contains("<success"), "{outcome}");
    assert_eq!(c.bind("direct").await, "alice@example.test/direct");
}

#[tokio::test]
async fn no_plus_mechanism_on_tls_1_2() {
    let server = TcpServer::start("").await;
    let addr = server.direct_tls.expect("direct TLS listener");
    let cfg = tcp_support::client_config_versions(&server.ca_path, &[&rustls::version::TLS12]);
    let mut c = XmppClient::direct_tls_with(addr, cfg).await;
    let features = c.open(HOST).await;
    assert!(
        features.contains("<mechanism>SCRAM-SHA-1</mechanism>"),
        "{features}"
    );
    assert!(!features.contains("PLUS"), "{features}");
}

#[tokio::test]
async fn scram_plus_with_another_channels_binding_fails() {
    let server = TcpServer::start("").await;
    server.add_user("alice", "secret");
    let mut c = XmppClient::plain(server.c2s).await;
    c.open(HOST).await;
    c.starttls(&server.ca_path).await;
    c.open(HOST).await;
    let outcome = c.auth_scram_sha1("alice", "secret", Some(&[0u8; 32])).await;
    assert!(outcome.contains("<malformed-request/>"), "{outcome}");
    assert!(
        outcome.contains("Invalid channel binding value."),
        "{outcome}"
    );
    // The right binding after STARTTLS works.
    let exporter = c.exporter().expect("exporter");
    let outcome = c.auth_scram_sha1("alice", "secret", Some(&exporter)).await;
    assert!(outcome.contains("<success"), "{outcome}");
}

#[tokio::test]
async fn tcp_and_websocket_users_see_each_others_presence_and_messages() {
    let server = TcpServer::start("c2s_require_encryption = false\nallow_unencrypted_plain_auth = true\nconsider_websocket_secure = true").await;
    server.add_user("alice", "secret");
    server.add_user("bob", "secret");
    let mut tcp = XmppClient::plain(server.c2s).await;
    tcp.open(HOST).await;
    tcp.starttls(&server.ca_path).await;
    tcp.open(HOST).await;
    assert!(tcp.auth_plain("alice", "secret").await.contains("<success"));
    let alice = tcp.bind("tcp").await;
    tcp.send("<presence/>").await;
    // Each user's initial presence comes back to itself once the core has it.
    let got = tcp.read_until("/>").await;
    assert!(
        got.starts_with("<presence ") && got.contains(&format!(" from='{alice}'")),
        "{got}"
    );

    let mut ws = support::WsClient::connect(server.http).await;
    let bob = ws.login("bob", "secret", "web").await;
    ws.send_text("<presence xmlns='jabber:client'/>").await;
    let got = ws.next_text().await;
    assert!(got.contains(&format!("from='{bob}'")), "{got}");

    // Directed presence both ways (no roster subscription needed).
    tcp.send("<presence to='bob@example.test'/>").await;
    let got = ws.next_text().await;
    assert!(
        got.starts_with("<presence") && got.contains(&format!("from='{alice}'")),
        "{got}"
    );
    ws.send_text("<presence xmlns='jabber:client' to='alice@example.test'/>")
        .await;
    let got = tcp.read_until("/>").await;
    assert!(
        got.contains("<presence") && got.contains(&format!("from='{bob}'")),
        "{got}"
    );

    tcp.send("<message to='bob@example.test' type='chat' id='m1'><body>hi from tcp &amp; co</body></message>").await;
    let got = ws.next_text().await;
    assert!(
        got.contains("<body>hi from tcp &amp; co</body>")
            && got.contains(&format!("from='{alice}'")),
        "{got}"
    );
    ws.send_text(&format!(
        "<message xmlns='jabber:client' to='{alice}' type='chat' id='m2'><body>hi from ws</body></message>"
    ))
    .await;
    let got = tcp.read_until("</message>").await;
    assert!(
        got.contains("<body>hi from ws</body>") && got.contains(&format!("from='{bob}'")),
        "{got}"
    );
    assert!(
        !got.contains("xmlns='jabber:client'"),
        "TCP stanzas carry no default xmlns: {got}"
    );

    // A clean close from the client is answered with the closing tag.
    tcp.send("</stream:stream>").await;
    let (rest, closed) = tcp.read_to_close(Duration::from_secs(5)).await;
    assert!(closed && rest.ends_with("</stream:stream>"), "{rest}");
}
