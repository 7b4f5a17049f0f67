//! Rooms move between Prosody and Lilt through one data directory: a persistent
//! members-only room Prosody made serves in Lilt with its members, nicks, name and
//! subject, and a room Lilt made serves in Prosody.

use std::net::SocketAddr;

use crate::common::{prosody_ready, Prosody};
use crate::diff::{Client, MUC_HOST};
use crate::support::{Server, HOST};

const CLUB: &str = "club@conference.example.test";
const LROOM: &str = "lroom@conference.example.test";

fn join(room: &str, nick: &str) -> String {
    format!("<presence to='{room}/{nick}'><x xmlns='http://jabber.org/protocol/muc'/></presence>")
}

fn configure(room: &str, fields: &str) -> String {
    format!("<iq type='set' id='cfg' to='{room}'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>{fields}</x></query></iq>")
}

fn member(room: &str, jid: &str, nick: &str) -> String {
    format!("<iq type='set' id='mem' to='{room}'><query xmlns='http://jabber.org/protocol/muc#admin'><item jid='{jid}' affiliation='member' nick='{nick}'/></query></iq>")
}

async fn exchange(c: &mut Client, xml: &str) -> String {
    c.send(xml).await;
    c.sync().await.join("\n")
}

fn prosody_at(data: &std::path::Path) -> Prosody {
    let p = Prosody::new(data, HOST);
    let cfg = std::fs::read_to_string(&p.config_path).expect("config");
    let cfg = cfg.replace(
        &format!("VirtualHost \"{HOST}\""),
        &format!("VirtualHost \"{HOST}\"\nComponent \"{MUC_HOST}\" \"muc\"\n"),
    );
    std::fs::write(&p.config_path, cfg).expect("write config");
    p
}

fn lilt_config_at(data: &std::path::Path) -> String {
    crate::diff::lilt_config("").replace(
        "data_path = \"data\"",
        &format!("data_path = {:?}", data.display().to_string()),
    )
}

