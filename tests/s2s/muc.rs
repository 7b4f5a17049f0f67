//! MUC across servers (issue 20, Build point 3): a room on one server with an occupant from
//! another. The guest's join, the occupants' presence, groupchat messages both ways and the
//! guest's leave all travel over s2s from and to the MUC component's own domain. Lilt's
//! MUC with a Lilt guest and with a Prosody 0.12 guest, and Prosody's MUC with a Lilt guest.

use std::net::Ipv4Addr;
use std::time::Duration;

use super::client::Client;
use super::dns::TestDns;
use super::node::{Node, NodeSpec, TestCa, PASSWORD};
use super::prosody::{self, Prosody, LILT_DOMAIN, LILT_IP, PROSODY_DOMAIN, PROSODY_IP};

const A_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const B_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);
const WAIT: Duration = Duration::from_secs(30);

const MUC_NS: &str = "http://jabber.org/protocol/muc";

async fn read(c: &mut Client, needle: &str, what: &str) -> String {
    c.try_read_until(needle, WAIT)
        .await
        .unwrap_or_else(|g| panic!("{what}: no {needle:?}; got {g}"))
}

/// `owner` (already online) creates `room` as an instant room; `guest`, on another
/// server, joins it; they exchange groupchat messages; the guest leaves.
async fn assert_room_across(owner: &mut Client, guest: &mut Client, guest_jid: &str, room: &str) {
    owner
        .send(&format!(
            "<presence to='{room}/owner'><x xmlns='{MUC_NS}'/></presence>"
        ))
        .await;
    read(owner, "code='110'", "owner's self-presence").await;
    owner
        .send(&format!(
            "<iq type='set' id='inst' to='{room}'><query xmlns='{MUC_NS}#owner'>\
             <x xmlns='jabber:x:data' type='submit'/></query></iq>"
        ))
        .await;
    read(owner, "id='inst'", "instant room").await;

    guest
        .send(&format!(
            "<presence to='{room}/guest'><x xmlns='{MUC_NS}'/></presence>"
        ))
        .await;
    // The guest sees the owner, then itself (status 110), then the subject.
    let got = read(guest, "code='110'", "guest's self-presence").await;
    assert!(got.contains(&format!("from='{room}/owner'")), "{got}");
    assert!(got.contains(&format!("from='{room}/guest'")), "{got}");
    let got = read(
        owner,
        &format!("from='{room}/guest'"),
        "guest's join at owner",
    )
    .await;
    let got = got + &read(owner, "</presence>", "guest's join at owner").await;
    assert!(
        got.contains(guest_jid),
        "the owner sees the guest's real JID: {got}"
    );

    guest
        .send(&format!(
            "<message type='groupchat' to='{room}'><body>hi from afar</body></message>"
        ))
        .await;
    let got = read(owner, "hi from afar", "guest's message at owner").await;
    assert!(
        got.rsplit("<message")
            .next()
            .unwrap_or_default()
            .contains(&format!("{room}/guest")),
        "{got}"
    );
    read(guest, "hi from afar", "the guest's own message reflected").await;
    owner
        .send(&format!(
            "<message type='groupchat' to='{room}'><body>welcome over s2s</body></message>"
        ))
        .await;
    let got = read(guest, "welcome over s2s", "owner's message at guest").await;
    assert!(
        got.rsplit("<message")
            .next()
            .unwrap_or_default()
            .contains(&format!("{room}/owner")),
        "{got}"
    );

    guest
        .send(&format!("<presence type='unavailable' to='{room}/guest'/>"))
        .await;
    let got = read(owner, "type='unavailable'", "guest's leave at owner").await;
    let got = got + &read(owner, ">", "guest's leave").await;
    assert!(got.contains(&format!("{room}/guest")), "{got}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_of_another_lilt_joins_and_chats_in_a_lilt_room() {
    let dns = TestDns::start().await;
    let ca = TestCa::new();
    let extra = "s2s_secure_auth = true\nComponent \"conf.a.test\" \"muc\"";
    let mut spec = NodeSpec::new("a.test", A_IP).extra(extra);
    spec.also = &["conf.a.test"];
    let a = Node::start(spec, &ca, &dns).await;
    let b = Node::start(
        NodeSpec::new("b.test", B_IP).extra("s2s_secure_auth = true"),
        &ca,
        &dns,
    )
    .await;
    a.add_user("alice");
    b.add_user("bob");
    let mut alice = Client::login(a.c2s, &a.domain, "alice", PASSWORD).await;
    let mut bob = Client::login(b.c2s, &b.domain, "bob", PASSWORD).await;
    alice.send("<presence/>").await;
    bob.send("<presence/>").await;
    assert_room_across(&mut alice, &mut bob, &b.jid("bob"), "lounge@conf.a.test").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lilt_user_joins_and_chats_in_a_prosody_room() {
    if !prosody::prosody_installed() {
        return;
    }
    let dns = TestDns::start().await;
    let ca = TestCa::new();
    let lilt = Node::start(
        NodeSpec::new(LILT_DOMAIN, LILT_IP).extra("s2s_secure_auth = true"),
        &ca,
        &dns,
    )
    .await;
    lilt.add_user("alice");
    let muc = format!("conf.{PROSODY_DOMAIN}");
    let extra = format!("s2s_secure_auth = true\nComponent \"{muc}\" \"muc\"");
    let prosody = Prosody::start_with(
        &ca,
        &dns,
        PROSODY_DOMAIN,
        PROSODY_IP,
        false,
        &extra,
        &[muc.as_str()],
    );
    let mut pete = Client::login(prosody.c2s, PROSODY_DOMAIN, "pete", PASSWORD).await;
    let mut alice = Client::login(lilt.c2s, LILT_DOMAIN, "alice", PASSWORD).await;
    pete.send("<presence/>").await;
    alice.send("<presence/>").await;
    let room = format!("lounge@{muc}");
    let alice_jid = lilt.jid("alice");
    let run = assert_room_across(&mut pete, &mut alice, &alice_jid, &room);
    if tokio::time::timeout(Duration::from_secs(90), run)
        .await
        .is_err()
    {
        panic!("timed out\n{}", prosody.log());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prosody_user_joins_and_chats_in_a_lilt_room() {
    if !prosody::prosody_installed() {
        return;
    }
    let dns = TestDns::start().await;
    let ca = TestCa::new();
    let muc = "conf.l.example";
    let extra = "s2s_secure_auth = true\nComponent \"conf.l.example\" \"muc\"";
    let mut spec = NodeSpec::new(LILT_DOMAIN, LILT_IP).extra(extra);
    spec.also = &["conf.l.example"];
    let lilt = Node::start(spec, &ca, &dns).await;
    lilt.add_user("alice");
    let prosody = Prosody::start(&ca, &dns, false, "s2s_secure_auth = true");
    let mut alice = Client::login(lilt.c2s, LILT_DOMAIN, "alice", PASSWORD).await;
    let mut pete = Client::login(prosody.c2s, PROSODY_DOMAIN, "pete", PASSWORD).await;
    alice.send("<presence/>").await;
    pete.send("<presence/>").await;
    let room = format!("lounge@{muc}");
    let pete_jid = format!("pete@{PROSODY_DOMAIN}");
    let run = assert_room_across(&mut alice, &mut pete, &pete_jid, &room);
    if tokio::time::timeout(Duration::from_secs(90), run)
        .await
        .is_err()
    {
        panic!("timed out\n{}", prosody.log());
    }
}
