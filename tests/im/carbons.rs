//! XEP-0280 carbons between two resources of one user.

use crate::im_support;
use crate::support;

use im_support::{find, im_server, must_find, Client};

async fn online(server: &support::Server, user: &str, res: &str) -> Client {
    let mut c = Client::login(server, user, res).await;
    c.exchange("<presence/>").await;
    c
}

#[tokio::test]
async fn carbons_copy_sent_and_received_chat_to_other_enabled_resource() {
    let server = im_server().await;
    let mut a1 = online(&server, "alice", "one").await;
    let mut a2 = online(&server, "alice", "two").await;
    let mut b = online(&server, "bob", "phone").await;
    a1.sync().await;
    let got = a2
        .exchange("<iq type='set' id='c1'><enable xmlns='urn:xmpp:carbons:2'/></iq>")
        .await;
    must_find(&got, &["id='c1'", "type='result'"]);

    // Sent by a1: a2 gets a <sent/> copy.
    a1.exchange(
        "<message to='bob@example.test/phone' type='chat' id='s1'><body>hi</body></message>",
    )
    .await;
    b.expect(&["id='s1'"]).await;
    let got = a2.sync().await;
    let sent = must_find(&got, &["<sent xmlns='urn:xmpp:carbons:2'>"]);
    assert!(
        sent.contains("from='alice@example.test'") && sent.contains("to='alice@example.test/two'"),
        "{sent}"
    );
    assert!(
        sent.contains("<forwarded xmlns='urn:xmpp:forward:0'>") && sent.contains("id='s1'"),
        "{sent}"
    );

    // Received by a1 (addressed to its full JID): a2 gets a <received/> copy.
    b.exchange(
        "<message to='alice@example.test/one' type='chat' id='r1'><body>yo</body></message>",
    )
    .await;
    let got = a1.sync().await;
    let direct = must_find(&got, &["id='r1'"]);
    assert!(!direct.contains("carbons"), "{direct}");
    let got = a2.sync().await;
    let rec = must_find(&got, &["<received xmlns='urn:xmpp:carbons:2'>"]);
    assert!(
        rec.contains("id='r1'") && rec.contains("from='bob@example.test/phone'"),
        "{rec}"
    );

    // Private messages are not copied, and the hint is stripped on delivery.
    b.exchange("<message to='alice@example.test/one' type='chat' id='p1'><body>psst</body><private xmlns='urn:xmpp:carbons:2'/></message>").await;
    let got = a1.sync().await;
    let p = must_find(&got, &["id='p1'"]);
    assert!(!p.contains("private"), "{p}");
    let got = a2.sync().await;
    assert!(find(&got, &["id='p1'"]).is_none(), "{got:?}");

    // After disable, nothing more.
    a2.exchange("<iq type='set' id='c2'><disable xmlns='urn:xmpp:carbons:2'/></iq>")
        .await;
    a1.exchange(
        "<message to='bob@example.test/phone' type='chat' id='s2'><body>x</body></message>",
    )
    .await;
    b.expect(&["id='s2'"]).await;
    let got = a2.sync().await;
    assert!(find(&got, &["carbons"]).is_none(), "{got:?}");
}

#[tokio::test]
async fn resource_without_carbons_gets_no_copies() {
    let server = im_server().await;
    let mut a1 = online(&server, "alice", "one").await;
    let mut a2 = online(&server, "alice", "two").await;
    let mut b = online(&server, "bob", "phone").await;
    a1.exchange("<message to='bob@example.test' type='chat' id='s1'><body>hi</body></message>")
        .await;
    b.expect(&["id='s1'"]).await;
    let got = a2.sync().await;
    assert!(find(&got, &["id='s1'"]).is_none(), "{got:?}");
}