#[tokio::test]
async fn a_prosody_room_serves_in_lilt_and_a_lilt_room_serves_in_prosody() {
    if !prosody_ready() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let mut prosody = prosody_at(&data);
    for u in ["alice", "bob", "carol"] {
        prosody.register(u, HOST, "pw");
    }
    prosody.start();
    let paddr: SocketAddr = format!("127.0.0.1:{}", prosody.http_port)
        .parse()
        .expect("addr");
    {
        let mut a = Client::login(paddr, "alice", "r").await;
        exchange(&mut a, &join(CLUB, "Al")).await;
        let fields = "<field var='muc#roomconfig_persistentroom'><value>1</value></field><field var='muc#roomconfig_membersonly'><value>1</value></field><field var='muc#roomconfig_roomname'><value>The Club</value></field>";
        let got = exchange(&mut a, &configure(CLUB, fields)).await;
        assert!(
            got.contains("type='result'") || got.contains("type=\"result\""),
            "{got}"
        );
        exchange(&mut a, &member(CLUB, "bob@example.test", "Bobby")).await;
        exchange(
            &mut a,
            &format!(
                "<message to='{CLUB}' type='groupchat'><subject>Members only</subject></message>"
            ),
        )
        .await;
        exchange(
            &mut a,
            &format!("<presence to='{CLUB}/Al' type='unavailable'/>"),
        )
        .await;
    }
    prosody.stop();
    assert!(data
        .join("conference%2eexample%2etest/config/club.dat")
        .exists());

    // Lilt on Prosody's data directory.
    let lilt = Server::start(&lilt_config_at(&data)).await;
    let mut c = Client::login(lilt.addr, "carol", "r").await;
    let got = exchange(&mut c, &join(CLUB, "Ca")).await;
    assert!(
        got.contains("registration-required"),
        "members only kept: {got}"
    );
    let mut b = Client::login(lilt.addr, "bob", "r").await;
    let got = exchange(&mut b, &join(CLUB, "Bobby")).await;
    assert!(
        got.contains("affiliation='member'") && got.contains("code='110'"),
        "{got}"
    );
    assert!(!got.contains("code='201'"), "not a new room: {got}");
    assert!(got.contains("<subject>Members only</subject>"), "{got}");
    let got = exchange(&mut b, &format!("<iq type='get' id='d' to='{CLUB}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")).await;
    for f in ["muc_membersonly", "muc_persistent", "name='The Club'"] {
        assert!(got.contains(f), "{f} in {got}");
    }
    let got = exchange(&mut b, &join(CLUB, "Other")).await;
    assert!(got.contains("code='303'"), "bob may change nick: {got}");

    // A room Lilt makes, then served by Prosody.
    let mut a = Client::login(lilt.addr, "alice", "r").await;
    exchange(&mut a, &join(LROOM, "Al")).await;
    let fields = "<field var='muc#roomconfig_persistentroom'><value>1</value></field><field var='muc#roomconfig_membersonly'><value>1</value></field><field var='muc#roomconfig_roomname'><value>Lilt room</value></field>";
    exchange(&mut a, &configure(LROOM, fields)).await;
    exchange(&mut a, &member(LROOM, "carol@example.test", "Caro")).await;
    exchange(
        &mut a,
        &format!("<presence to='{LROOM}/Al' type='unavailable'/>"),
    )
    .await;
    drop((a, b, c));
    drop(lilt);
    let text = std::fs::read_to_string(data.join("conference%2eexample%2etest/config/lroom.dat"))
        .expect("lroom stored");
    assert!(
        text.contains("[\"carol@example.test\"] = \"member\";"),
        "{text}"
    );
    let list = std::fs::read_to_string(data.join("conference%2eexample%2etest/persistent.dat"))
        .expect("room list");
    assert!(list.contains(LROOM) && list.contains(CLUB), "{list}");

    let mut prosody = prosody_at(&data);
    prosody.start();
    let paddr: SocketAddr = format!("127.0.0.1:{}", prosody.http_port)
        .parse()
        .expect("addr");
    let mut c = Client::login(paddr, "carol", "r").await;
    let got = exchange(&mut c, &join(LROOM, "Caro")).await;
    assert!(
        got.contains("affiliation='member'") || got.contains("affiliation=\"member\""),
        "{got}\n{}",
        prosody.log()
    );
    assert!(!got.contains("error"), "{got}");
    let got = exchange(&mut c, &format!("<iq type='get' id='d' to='{LROOM}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")).await;
    assert!(
        got.contains("Lilt room") && got.contains("muc_membersonly"),
        "{got}"
    );
    let mut b = Client::login(paddr, "bob", "r").await;
    let got = exchange(&mut b, &join(LROOM, "Bo")).await;
    assert!(got.contains("registration-required"), "{got}");
}

#[tokio::test]
async fn rooms_evicted_past_the_cache_size_come_back_from_storage() {
    let lilt = Server::start(&crate::diff::lilt_config("muc_room_cache_size = 1")).await;
    lilt.add_user("alice", "pw");
    let mut a = Client::login(lilt.addr, "alice", "r").await;
    for room in [CLUB, LROOM] {
        exchange(&mut a, &join(room, "Al")).await;
        let fields = "<field var='muc#roomconfig_persistentroom'><value>1</value></field><field var='muc#roomconfig_roomname'><value>Kept</value></field>";
        exchange(&mut a, &configure(room, fields)).await;
        exchange(&mut a, &format!("<message to='{room}' type='groupchat'><subject>Topic of {room}</subject></message>")).await;
        exchange(
            &mut a,
            &format!("<presence to='{room}/Al' type='unavailable'/>"),
        )
        .await;
    }
    let live = {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let task = lilt::core::session::CoreTask(Box::new(move |core: &mut lilt::core::Core| {
            let n = core
                .state::<lilt::modules::muc::MucState>()
                .services
                .get(MUC_HOST)
                .map_or(0, |s| s.rooms.len());
            let _ = tx.send(n);
        }));
        let _ = lilt.shared.core_tx.send(lilt::core::CoreMsg::Task(task));
        rx.await.expect("core answered")
    };
    assert_eq!(live, 1, "one room stays live");
    for room in [CLUB, LROOM] {
        let got = exchange(&mut a, &join(room, "Al")).await;
        assert!(!got.contains("code='201'"), "{room} is not new: {got}");
        assert!(
            got.contains(&format!("<subject>Topic of {room}</subject>")),
            "{got}"
        );
        exchange(
            &mut a,
            &format!("<presence to='{room}/Al' type='unavailable'/>"),
        )
        .await;
    }
}
