//! Hostile peers: a server that never answers, one that sends garbage, one that claims
//! another domain, one that floods — each cut with the stream error Prosody sends, while a
//! bystander on the same server keeps getting fast answers (ping p99 < 50 ms).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::client::Client;
use super::dns::TestDns;
use super::node::{Node, NodeSpec, TestCa, PASSWORD};

const A_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const SILENT_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 5);

/// Reads until `needle` or the peer closes (within 15 s); returns what came.
async fn read_until<S: AsyncRead + Unpin>(s: &mut S, needle: &str) -> String {
    let mut buf = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let text = String::from_utf8_lossy(&buf).to_string();
        if text.contains(needle) {
            return text;
        }
        let mut chunk = [0u8; 4096];
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, s.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => return text,
        }
    }
}

async fn send<S: AsyncWrite + Unpin>(s: &mut S, data: &str) {
    s.write_all(data.as_bytes()).await.expect("write");
}

fn header(from: &str, to: &str) -> String {
    format!("<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' from='{from}' to='{to}' version='1.0'>")
}

/// Pings the server from a logged-in bystander `n` times; returns the p99 round trip.
async fn ping_p99(c: &mut Client, n: usize) -> Duration {
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        c.send(&format!(
            "<iq type='get' id='bp{i}'><ping xmlns='urn:xmpp:ping'/></iq>"
        ))
        .await;
        c.read_until(&format!("id='bp{i}'")).await;
        times.push(t.elapsed());
    }
    times.sort();
    times[(n * 99 / 100).min(n - 1)]
}

async fn server() -> (TestDns, TestCa, Node) {
    let dns = TestDns::start().await;
    let ca = TestCa::new();
    let a = Node::start(
        NodeSpec::new("a.test", A_IP).extra("s2s_timeout = 3\ns2s_stanza_size_limit = 20000"),
        &ca,
        &dns,
    )
    .await;
    a.add_user("alice");
    a.add_user("bystander");
    (dns, ca, a)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_never_answers_is_timed_out_and_the_message_bounced() {
    let (dns, _ca, a) = server().await;
    let silent = TcpListener::bind(SocketAddr::new(SILENT_IP.into(), 0))
        .await
        .expect("bind silent peer");
    dns.srv(
        "silent.test",
        false,
        "xmpp.silent.test",
        silent.local_addr().expect("addr").port(),
    );
    dns.a("xmpp.silent.test", SILENT_IP);
    let peer = tokio::spawn(async move {
        let (mut s, _) = silent.accept().await.expect("accept");
        // Reads what Lilt sends and never answers.
        read_until(&mut s, "connection-timeout").await
    });
    let mut alice = Client::login(a.c2s, "a.test", "alice", PASSWORD).await;
    let mut bystander = Client::login(a.c2s, "a.test", "bystander", PASSWORD).await;
    alice
        .send("<message to='x@silent.test' id='m1'><body>hello?</body></message>")
        .await;
    let p99 = ping_p99(&mut bystander, 100).await;
    let got = alice.read_until("</message>").await;
    assert!(
        got.contains("type='error'") && got.contains("remote-server-"),
        "{got}"
    );
    let seen = peer.await.expect("peer task");
    assert!(
        seen.contains("<connection-timeout"),
        "the silent peer got: {seen}"
    );
    assert!(
        p99 < Duration::from_millis(50),
        "bystander ping p99 {p99:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_from_a_peer_is_answered_with_not_well_formed() {
    let (_dns, _ca, a) = server().await;
    let mut bystander = Client::login(a.c2s, "a.test", "bystander", PASSWORD).await;
    let mut s = TcpStream::connect(a.s2s).await.expect("connect");
    send(&mut s, &header("evil.test", "a.test")).await;
    send(&mut s, "<<<this is not xml>>>").await;
    let got = read_until(&mut s, "</stream:stream>").await;
    assert!(got.contains("<not-well-formed"), "{got}");
    let p99 = ping_p99(&mut bystander, 50).await;
    assert!(
        p99 < Duration::from_millis(50),
        "bystander ping p99 {p99:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stanzas_on_an_unauthenticated_stream_are_refused_with_not_authorized() {
    let (_dns, _ca, a) = server().await;
    let mut s = TcpStream::connect(a.s2s).await.expect("connect");
    send(&mut s, &header("b.test", "a.test")).await;
    read_until(&mut s, "</stream:features>").await;
    send(
        &mut s,
        "<message from='mallory@b.test' to='alice@a.test'><body>x</body></message>",
    )
    .await;
    let got = read_until(&mut s, "</stream:stream>").await;
    assert!(got.contains("<not-authorized"), "{got}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_to_a_host_we_do_not_serve_gets_host_unknown() {
    let (_dns, _ca, a) = server().await;
    let mut s = TcpStream::connect(a.s2s).await.expect("connect");
    send(&mut s, &header("b.test", "elsewhere.test")).await;
    let got = read_until(&mut s, "</stream:stream>").await;
    assert!(got.contains("<host-unknown"), "{got}");
    assert!(
        got.contains("This host does not serve elsewhere.test"),
        "{got}"
    );
}

/// A peer authenticated (by its certificate) as evil.test sends a stanza from b.test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_claiming_another_domain_is_cut_with_not_authorized() {
    let (_dns, ca, a) = server().await;
    let dir = tempfile::tempdir().expect("tmp");
    ca.issue(dir.path(), "evil.test", false);
    let certs = dir.path().join("certs");
    let cert_pem = std::fs::read(certs.join("evil.test.crt")).expect("crt");
    let key_pem = std::fs::read(certs.join("evil.test.key")).expect("key");
    let chain: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut &cert_pem[..])
        .collect::<Result<_, _>>()
        .expect("pem");
    let key = rustls_pemfile::pkcs8_private_keys(&mut &key_pem[..])
        .next()
        .expect("one key")
        .expect("key pem");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.cert.der().clone()).expect("root");
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_client_auth_cert(
            chain,
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.secret_pkcs8_der().to_vec())),
        )
        .expect("client auth");

    let mut tcp = TcpStream::connect(a.s2s).await.expect("connect");
    send(&mut tcp, &header("evil.test", "a.test")).await;
    read_until(&mut tcp, "</stream:features>").await;
    send(
        &mut tcp,
        "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
    )
    .await;
    read_until(&mut tcp, "<proceed").await;
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("a.test").expect("name"), tcp)
        .await
        .expect("TLS");
    send(&mut tls, &header("evil.test", "a.test")).await;
    let features = read_until(&mut tls, "</stream:features>").await;
    assert!(features.contains("EXTERNAL"), "{features}");
    let authzid = B64.encode("evil.test");
    send(
        &mut tls,
        &format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>{authzid}</auth>"
        ),
    )
    .await;
    let got = read_until(&mut tls, "<success").await;
    assert!(got.contains("<success"), "{got}");
    send(&mut tls, &header("evil.test", "a.test")).await;
    read_until(&mut tls, "</stream:features>").await;
    send(
        &mut tls,
        "<message from='mallory@b.test' to='alice@a.test'><body>I am b.test</body></message>",
    )
    .await;
    let got = read_until(&mut tls, "</stream:stream>").await;
    assert!(got.contains("<not-authorized"), "{got}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_oversized_stanzas_is_cut_while_the_bystander_is_served() {
    let (_dns, _ca, a) = server().await;
    let mut bystander = Client::login(a.c2s, "a.test", "bystander", PASSWORD).await;
    let addr = a.s2s;
    let flood = tokio::spawn(async move {
        let mut outcomes = Vec::new();
        for _ in 0..20 {
            let mut s = TcpStream::connect(addr).await.expect("connect");
            send(&mut s, &header("flood.test", "a.test")).await;
            let big = format!(
                "<message to='alice@a.test'><body>{}</body></message>",
                "x".repeat(64 * 1024)
            );
            let _ = s.write_all(big.as_bytes()).await;
            outcomes.push(read_until(&mut s, "</stream:stream>").await);
        }
        outcomes
    });
    let p99 = ping_p99(&mut bystander, 100).await;
    let outcomes = flood.await.expect("flood task");
    for got in &outcomes {
        assert!(got.contains("<policy-violation"), "{got}");
    }
    assert!(
        p99 < Duration::from_millis(50),
        "bystander ping p99 {p99:?}"
    );
}

