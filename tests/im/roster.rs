//! Roster get/set/remove over WebSocket: versioning, pushes to interested resources,
//! Prosody's error answers, and the stream features mod_roster and mod_presence add.

use crate::im_support;
use crate::support;

use im_support::{find, im_server, must_find, Client};

#[tokio::test]
async fn roster_add_update_remove_push_to_interested_resources() {
    let server = im_server().await;
    let mut a1 = Client::login(&server, "alice", "one").await;
    let mut a2 = Client::login(&server, "alice", "two").await;
    let got = a2
        .exchange("<iq type='get' id='r0'><query xmlns='jabber:iq:roster'/></iq>")
        .await;
    let empty = must_find(&got, &["id='r0'", "type='result'"]);
    assert!(empty.contains("ver='1'"), "{empty}");

    let got = a1
        .exchange(
            "<iq type='set' id='s1'><query xmlns='jabber:iq:roster'><item jid='Bob@Example.test' name='Bobby'><group>Friends</group></item></query></iq>",
        )
        .await;
    must_find(&got, &["id='s1'", "type='result'"]);
    // a1 never asked for the roster: no push for it.
    assert!(
        find(&got, &["jabber:iq:roster", "type='set'"]).is_none(),
        "{got:?}"
    );
    let push = a2.expect(&["type='set'", "jabber:iq:roster"]).await;
    assert!(push.contains("jid='bob@example.test'"), "{push}");
    assert!(push.contains("subscription='none'"), "{push}");
    assert!(push.contains("name='Bobby'"), "{push}");
    assert!(push.contains("<group>Friends</group>"), "{push}");
    // Prosody counts from an absent version: the first save makes it 1 as well.
    assert!(push.contains("ver='1'"), "{push}");

    a1.exchange(
        "<iq type='set' id='s2'><query xmlns='jabber:iq:roster'><item jid='bob@example.test'><group>Work</group></item></query></iq>",
    )
    .await;
    let push = a2.expect(&["type='set'", "jabber:iq:roster"]).await;
    assert!(
        push.contains("<group>Work</group>") && !push.contains("Friends"),
        "{push}"
    );
    assert!(!push.contains("name="), "{push}");

    let got = a2
        .exchange("<iq type='get' id='r1'><query xmlns='jabber:iq:roster' ver='2'/></iq>")
        .await;
    let same = must_find(&got, &["id='r1'"]);
    assert!(!same.contains("<query"), "up to date: empty result: {same}");
    let got = a2
        .exchange("<iq type='get' id='r2'><query xmlns='jabber:iq:roster' ver='1'/></iq>")
        .await;
    let full = must_find(&got, &["id='r2'"]);
    assert!(
        full.contains("ver='2'") && full.contains("jid='bob@example.test'"),
        "{full}"
    );

    let got = a1
        .exchange(
            "<iq type='set' id='s3'><query xmlns='jabber:iq:roster'><item jid='bob@example.test' subscription='remove'/></query></iq>",
        )
        .await;
    must_find(&got, &["id='s3'", "type='result'"]);
    let push = a2.expect(&["type='set'", "jabber:iq:roster"]).await;
    assert!(
        push.contains("subscription='remove'") && push.contains("ver='3'"),
        "{push}"
    );

    let stored = server
        .shared
        .store
        .get("example.test", Some("alice"), "roster")
        .expect("readable")
        .expect("stored");
    let t = stored.as_table().expect("table");
    let meta = t
        .get(&lilt::storage::LuaKey::Bool(false))
        .and_then(|v| v.as_table())
        .expect("[false]");
    assert_eq!(meta.field("version").and_then(|v| v.as_int()), Some(3));
    assert!(t.field("bob@example.test").is_none());
}

#[tokio::test]
async fn roster_set_errors_match_prosody() {
    let server = im_server().await;
    let mut a = Client::login(&server, "alice", "one").await;
    let got = a
        .exchange("<iq type='set' id='e1'><query xmlns='jabber:iq:roster'><item jid='alice@example.test'/></query></iq>")
        .await;
    let e = must_find(&got, &["id='e1'", "type='error'"]);
    assert!(
        e.contains("type='cancel'") && e.contains("<not-allowed"),
        "{e}"
    );

    let got = a
        .exchange("<iq type='set' id='e2'><query xmlns='jabber:iq:roster'><item jid='x@example.test' subscription='remove'/></query></iq>")
        .await;
    let e = must_find(&got, &["id='e2'", "type='error'"]);
    assert!(
        e.contains("type='modify'") && e.contains("<item-not-found"),
        "{e}"
    );

    let got = a
        .exchange("<iq type='set' id='e3'><query xmlns='jabber:iq:roster'><item jid='x@example.test'/><item jid='y@example.test'/></query></iq>")
        .await;
    let e = must_find(&got, &["id='e3'", "type='error'"]);
    assert!(
        e.contains("type='modify'") && e.contains("<bad-request"),
        "{e}"
    );

    let got = a
        .exchange("<iq type='set' id='e4'><query xmlns='jabber:iq:roster'><item jid='x@example.test/res'/></query></iq>")
        .await;
    let e = must_find(&got, &["id='e4'", "type='error'"]);
    assert!(e.contains("<bad-request"), "{e}");

    let got = a
        .exchange("<iq type='set' id='e5'><query xmlns='jabber:iq:roster'><item/></query></iq>")
        .await;
    assert!(must_find(&got, &["id='e5'"]).contains("<bad-request"));
}

#[tokio::test]
async fn features_after_auth_offer_roster_versioning_and_pre_approval() {
    use base64::Engine;
    let server = im_server().await;
    let mut ws = support::WsClient::connect(server.addr).await;
    let (_, before) = ws.open(support::HOST).await;
    assert!(!before.contains("rosterver"), "{before}");
    let payload = base64::engine::general_purpose::STANDARD.encode("\0alice\0pw");
    ws.send_text(&format!(
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{payload}</auth>"
    ))
    .await;
    assert!(ws.next_text().await.contains("<success"));
    let (_, after) = ws.open(support::HOST).await;
    assert!(
        after.contains("<ver xmlns='urn:xmpp:features:rosterver'/>"),
        "{after}"
    );
    assert!(
        after.contains("<sub xmlns='urn:xmpp:features:pre-approval'/>"),
        "{after}"
    );
}

#[tokio::test]
async fn host_disco_lists_the_im_features() {
    let server = im_server().await;
    let mut a = Client::login(&server, "alice", "one").await;
    let got = a
        .exchange("<iq type='get' id='d1' to='example.test'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
        .await;
    let info = must_find(&got, &["id='d1'", "type='result'"]);
    for f in [
        "jabber:iq:roster",
        "msgoffline",
        "urn:xmpp:carbons:2",
        "urn:xmpp:carbons:rules:0",
        "urn:xmpp:blocking",
    ] {
        assert!(
            info.contains(&format!("<feature var='{f}'/>")),
            "{f} in {info}"
        );
    }
}
