//! The RFC 6121 subscription handshake between two local users, presence flowing along
//! the resulting subscriptions, and directed presence undone at logout.

use crate::im_support;
use crate::support;

use im_support::{im_server, must_find, Client};

async fn online(server: &support::Server, user: &str, res: &str) -> Client {
    let mut c = Client::login(server, user, res).await;
    c.exchange("<iq type='get' id='r'><query xmlns='jabber:iq:roster'/></iq>")
        .await;
    c.exchange("<presence/>").await;
    c
}

fn subscription(server: &support::Server, user: &str, contact: &str) -> (String, bool) {
    // Roster saves run on the storage executor: wait for the queued ones first.
    server.shared.store_exec.flush();
    let v = server
        .shared
        .store
        .get("example.test", Some(user), "roster")
        .expect("readable")
        .expect("stored");
    let item = v
        .as_table()
        .and_then(|t| t.field(contact))
        .and_then(|i| i.as_table())
        .expect("item");
    (
        item.field("subscription")
            .and_then(|s| s.as_str())
            .unwrap_or("")
            .to_owned(),
        item.field("ask").is_some(),
    )
}

#[tokio::test]
async fn full_handshake_ends_in_both_and_presence_flows() {
    let server = im_server().await;
    let mut a = online(&server, "alice", "pc").await;
    let mut b = online(&server, "bob", "phone").await;

    // alice asks bob.
    let got = a
        .exchange("<presence to='bob@example.test' type='subscribe'/>")
        .await;
    let push = must_find(&got, &["jabber:iq:roster", "jid='bob@example.test'"]);
    assert!(
        push.contains("subscription='none'") && push.contains("ask='subscribe'"),
        "{push}"
    );
    let req = b.expect(&["type='subscribe'"]).await;
    assert!(
        req.contains("from='alice@example.test'") && req.contains("to='bob@example.test'"),
        "{req}"
    );
    assert_eq!(
        subscription(&server, "alice", "bob@example.test"),
        ("none".into(), true)
    );
    server.shared.store_exec.flush();
    let pending = server
        .shared
        .store
        .get("example.test", Some("bob"), "roster")
        .unwrap()
        .unwrap();
    let meta = pending
        .as_table()
        .unwrap()
        .get(&lilt::storage::LuaKey::Bool(false))
        .unwrap()
        .as_table()
        .unwrap()
        .clone();
    let p = meta
        .field("pending")
        .and_then(|p| p.as_table())
        .expect("pending table");
    assert!(
        p.field("alice@example.test").is_some(),
        "inbound request stored: {p:?}"
    );

    // bob approves: alice gets to, bob gets from, alice sees bob's presence.
    let got = b
        .exchange("<presence to='alice@example.test' type='subscribed'/>")
        .await;
    let push = must_find(&got, &["jabber:iq:roster", "jid='alice@example.test'"]);
    assert!(push.contains("subscription='from'"), "{push}");
    let sub = a.expect(&["type='subscribed'"]).await;
    assert!(sub.contains("from='bob@example.test'"), "{sub}");
    let got = a.sync().await;
    let push = must_find(&got, &["jabber:iq:roster", "jid='bob@example.test'"]);
    assert!(
        push.contains("subscription='to'") && !push.contains("ask="),
        "{push}"
    );
    must_find(&got, &["<presence", "from='bob@example.test/phone'"]);
    assert_eq!(
        subscription(&server, "alice", "bob@example.test"),
        ("to".into(), false)
    );
    assert_eq!(
        subscription(&server, "bob", "alice@example.test"),
        ("from".into(), false)
    );

    // bob asks back, alice approves: both.
    b.exchange("<presence to='alice@example.test' type='subscribe'/>")
        .await;
    a.expect(&["type='subscribe'", "from='bob@example.test'"])
        .await;
    let got = a
        .exchange("<presence to='bob@example.test' type='subscribed'/>")
        .await;
    let push = must_find(&got, &["jabber:iq:roster", "jid='bob@example.test'"]);
    assert!(push.contains("subscription='both'"), "{push}");
    let got = b.sync().await;
    must_find(&got, &["type='subscribed'", "from='alice@example.test'"]);
    let push = must_find(&got, &["jabber:iq:roster", "jid='alice@example.test'"]);
    assert!(push.contains("subscription='both'"), "{push}");
    must_find(&got, &["<presence", "from='alice@example.test/pc'"]);
    assert_eq!(
        subscription(&server, "alice", "bob@example.test"),
        ("both".into(), false)
    );
    assert_eq!(
        subscription(&server, "bob", "alice@example.test"),
        ("both".into(), false)
    );

    // Presence now flows both ways.
    b.exchange("<presence><show>away</show></presence>").await;
    let p = a
        .expect(&["from='bob@example.test/phone'", "<show>away</show>"])
        .await;
    assert!(!p.contains("type="), "{p}");
    drop(b);
    let gone = a
        .expect(&["from='bob@example.test/phone'", "type='unavailable'"])
        .await;
    assert!(gone.contains("<presence"), "{gone}");

    // bob comes back: his probe gets alice's presence, alice gets his.
    let mut b = Client::login(&server, "bob", "laptop").await;
    let got = b.exchange("<presence/>").await;
    // The probe is answered with alice's stored presence, which carries a <delay/>.
    let p = must_find(&got, &["<presence", "from='alice@example.test/pc'"]);
    assert!(
        p.contains("<delay xmlns='urn:xmpp:delay' from='example.test' stamp='"),
        "{p}"
    );
    a.expect(&["<presence", "from='bob@example.test/laptop'"])
        .await;
}

