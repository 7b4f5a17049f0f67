//! Offline messages are delivered page by page, all of them and in order, and
//! `offline_message_limit` bounds how many one account can be sent while away.

use crate::im_support::{im_config, Client};
use crate::support::Server;

async fn send_messages(a: &mut Client, n: usize) -> Vec<String> {
    for i in 0..n {
        a.send(&format!(
            "<message to='bob@example.test' type='chat' id='m{i}'><body>n{i}</body></message>"
        ))
        .await;
    }
    a.sync().await
}

async fn received(server: &Server, n_expected: usize) -> Vec<String> {
    let mut bob = Client::login(server, "bob", "phone").await;
    bob.send("<presence/>").await;
    let mut got = Vec::new();
    for frame in bob.sync().await {
        if frame.starts_with("<message") {
            got.push(frame);
        }
    }
    assert_eq!(got.len(), n_expected, "delivered: {got:#?}");
    got
}

#[tokio::test]
async fn more_than_a_page_of_offline_messages_arrives_whole_and_in_order() {
    let server = Server::start(&im_config()).await;
    server.add_user("alice", "pw");
    server.add_user("bob", "pw");
    let mut a = Client::login(&server, "alice", "pc").await;
    let n = lilt::modules::offline::PAGE * 2 + 50;
    send_messages(&mut a, n).await;
    let got = received(&server, n).await;
    for (i, m) in got.iter().enumerate() {
        assert!(
            m.contains(&format!("<body>n{i}</body>")) && m.contains("urn:xmpp:delay"),
            "{i}: {m}"
        );
    }
    let list = server
        .dir
        .path()
        .join("data/example%2etest/offline/bob.list");
    assert!(!list.exists(), "delivered messages are removed");
}

#[tokio::test]
async fn past_offline_message_limit_messages_bounce_instead_of_being_stored() {
    let server = Server::start(&im_config().replace(
        "VirtualHost \"example.test\"",
        "offline_message_limit = 3\nVirtualHost \"example.test\"",
    ))
    .await;
    server.add_user("alice", "pw");
    server.add_user("bob", "pw");
    let mut a = Client::login(&server, "alice", "pc").await;
    let back = send_messages(&mut a, 5).await;
    let bounced: Vec<&String> = back.iter().filter(|f| f.contains("type='error'")).collect();
    assert_eq!(bounced.len(), 2, "{back:#?}");
    assert!(bounced[0].contains("id='m3'"), "{bounced:?}");
    received(&server, 3).await;
}
