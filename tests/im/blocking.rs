//! XEP-0191 blocking: list management with pushes, Prosody's stored layout, and the
//! dropping and bouncing of stanzas to and from blocked JIDs.

use crate::im_support;
use crate::support;

use im_support::{find, im_server, must_find, Client};

async fn online(server: &support::Server, user: &str, res: &str) -> Client {
    let mut c = Client::login(server, user, res).await;
    c.exchange("<presence/>").await;
    c
}

#[tokio::test]
async fn blocking_stops_messages_both_ways_until_unblocked() {
    let server = im_server().await;
    let mut a1 = online(&server, "alice", "one").await;
    let mut a2 = online(&server, "alice", "two").await;
    let mut b = online(&server, "bob", "phone").await;
    let got = a2
        .exchange("<iq type='get' id='g1'><blocklist xmlns='urn:xmpp:blocking'/></iq>")
        .await;
    let list = must_find(&got, &["id='g1'", "type='result'"]);
    assert!(
        list.contains("<blocklist xmlns='urn:xmpp:blocking'/>"),
        "{list}"
    );

    let got = a1
        .exchange("<iq type='set' id='b1'><block xmlns='urn:xmpp:blocking'><item jid='Bob@Example.test'/></block></iq>")
        .await;
    must_find(&got, &["id='b1'", "type='result'"]);
    let push = a2.expect(&["id='blocklist-push'"]).await;
    assert!(
        push.contains("<block xmlns='urn:xmpp:blocking'><item jid='bob@example.test'/></block>"),
        "{push}"
    );
    assert!(push.contains("to='alice@example.test/two'"), "{push}");

    let stored = server
        .shared
        .store
        .get("example.test", Some("alice"), "blocklist")
        .expect("readable")
        .expect("stored");
    let t = stored.as_table().expect("table");
    assert!(
        t.field("bob@example.test")
            .and_then(|v| v.as_int())
            .is_some(),
        "{t:?}"
    );
    let meta = t
        .get(&lilt::storage::LuaKey::Bool(false))
        .and_then(|m| m.as_table())
        .expect("[false]");
    assert!(meta.field("created").is_some(), "{meta:?}");

    // bob -> alice (bare): bounced.
    let got = b
        .exchange("<message to='alice@example.test' type='chat' id='m1'><body>hi</body></message>")
        .await;
    let e = must_find(&got, &["id='m1'", "type='error'"]);
    assert!(e.contains("<service-unavailable"), "{e}");
    // bob -> alice's full JID: dropped silently.
    let got = b
        .exchange(
            "<message to='alice@example.test/one' type='chat' id='m2'><body>hi</body></message>",
        )
        .await;
    assert!(got.is_empty(), "{got:?}");
    let got = a1.sync().await;
    assert!(
        find(&got, &["id='m1'"]).is_none() && find(&got, &["id='m2'"]).is_none(),
        "{got:?}"
    );
    // alice -> bob: refused.
    let got = a1
        .exchange("<message to='bob@example.test' type='chat' id='m3'><body>hi</body></message>")
        .await;
    let e = must_find(&got, &["id='m3'", "type='error'"]);
    assert!(
        e.contains("<not-acceptable") && e.contains("<blocked xmlns='urn:xmpp:blocking:errors'/>"),
        "{e}"
    );
    assert!(e.contains("You have blocked this JID"), "{e}");
    let got = b.sync().await;
    assert!(find(&got, &["id='m3'"]).is_none(), "{got:?}");

    // Unblock: messages flow again; the push carries the unblock.
    let got = a1
        .exchange("<iq type='set' id='u1'><unblock xmlns='urn:xmpp:blocking'><item jid='bob@example.test'/></unblock></iq>")
        .await;
    must_find(&got, &["id='u1'", "type='result'"]);
    a2.expect(&["id='blocklist-push'", "<unblock"]).await;
    b.exchange(
        "<message to='alice@example.test/one' type='chat' id='m4'><body>hi</body></message>",
    )
    .await;
    a1.expect(&["id='m4'"]).await;
}

