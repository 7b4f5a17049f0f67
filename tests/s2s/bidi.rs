//! Bidirectional s2s streams (XEP-0288, mod_s2s_bidi). The server that opens the stream is
//! left out of DNS, so the other server cannot connect back: every answer it gets proves
//! the one stream carried both directions. Lilt <-> Lilt, Lilt -> Prosody 0.12 and
//! Prosody 0.12 -> Lilt, each with certificates (`s2s_secure_auth = true`).

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use lilt::core::Shared;
use lilt::modules::s2s::routes;

use super::client::Client;
use super::dns::TestDns;
use super::node::{Node, NodeSpec, TestCa, PASSWORD};
use super::prosody::{self, Prosody, LILT_DOMAIN, LILT_IP, PROSODY_DOMAIN};

const A_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const B_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);

const LILT_BIDI: &str = r#"s2s_secure_auth = true
modules_enabled = { "tls", "dialback", "roster", "ping", "disco", "saslauth", "s2s_bidi" }"#;
const LILT_PLAIN: &str = "s2s_secure_auth = true";
const PROSODY_BIDI: &str = r#"s2s_secure_auth = true
modules_enabled = { "saslauth", "tls", "dialback", "roster", "disco", "ping", "presence", "s2s_bidi" }"#;

/// The node's incoming bidi streams serving as routes, as (local, remote).
async fn bidi_routes(shared: &Arc<Shared>) -> Vec<(String, String)> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    routes::on_core(shared, move |core| {
        let _ = tx.send(routes::bidi_routes(core));
    });
    rx.await.expect("core answers")
}

fn unpublished(domain: &'static str, ip: Ipv4Addr, extra: &'static str) -> NodeSpec<'static> {
    let mut spec = NodeSpec::new(domain, ip).extra(extra);
    spec.publish = false;
    spec
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_lilts_with_s2s_bidi_federate_over_the_one_stream_the_unlisted_one_opened() {
    let dns = TestDns::start().await;
    let ca = TestCa::new();
    let a = Node::start(unpublished("a.test", A_IP, LILT_BIDI), &ca, &dns).await;
    let b = Node::start(NodeSpec::new("b.test", B_IP).extra(LILT_BIDI), &ca, &dns).await;
    a.add_user("alice");
    b.add_user("bob");
    // Subscriptions, presence and messages both ways: b.test's half can only travel on
    // the stream a.test opened.
    super::lilt_pair::assert_federate(&a, &b).await;
    assert_eq!(
        bidi_routes(&b.shared).await,
        [("b.test".to_owned(), "a.test".to_owned())]
    );
    assert!(bidi_routes(&a.shared).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_s2s_bidi_on_the_receiving_server_its_answers_cannot_reach_an_unlisted_server() {
    let dns = TestDns::start().await;
    let ca = TestCa::new();
    let a = Node::start(unpublished("a.test", A_IP, LILT_BIDI), &ca, &dns).await;
    let b = Node::start(NodeSpec::new("b.test", B_IP).extra(LILT_PLAIN), &ca, &dns).await;
    a.add_user("alice");
    b.add_user("bob");
    let mut alice = Client::login(a.c2s, &a.domain, "alice", PASSWORD).await;
    let mut bob = Client::login(b.c2s, &b.domain, "bob", PASSWORD).await;
    bob.send("<presence/>").await;
    alice.send("<presence/>").await;
    alice
        .send("<message to='bob@b.test/r' type='chat'><body>ping</body></message>")
        .await;
    bob.read_until("ping").await;
    bob.send("<message to='alice@a.test' id='back' type='chat'><body>pong</body></message>")
        .await;
    let got = bob.read_tag("remote-server-not-found").await;
    assert!(got.contains("id='back'"), "{got}");
    assert!(bidi_routes(&b.shared).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lilt_opens_a_bidi_stream_to_prosody_and_prosody_answers_over_it() {
    if !prosody::prosody_installed() {
        return;
    }
    let dns = TestDns::start().await;
    let ca = TestCa::new();
    let lilt = Node::start(unpublished(LILT_DOMAIN, LILT_IP, LILT_BIDI), &ca, &dns).await;
    lilt.add_user("alice");
    let prosody = Prosody::start(&ca, &dns, false, PROSODY_BIDI);
    prosody::assert_federate(&lilt, &prosody).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prosody_opens_a_bidi_stream_to_lilt_and_lilt_answers_over_it() {
    if !prosody::prosody_installed() {
        return;
    }
    let dns = TestDns::start().await;
    let ca = TestCa::new();
    let lilt = Node::start(
        NodeSpec::new(LILT_DOMAIN, LILT_IP).extra(LILT_BIDI),
        &ca,
        &dns,
    )
    .await;
    lilt.add_user("alice");
    let prosody = Prosody::start(&ca, &dns, false, PROSODY_BIDI);
    // Lilt cannot find Prosody: its answers must ride on the stream Prosody opens.
    dns.forget(PROSODY_DOMAIN);
    let log = || prosody.log();
    let mut alice = Client::login(lilt.c2s, LILT_DOMAIN, "alice", PASSWORD).await;
    let mut pete = Client::login(prosody.c2s, PROSODY_DOMAIN, "pete", PASSWORD).await;
    let (alice_jid, pete_jid) = (lilt.jid("alice"), format!("pete@{PROSODY_DOMAIN}"));
    alice.send("<presence/>").await;
    pete.send("<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq><presence/>")
        .await;
    pete.read_until("id='r1'").await;

    pete.send(&format!(
        "<message type='chat' to='{alice_jid}'><body>hello lilt</body></message>"
    ))
    .await;
    let got = alice.read_until("hello lilt").await;
    assert!(got.contains(&pete_jid), "{got}");
    alice
        .send(&format!(
            "<message type='chat' to='{pete_jid}'><body>hello back</body></message>"
        ))
        .await;
    pete.try_read_until("hello back", Duration::from_secs(30))
        .await
        .unwrap_or_else(|g| panic!("no answer at prosody: {g}\n{}", log()));

    // A subscription handshake started on Prosody's side, approved on Lilt's.
    pete.send(&format!("<presence type='subscribe' to='{alice_jid}'/>"))
        .await;
    alice.read_until("type='subscribe'").await;
    alice
        .send(&format!("<presence type='subscribed' to='{pete_jid}'/>"))
        .await;
    pete.try_read_until("type='subscribed'", Duration::from_secs(30))
        .await
        .unwrap_or_else(|g| panic!("pete got no subscribed: {g}\n{}", log()));
    assert_eq!(
        bidi_routes(&lilt.shared).await,
        [(LILT_DOMAIN.to_owned(), PROSODY_DOMAIN.to_owned())]
    );
}