#[tokio::test]
async fn pending_request_is_resent_at_next_login() {
    let server = im_server().await;
    let mut a = online(&server, "alice", "pc").await;
    a.exchange("<presence to='bob@example.test' type='subscribe'/>")
        .await;
    let mut b = Client::login(&server, "bob", "phone").await;
    let got = b.exchange("<presence/>").await;
    let req = must_find(&got, &["type='subscribe'", "from='alice@example.test'"]);
    assert!(req.contains("<presence"), "{req}");
}

#[tokio::test]
async fn directed_presence_gets_unavailable_at_logout() {
    let server = im_server().await;
    server.add_user("carol", "pw");
    let mut c = online(&server, "carol", "x").await;
    let mut a = online(&server, "alice", "pc").await;
    a.exchange("<presence to='carol@example.test'><status>hi</status></presence>")
        .await;
    c.expect(&["from='alice@example.test/pc'", "<status>hi</status>"])
        .await;
    drop(a);
    let p = c
        .expect(&["from='alice@example.test/pc'", "type='unavailable'"])
        .await;
    assert!(p.contains("<presence"), "{p}");
}

#[tokio::test]
async fn presence_to_host_answers_probe_and_subscribe() {
    let server = im_server().await;
    let mut a = online(&server, "alice", "pc").await;
    let got = a
        .exchange("<presence to='example.test' type='subscribe' id='h1'/>")
        .await;
    must_find(
        &got,
        &["from='example.test'", "type='subscribed'", "id='h1'"],
    );
    let avail = got
        .iter()
        .find(|f| f.contains("from='example.test'") && !f.contains("type="))
        .expect("available presence from the host");
    assert!(avail.contains("<presence"), "{avail}");
    let got = a
        .exchange("<presence to='example.test' type='probe'/>")
        .await;
    must_find(&got, &["<presence", "from='example.test'"]);
}

#[tokio::test]
async fn other_types_without_to_are_bad_requests() {
    let server = im_server().await;
    let mut a = online(&server, "alice", "pc").await;
    let got = a.exchange("<presence type='subscribe' id='x'/>").await;
    let e = must_find(&got, &["id='x'", "type='error'"]);
    assert!(
        e.contains("<bad-request") && e.contains("Invalid presence type"),
        "{e}"
    );
}