#[tokio::test]
async fn blocking_a_domain_blocks_its_users_and_empty_block_is_bad_request() {
    let server = im_server().await;
    let mut a = online(&server, "alice", "one").await;
    let mut b = online(&server, "bob", "phone").await;
    let got = a
        .exchange("<iq type='set' id='b0'><block xmlns='urn:xmpp:blocking'/></iq>")
        .await;
    assert!(must_find(&got, &["id='b0'"]).contains("<bad-request"));
    // Before: a ping to alice's account is answered by the server.
    let got = b
        .exchange(
            "<iq to='alice@example.test' type='get' id='q0'><ping xmlns='urn:xmpp:ping'/></iq>",
        )
        .await;
    must_find(&got, &["id='q0'", "type='result'"]);
    a.exchange("<iq type='set' id='b1'><block xmlns='urn:xmpp:blocking'><item jid='example.test'/></block></iq>").await;
    let got = b
        .exchange("<message to='alice@example.test' type='chat' id='m1'><body>hi</body></message>")
        .await;
    must_find(&got, &["id='m1'", "<service-unavailable"]);
    let got = b
        .exchange(
            "<iq to='alice@example.test' type='get' id='q1'><ping xmlns='urn:xmpp:ping'/></iq>",
        )
        .await;
    must_find(&got, &["id='q1'", "<service-unavailable"]);
}

#[tokio::test]
async fn blocking_a_subscriber_hides_presence_and_unblocking_restores_it() {
    let server = im_server().await;
    let mut a = online(&server, "alice", "one").await;
    let mut b = online(&server, "bob", "phone").await;
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

    a.exchange("<iq type='set' id='b1'><block xmlns='urn:xmpp:blocking'><item jid='bob@example.test'/></block></iq>")
        .await;
    let got = b.sync().await;
    must_find(
        &got,
        &["type='unavailable'", "from='alice@example.test/one'"],
    );
    b.exchange("<presence><show>dnd</show></presence>").await;
    let got = a.sync().await;
    assert!(find(&got, &["<show>dnd</show>"]).is_none(), "{got:?}");

    a.exchange("<iq type='set' id='u1'><unblock xmlns='urn:xmpp:blocking'><item jid='bob@example.test'/></unblock></iq>")
        .await;
    // The server probes on bob's behalf: bob sees alice again.
    let got = b.sync().await;
    let back = must_find(&got, &["<presence", "from='alice@example.test/one'"]);
    assert!(!back.contains("type="), "{back}");
    b.exchange("<presence><show>chat</show></presence>").await;
    a.expect(&["<show>chat</show>", "from='bob@example.test/phone'"])
        .await;
}

#[tokio::test]
async fn mod_privacy_default_list_is_migrated_to_the_blocklist() {
    use lilt::storage::serialization::parse_lua_source;
    let server = im_server().await;
    let legacy = parse_lua_source(
        "return { [\"default\"] = \"main\"; [\"lists\"] = { [\"main\"] = { [\"name\"] = \"main\"; \
         [\"items\"] = { { [\"type\"] = \"jid\"; [\"action\"] = \"deny\"; [\"value\"] = \"Bob@Example.test\"; [\"order\"] = 1 }; \
         { [\"type\"] = \"jid\"; [\"action\"] = \"allow\"; [\"value\"] = \"carol@example.test\"; [\"order\"] = 2 } } } } };",
    )
    .expect("privacy data");
    server
        .shared
        .store
        .set("example.test", Some("alice"), "privacy", Some(&legacy))
        .expect("write privacy store");
    let mut a = online(&server, "alice", "one").await;
    let got = a
        .exchange("<iq type='get' id='g1'><blocklist xmlns='urn:xmpp:blocking'/></iq>")
        .await;
    let list = must_find(&got, &["id='g1'", "type='result'"]);
    assert!(list.contains("<item jid='bob@example.test'/>"), "{list}");
    assert!(!list.contains("carol"), "{list}");
    let stored = server
        .shared
        .store
        .get("example.test", Some("alice"), "blocklist")
        .expect("readable")
        .expect("saved");
    let meta = stored
        .as_table()
        .and_then(|t| t.get(&lilt::storage::LuaKey::Bool(false)))
        .and_then(|m| m.as_table())
        .expect("[false]")
        .clone();
    assert_eq!(
        meta.field("migrated").and_then(|v| v.as_str()),
        Some("privacy")
    );
}