/// `limits.s2sin` (mod_limits) throttles what an incoming stream may send: reading stops
/// while the budget is spent, so a flood takes its time and the server stays free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_s2sin_throttles_an_incoming_flood() {
    let dns = TestDns::start().await;
    let ca = TestCa::new();
    let extra = "limits = { s2sin = { rate = \"4kb/s\", burst = \"1s\" } }\n\
                 modules_enabled = { \"tls\", \"dialback\", \"roster\", \"ping\", \"saslauth\", \"limits\" }";
    let a = Node::start(NodeSpec::new("a.test", A_IP).extra(extra), &ca, &dns).await;
    a.add_user("bystander");
    let mut bystander = Client::login(a.c2s, "a.test", "bystander", PASSWORD).await;
    let mut s = TcpStream::connect(a.s2s).await.expect("connect");
    let start = Instant::now();
    send(&mut s, &header("flood.test", "a.test")).await;
    // 16 KB of whitespace between elements (allowed), then an element that ends the stream.
    let pad = " ".repeat(16 * 1024);
    send(&mut s, &pad).await;
    send(&mut s, "<bogus xmlns='urn:example'/>").await;
    let p99 = ping_p99(&mut bystander, 20).await;
    let got = read_until(&mut s, "</stream:stream>").await;
    let took = start.elapsed();
    assert!(got.contains("<unsupported-stanza-type"), "{got}");
    assert!(
        took >= Duration::from_secs(2),
        "16 KB at 4 KB/s took only {took:?}"
    );
    assert!(
        p99 < Duration::from_millis(50),
        "bystander ping p99 {p99:?}"
    );
}
