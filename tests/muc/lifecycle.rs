//! What happens to occupants when their connection goes (Lilt only: a closed socket
//! cannot be scripted the same way against both servers).

use crate::diff::{lilt_config, Client};
use crate::support::Server;

const R: &str = "room@conference.example.test";

#[tokio::test]
async fn an_occupant_whose_connection_closes_leaves_the_room() {
    let lilt = Server::start(&lilt_config("")).await;
    lilt.add_user("alice", "pw");
    lilt.add_user("bob", "pw");
    let mut a = Client::login(lilt.addr, "alice", "r").await;
    a.send(&format!(
        "<presence to='{R}/Al'><x xmlns='http://jabber.org/protocol/muc'/></presence>"
    ))
    .await;
    a.send(&format!("<iq type='set' id='i' to='{R}'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>")).await;
    a.sync().await;
    {
        let mut b = Client::login(lilt.addr, "bob", "r").await;
        b.send(&format!(
            "<presence to='{R}/Bo'><x xmlns='http://jabber.org/protocol/muc'/></presence>"
        ))
        .await;
        let got = b.sync().await.join("\n");
        assert!(got.contains("code='110'"), "{got}");
    }
    // bob's socket is closed: the room hears him leave.
    let mut left = String::new();
    for _ in 0..20 {
        left = a.sync().await.join("\n");
        if left.contains("type='unavailable'") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        left.contains(&format!("from='{R}/Bo'")) && left.contains("role='none'"),
        "{left}"
    );
}
