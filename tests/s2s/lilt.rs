//! Two Lilts federating: subscriptions, presence and messages both ways; certificate
//! authentication, dialback, the `s2s_secure_auth` refusal and bounces.

use std::net::Ipv4Addr;
use std::time::Duration;

use super::client::Client;
use super::dns::TestDns;
use super::node::{Node, NodeSpec, TestCa, PASSWORD};

const A_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const B_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);

async fn pair(a: NodeSpec<'_>, b: NodeSpec<'_>) -> (TestDns, Node, Node) {
    let dns = TestDns::start().await;
    let ca = TestCa::new();
    let a = Node::start(a, &ca, &dns).await;
    let b = Node::start(b, &ca, &dns).await;
    a.add_user("alice");
    b.add_user("bob");
    (dns, a, b)
}

/// alice@a and bob@b subscribe to each other (RFC 6121 §3 across two servers), see each
/// other's presence and exchange messages both ways.
pub(super) async fn assert_federate(a: &Node, b: &Node) {
    let mut alice = Client::login(a.c2s, &a.domain, "alice", PASSWORD).await;
    let mut bob = Client::login(b.c2s, &b.domain, "bob", PASSWORD).await;
    let (alice_jid, bob_jid) = (a.jid("alice"), b.jid("bob"));
    alice
        .send("<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq><presence/>")
        .await;
    alice.read_until("id='r1'").await;
    bob.send("<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq><presence/>")
        .await;
    bob.read_until("id='r1'").await;

    alice
        .send(&format!("<presence type='subscribe' to='{bob_jid}'/>"))
        .await;
    let got = bob.read_tag("type='subscribe'").await;
    assert!(got.contains(&format!("from='{alice_jid}'")), "{got}");
    bob.send(&format!("<presence type='subscribed' to='{alice_jid}'/>"))
        .await;
    let got = alice.read_tag("type='subscribed'").await;
    assert!(got.contains(&format!("from='{bob_jid}'")), "{got}");
    // Approving makes bob's server send his current presence to alice.
    alice.read_until(&format!("from='{bob_jid}/r'")).await;

    bob.send(&format!("<presence type='subscribe' to='{alice_jid}'/>"))
        .await;
    alice.read_until("type='subscribe'").await;
    alice
        .send(&format!("<presence type='subscribed' to='{bob_jid}'/>"))
        .await;
    bob.read_until("type='subscribed'").await;
    bob.read_until(&format!("from='{alice_jid}/r'")).await;

    alice
        .send("<presence><status>away for lunch</status></presence>")
        .await;
    let got = bob.read_until("away for lunch").await;
    let got = got
        .rsplit("<presence")
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(got.contains(&format!("from='{alice_jid}/r'")), "{got}");

    alice
        .send(&format!(
            "<message type='chat' to='{bob_jid}' id='m1'><body>hello bob</body></message>"
        ))
        .await;
    let got = bob.read_until("hello bob").await;
    let got = got.rsplit("<message").next().unwrap_or_default().to_owned();
    assert!(got.contains(&format!("from='{alice_jid}/r'")), "{got}");
    bob.send(&format!(
        "<message type='chat' to='{alice_jid}/r' id='m2'><body>hello alice</body></message>"
    ))
    .await;
    let got = alice.read_until("hello alice").await;
    let got = got.rsplit("<message").next().unwrap_or_default().to_owned();
    assert!(got.contains(&format!("from='{bob_jid}/r'")), "{got}");

    // An IQ across servers, answered by the remote server itself.
    alice
        .send(&format!(
            "<iq type='get' id='p1' to='{}'><ping xmlns='urn:xmpp:ping'/></iq>",
            b.domain
        ))
        .await;
    let got = alice.read_tag("id='p1'").await;
    let got = got.rsplit("<iq").next().unwrap_or_default().to_owned();
    assert!(got.contains("type='result'"), "{got}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_lilts_federate_over_starttls_with_certificate_authentication() {
    // No dialback anywhere, and certificates required: only SASL EXTERNAL can work.
    let extra = "s2s_secure_auth = true";
    let (_dns, a, b) = pair(
        NodeSpec::new("a.test", A_IP)
            .without_dialback()
            .extra(extra),
        NodeSpec::new("b.test", B_IP)
            .without_dialback()
            .extra(extra),
    )
    .await;
    assert_federate(&a, &b).await;
}

/// b.test publishes only `_xmpps-server._tcp` (XEP-0368): a.test reaches it with TLS from
/// the first byte (its route back to a.test uses a.test's ordinary SRV record).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_domain_publishing_only_xmpps_server_is_reached_over_direct_tls() {
    let extra = "s2s_secure_auth = true";
    let (_dns, a, b) = pair(
        NodeSpec::new("a.test", A_IP)
            .without_dialback()
            .extra(extra),
        NodeSpec::new("b.test", B_IP)
            .without_dialback()
            .direct_tls_only()
            .extra(extra),
    )
    .await;
    assert_federate(&a, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_certificates_without_secure_auth_federate_with_dialback() {
    let extra = "s2s_secure_auth = false";
    let (_dns, a, b) = pair(
        NodeSpec::new("a.test", A_IP).self_signed().extra(extra),
        NodeSpec::new("b.test", B_IP).self_signed().extra(extra),
    )
    .await;
    assert_federate(&a, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_certificates_with_secure_auth_are_refused_with_prosodys_error() {
    let extra = "s2s_secure_auth = true";
    let (_dns, a, b) = pair(
        NodeSpec::new("a.test", A_IP).extra(extra),
        NodeSpec::new("b.test", B_IP).self_signed().extra(extra),
    )
    .await;
    let mut alice = Client::login(a.c2s, &a.domain, "alice", PASSWORD).await;
    alice
        .send(&format!(
            "<message to='{}' id='m1'><body>hi</body></message>",
            b.jid("bob")
        ))
        .await;
    let got = alice.read_until("</message>").await;
    assert!(got.contains("type='error'"), "{got}");
    assert!(got.contains("remote-server-timeout"), "{got}");
    assert!(
        got.contains(
            "Server-to-server connection failed: Remote server&apos;s certificate is self-signed"
        ) || got.contains(
            "Server-to-server connection failed: Remote server's certificate is self-signed"
        ),
        "{got}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_domain_without_servers_bounces_remote_server_not_found() {
    let dns = TestDns::start().await;
    let ca = TestCa::new();
    let a = Node::start(NodeSpec::new("a.test", A_IP), &ca, &dns).await;
    a.add_user("alice");
    let mut alice = Client::login(a.c2s, &a.domain, "alice", PASSWORD).await;
    alice
        .send("<message to='nobody@nowhere.test' id='m1'><body>hi</body></message>")
        .await;
    let got = alice.read_until("</message>").await;
    assert!(got.contains("remote-server-not-found"), "{got}");
    assert!(
        got.contains("type='cancel'") && got.contains("by='a.test'"),
        "{got}"
    );
    // Nothing is left queued: a second try bounces the same way.
    alice
        .send("<message to='nobody@nowhere.test' id='m2'><body>again</body></message>")
        .await;
    let got = alice
        .try_read_until("id='m2'", Duration::from_secs(20))
        .await
        .expect("second bounce");
    let got = got + &alice.read_until(">").await;
    assert!(got.contains("type='error'"), "{got}");
}

/// The outgoing routes of a node, asked on its core thread.
async fn routes_of(node: &Node) -> Vec<(String, String, bool)> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = lilt::core::session::CoreTask(Box::new(move |core| {
        let _ = tx.send(lilt::modules::s2s::routes::outgoing_routes(core));
    }));
    node.shared
        .core_tx
        .send(lilt::core::CoreMsg::Task(task))
        .expect("core running");
    rx.await.expect("core answers")
}

/// `s2s_idle_timeout` closes a quiet route; the next stanza brings a new one up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_route_is_closed_and_comes_back_for_the_next_stanza() {
    let (_dns, a, b) = pair(
        NodeSpec::new("a.test", A_IP).extra("s2s_idle_timeout = 1.5"),
        NodeSpec::new("b.test", B_IP),
    )
    .await;
    let mut alice = Client::login(a.c2s, &a.domain, "alice", PASSWORD).await;
    let mut bob = Client::login(b.c2s, &b.domain, "bob", PASSWORD).await;
    // Available, so messages to the bare JID are delivered rather than stored offline.
    bob.send("<presence/>").await;
    bob.read_until("<presence").await;
    let bob_jid = b.jid("bob");
    alice
        .send(&format!(
            "<message to='{bob_jid}'><body>first</body></message>"
        ))
        .await;
    bob.read_until("first").await;
    assert_eq!(
        routes_of(&a).await,
        [("a.test".to_owned(), "b.test".to_owned(), true)]
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !routes_of(&a).await.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "route still up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    alice
        .send(&format!(
            "<message to='{bob_jid}'><body>second</body></message>"
        ))
        .await;
    bob.read_until("second").await;
}

/// A server shutting down closes its s2s streams (`system-shutdown`): the peer's route ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_incoming_s2s_streams() {
    let (_dns, a, b) = pair(NodeSpec::new("a.test", A_IP), NodeSpec::new("b.test", B_IP)).await;
    let mut alice = Client::login(a.c2s, &a.domain, "alice", PASSWORD).await;
    let mut bob = Client::login(b.c2s, &b.domain, "bob", PASSWORD).await;
    bob.send("<presence/>").await;
    bob.read_until("<presence").await;
    alice
        .send(&format!(
            "<message to='{}'><body>before</body></message>",
            b.jid("bob")
        ))
        .await;
    bob.read_until("before").await;
    assert_eq!(routes_of(&a).await.len(), 1);
    let (tx, rx) = tokio::sync::oneshot::channel();
    b.shared
        .core_tx
        .send(lilt::core::CoreMsg::Shutdown {
            reason: None,
            done: tx,
        })
        .expect("core running");
    rx.await.expect("shutdown done");
    let got = bob.read_until("</stream:stream>").await;
    assert!(got.contains("system-shutdown"), "{got}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !routes_of(&a).await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "a's route to b outlived b's shutdown"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
