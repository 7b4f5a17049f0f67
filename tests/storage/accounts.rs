//! Account creation is create-if-absent at the store, and storage failures reach clients
//! in Prosody's words, never with a path or an OS message.

use crate::support::{Server, WsClient, HOST};

fn config() -> String {
    r#"
http_ports = { 0 }
https_ports = { }
data_path = "data"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
allow_registration = true
modules_enabled = { "websocket", "http", "disco", "register" }
VirtualHost "example.test"
"#
    .to_owned()
}

async fn register(addr: std::net::SocketAddr, user: &str) -> String {
    let mut c = WsClient::connect(addr).await;
    c.open(HOST).await;
    c.send_text(&format!(
        "<iq xmlns='jabber:client' type='set' id='r1'><query xmlns='jabber:iq:register'><username>{user}</username><password>pw</password></query></iq>"
    ))
    .await;
    loop {
        let t = c.next_text().await;
        if t.contains("id='r1'") {
            return t;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_concurrent_registrations_of_one_name_exactly_one_succeeds() {
    let s = Server::start(&config()).await;
    let tasks: Vec<_> = (0..8)
        .map(|_| tokio::spawn(register(s.addr, "racer")))
        .collect();
    let mut replies = Vec::new();
    for t in tasks {
        replies.push(t.await.expect("task"));
    }
    let ok = replies
        .iter()
        .filter(|r| r.contains("type='result'"))
        .count();
    let conflict = replies.iter().filter(|r| r.contains("<conflict")).count();
    assert_eq!((ok, conflict), (1, 7), "{replies:#?}");
}

#[tokio::test]
async fn a_username_too_long_for_a_file_name_fails_in_prosodys_words_without_a_path() {
    let s = Server::start(&config()).await;
    let reply = register(s.addr, &"a".repeat(1000)).await;
    assert!(reply.contains("type='error'"), "{reply}");
    assert!(reply.contains("Error saving to storage"), "{reply}");
    let data = s.dir.path().display().to_string();
    assert!(
        !reply.contains("File name too long") && !reply.contains(&data),
        "{reply}"
    );
}