async fn make_both(a: &mut Client, b: &mut Client) {
    a.exchange("<presence to='bob@example.test' type='subscribe'/>")
        .await;
    b.exchange("<presence to='alice@example.test' type='subscribed'/>")
        .await;
    b.exchange("<presence to='alice@example.test' type='subscribe'/>")
        .await;
    a.exchange("<presence to='bob@example.test' type='subscribed'/>")
        .await;
    a.sync().await;
    b.sync().await;
}

#[tokio::test]
async fn removing_a_contact_cancels_both_directions() {
    let server = im_server().await;
    let mut a = online(&server, "alice", "pc").await;
    let mut b = online(&server, "bob", "phone").await;
    make_both(&mut a, &mut b).await;
    assert_eq!(
        subscription(&server, "bob", "alice@example.test"),
        ("both".into(), false)
    );

    let got = a
        .exchange("<iq type='set' id='rm'><query xmlns='jabber:iq:roster'><item jid='bob@example.test' subscription='remove'/></query></iq>")
        .await;
    must_find(&got, &["id='rm'", "type='result'"]);
    must_find(&got, &["jabber:iq:roster", "subscription='remove'"]);
    let got = b.sync().await;
    must_find(&got, &["type='unsubscribed'", "from='alice@example.test'"]);
    must_find(&got, &["type='unsubscribe'", "from='alice@example.test'"]);
    must_find(
        &got,
        &["type='unavailable'", "from='alice@example.test/pc'"],
    );
    assert_eq!(
        subscription(&server, "bob", "alice@example.test"),
        ("none".into(), false)
    );
}

#[tokio::test]
async fn pre_approved_request_is_answered_by_the_server() {
    let server = im_server().await;
    let mut a = online(&server, "alice", "pc").await;
    let mut b = online(&server, "bob", "phone").await;
    let got = a
        .exchange("<presence to='bob@example.test' type='subscribed'/>")
        .await;
    let push = must_find(&got, &["jabber:iq:roster", "jid='bob@example.test'"]);
    assert!(push.contains("subscription='none'"), "{push}");
    let got = b.sync().await;
    assert!(
        got.iter().all(|f| !f.contains("type='subscribed'")),
        "pre-approval is not sent: {got:?}"
    );

    let got = b
        .exchange("<presence to='alice@example.test' type='subscribe'/>")
        .await;
    must_find(&got, &["type='subscribed'", "from='alice@example.test'"]);
    let push = must_find(&got, &["jabber:iq:roster", "subscription='to'"]);
    assert!(push.contains("jid='alice@example.test'"), "{push}");
    must_find(&got, &["<presence", "from='alice@example.test/pc'"]);
    let got = a.sync().await;
    assert!(
        got.iter().all(|f| !f.contains("type='subscribe'")),
        "not asked: {got:?}"
    );
    must_find(&got, &["jabber:iq:roster", "subscription='from'"]);
    assert_eq!(subscription(&server, "alice", "bob@example.test").0, "from");
    assert_eq!(subscription(&server, "bob", "alice@example.test").0, "to");
}

#[tokio::test]
async fn messages_to_bare_jid_go_to_highest_non_negative_priority() {
    let server = im_server().await;
    let mut hi = Client::login(&server, "bob", "hi").await;
    hi.exchange("<presence><priority>5</priority></presence>")
        .await;
    let mut lo = Client::login(&server, "bob", "lo").await;
    lo.exchange("<presence><priority>1</priority></presence>")
        .await;
    let mut a = Client::login(&server, "alice", "pc").await;
    a.exchange("<message to='bob@example.test' type='chat' id='t1'><body>x</body></message>")
        .await;
    assert!(must_find(&hi.sync().await, &["id='t1'"]).contains("<body>x</body>"));
    assert!(lo.sync().await.iter().all(|f| !f.contains("id='t1'")));
    // Headlines go to every available non-negative resource.
    a.exchange("<message to='bob@example.test' type='headline' id='h1'><body>x</body></message>")
        .await;
    must_find(&hi.sync().await, &["id='h1'"]);
    must_find(&lo.sync().await, &["id='h1'"]);
}
