//! `storage = "memory"` keeps data only while the server runs; `"none"` keeps nothing.

use crate::im_support::{must_find, Client, MODULES_LINE};
use crate::support::{base_config, Server};

fn config_at(data: &std::path::Path, storage: &str) -> String {
    base_config(storage)
        .replace(
            MODULES_LINE,
            r#"modules_enabled = { "websocket", "http", "ping", "disco", "roster" }"#,
        )
        .replace(
            "data_path = \"data\"",
            &format!("data_path = {:?}", data.display().to_string()),
        )
}

async fn roster_get(c: &mut Client) -> String {
    let got = c
        .exchange("<iq type='get' id='rg'><query xmlns='jabber:iq:roster'/></iq>")
        .await;
    must_find(&got, &["id='rg'"]).clone()
}

const SET_BOB: &str = "<iq type='set' id='rs'><query xmlns='jabber:iq:roster'><item jid='bob@example.test' name='Bob'/></query></iq>";

#[tokio::test]
async fn memory_storage_serves_rosters_until_restart_and_writes_no_roster_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let cfg = config_at(&data, r#"storage = { roster = "memory" }"#);
    {
        let server = Server::start(&cfg).await;
        server.add_user("alice", "pw");
        let mut a = Client::login(&server, "alice", "one").await;
        let got = a.exchange(SET_BOB).await;
        must_find(&got, &["id='rs'", "type='result'"]);
        assert!(roster_get(&mut a).await.contains("name='Bob'"));
        assert!(
            !data.join("example%2etest/roster").exists(),
            "no roster file"
        );
        assert!(
            data.join("example%2etest/accounts/alice.dat").is_file(),
            "accounts stay on the internal driver"
        );
        server.shutdown_sessions().await;
    }
    let server = Server::start(&cfg).await;
    let mut a = Client::login(&server, "alice", "two").await;
    let roster = roster_get(&mut a).await;
    assert!(
        !roster.contains("bob@example.test"),
        "gone after restart: {roster}"
    );
}

#[tokio::test]
async fn none_storage_keeps_nothing_and_the_roster_set_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = Server::start(&config_at(&data, r#"storage = { roster = "none" }"#)).await;
    server.add_user("alice", "pw");
    let mut a = Client::login(&server, "alice", "one").await;
    let got = a.exchange(SET_BOB).await;
    let reply = must_find(&got, &["id='rs'"]);
    assert!(
        reply.contains("type='error'") && reply.contains("internal-server-error"),
        "{reply}"
    );
    assert!(!roster_get(&mut a).await.contains("bob@example.test"));
    assert!(!data.join("example%2etest/roster").exists());
}
