//! The example plugin in examples/plugins behaves as its header says, through a real
//! client: IQ, chat command, store and HTTP route.

use crate::support;

use support::{http_get, Server, WsClient, HOST};

fn config() -> String {
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/plugins");
    format!(
        r#"
http_ports = {{ 0 }}
https_ports = {{ }}
data_path = "data"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
plugin_paths = {{ "{examples}" }}
hello_greeting = "Hi"
modules_enabled = {{ "websocket", "http", "disco", "hello" }}
VirtualHost "{HOST}"
"#
    )
}

#[tokio::test]
async fn example_hello_plugin_greets_counts_and_serves_stats() {
    let s = Server::start(&config()).await;
    s.add_user("alice", "pw");
    let mut a = WsClient::connect(s.addr).await;
    a.login("alice", "pw", "web").await;

    a.send_text(&format!(
        "<iq xmlns='jabber:client' type='get' id='h1' to='{HOST}'><hello xmlns='urn:example:hello'/></iq>"
    ))
    .await;
    let r = a.next_text().await;
    assert!(
        r.contains("id='h1'") && r.contains(">Hi, alice! (greeting #1)</hello>"),
        "{r}"
    );

    a.send_text(&format!(
        "<message xmlns='jabber:client' type='chat' to='{HOST}'><body>!hello there</body></message>"
    ))
    .await;
    let r = a.next_text().await;
    assert!(r.contains("<body>Hi, alice! (greeting #2)</body>"), "{r}");

    // Not a command: nobody handles it, so the server's default answer comes back.
    a.send_text(&format!(
        "<message xmlns='jabber:client' type='chat' id='x' to='{HOST}'><body>hello?</body></message>"
    ))
    .await;
    let r = a.next_text().await;
    assert!(
        r.contains("type='error'") && r.contains("service-unavailable"),
        "{r}"
    );

    let (head, body) = http_get(
        s.addr,
        &format!("GET /hello/stats/alice HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        body.contains("\"greetings\":2") && body.contains("\"user\":\"alice\""),
        "{body}"
    );
}
