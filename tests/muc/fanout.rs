//! A room's broadcast is one shared stanza written with each occupant's own `to`; where
//! the recipient's host has more than the stock delivery on `message/full`, every copy
//! still goes through that event (Lilt only: it pins Lilt's shortcut, not Prosody).

use crate::diff::{lilt_config, Client};
use crate::support::Server;

const R: &str = "room@conference.example.test";

/// alice creates the room, bob and carol join; alice's message is returned by everyone.
async fn chat(lilt: &Server) -> Vec<String> {
    for u in ["alice", "bob", "carol"] {
        lilt.add_user(u, "pw");
    }
    let mut a = Client::login(lilt.addr, "alice", "r").await;
    a.send(&format!(
        "<presence to='{R}/Al'><x xmlns='http://jabber.org/protocol/muc'/></presence>"
    ))
    .await;
    a.send(&format!("<iq type='set' id='i' to='{R}'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>")).await;
    a.sync().await;
    let mut others = Vec::new();
    for (u, nick) in [("bob", "Bo"), ("carol", "Ca")] {
        let mut c = Client::login(lilt.addr, u, "r").await;
        c.send(&format!(
            "<presence to='{R}/{nick}'><x xmlns='http://jabber.org/protocol/muc'/></presence>"
        ))
        .await;
        let got = c.sync().await.join("\n");
        assert!(got.contains("code='110'"), "{got}");
        others.push(c);
    }
    a.send(&format!(
        "<message to='{R}' type='groupchat'><body>to all &amp; &lt;each&gt;</body></message>"
    ))
    .await;
    let mut got = Vec::new();
    for c in std::iter::once(&mut a).chain(others.iter_mut()) {
        let msgs: Vec<String> = c
            .sync()
            .await
            .into_iter()
            .filter(|s| s.starts_with("<message") && s.contains("to all"))
            .collect();
        assert_eq!(msgs.len(), 1, "{msgs:?}");
        got.extend(msgs);
    }
    got
}

#[tokio::test]
async fn every_occupant_gets_the_shared_message_addressed_to_itself() {
    let lilt = Server::start(&lilt_config("")).await;
    let got = chat(&lilt).await;
    for (msg, user) in got.iter().zip(["alice", "bob", "carol"]) {
        assert!(
            msg.contains(&format!("to='{user}@example.test/r'")),
            "{msg}"
        );
        assert!(msg.contains(&format!("from='{R}/Al'")), "{msg}");
        assert!(
            msg.contains("<body>to all &amp; &lt;each&gt;</body>"),
            "{msg}"
        );
        assert_eq!(msg.matches(" to='").count(), 1, "one `to` only: {msg}");
    }
}

#[tokio::test]
async fn a_plugin_on_the_recipients_message_full_sees_every_copy() {
    let config = lilt_config("").replace(
        "modules_enabled = { \"websocket\", \"http\", \"ping\", \"disco\" }",
        "modules_enabled = { \"websocket\", \"http\", \"ping\", \"disco\", \"tag_full\" }",
    );
    assert!(
        config.contains("tag_full"),
        "the config line moved: {config}"
    );
    let lilt = Server::start(&config).await;
    for msg in chat(&lilt).await {
        assert!(msg.contains("urn:example:tag"), "{msg}");
    }
}
