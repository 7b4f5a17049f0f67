//! Offline messages: stored in the `offline` archive when no resource is available,
//! delivered with `<delay/>` at the next initial presence of priority ≥ 0, then cleared;
//! the archive is on disk and survives a restart.

use crate::im_support;
use crate::support;

use im_support::{find, im_config_at, im_server, must_find, Client};

#[tokio::test]
async fn message_to_offline_user_is_delivered_with_delay_at_login() {
    let server = im_server().await;
    let mut a = Client::login(&server, "alice", "pc").await;
    let got = a
        .exchange("<message to='bob@example.test' type='chat' id='m1'><body>hello &amp; bye</body></message>")
        .await;
    assert!(got.is_empty(), "stored silently: {got:?}");
    let list = server
        .dir
        .path()
        .join("data/example%2etest/offline/bob.list");
    let text = std::fs::read_to_string(&list).expect("archive written");
    assert!(text.starts_with("item({"), "{text}");
    assert!(text.contains("[\"with\"] = \"\";"), "{text}");
    assert!(text.contains("[\"stamp\"] = \""), "{text}");

    let mut b = Client::login(&server, "bob", "phone").await;
    // Negative priority: nothing yet.
    let got = b
        .exchange("<presence><priority>-1</priority></presence>")
        .await;
    assert!(find(&got, &["<message"]).is_none(), "{got:?}");
    let mut b2 = Client::login(&server, "bob", "tablet").await;
    let got = b2.exchange("<presence/>").await;
    let m = must_find(&got, &["<message", "id='m1'"]);
    assert!(m.contains("<body>hello &amp; bye</body>"), "{m}");
    assert!(m.contains("from='alice@example.test/pc'"), "{m}");
    assert!(
        m.contains("<delay xmlns='urn:xmpp:delay' from='example.test' stamp='"),
        "{m}"
    );
    let head = &m[..m.find('>').expect("start tag")];
    assert!(
        !head.contains("stamp"),
        "the storage stamp is not sent: {m}"
    );
    assert!(!list.exists(), "archive cleared after delivery");
    let _ = b.sync().await;
}

#[tokio::test]
async fn offline_archive_survives_a_restart() {
    let first = im_server().await;
    let mut a = Client::login(&first, "alice", "pc").await;
    a.exchange("<message to='bob@example.test' id='keep'><body>still here</body></message>")
        .await;
    let data = first.dir.path().join("data");
    // A second server process state on the same data directory.
    let second = support::Server::start(&im_config_at(&data)).await;
    let mut b = Client::login(&second, "bob", "phone").await;
    let got = b.exchange("<presence/>").await;
    let m = must_find(&got, &["<message", "id='keep'"]);
    assert!(
        m.contains("<body>still here</body>") && m.contains("urn:xmpp:delay"),
        "{m}"
    );
}

#[tokio::test]
async fn headline_and_error_messages_are_not_stored() {
    let server = im_server().await;
    let mut a = Client::login(&server, "alice", "pc").await;
    let got = a
        .exchange("<message to='bob@example.test' type='headline'><body>x</body></message>")
        .await;
    assert!(got.is_empty(), "{got:?}");
    let got = a
        .exchange("<message to='nobody@example.test' type='chat' id='n'><body>x</body></message>")
        .await;
    let e = must_find(&got, &["id='n'", "type='error'"]);
    assert!(e.contains("<service-unavailable"), "{e}");
    assert!(!server
        .dir
        .path()
        .join("data/example%2etest/offline/bob.list")
        .exists());
}
