//! Plugins written the way Prosody's stock plugins are, checked through a real client:
//! IQ handlers, message/bare priorities and stop, resource-bind, timers, stores, HTTP
//! routes, and the bundled motd and announce plugins.

use crate::support;

use support::{http_get, Server, WsClient, HOST};

fn config() -> String {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/lua_plugins");
    format!(
        r#"
http_ports = {{ 0 }}
https_ports = {{ }}
data_path = "data"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
plugin_paths = {{ "{fixtures}" }}
admins = {{ "admin@{HOST}" }}
greeter_text = "welcome"
motd_text = [[
    Be excellent to each other.
]]
modules_enabled = {{ "websocket", "http", "disco", "ping", "greeter", "motd", "announce", "http_status" }}
VirtualHost "{HOST}"
"#
    )
}

async fn login(s: &Server, user: &str) -> WsClient {
    s.add_user(user, "pw");
    let mut c = WsClient::connect(s.addr).await;
    c.login(user, "pw", "web").await;
    let bound = c.next_text().await;
    assert!(
        bound.contains("id='bound'") && bound.contains("bound web"),
        "{bound}"
    );
    c
}

async fn available(c: &mut WsClient) {
    c.send_text("<presence xmlns='jabber:client'/>").await;
    // The presence comes back, and mod_motd's message of the day (in either order).
    let mut got = vec![c.next_text().await, c.next_text().await];
    got.sort();
    assert!(
        got[0].contains("Be excellent to each other.</body>"),
        "{got:?}"
    );
    assert!(got[1].starts_with("<presence"), "{got:?}");
}

#[tokio::test]
async fn iq_handlers_stores_and_timers_of_a_lua_plugin_answer_a_client() {
    let s = Server::start(&config()).await;
    let mut a = login(&s, "alice").await;
    a.send_text(&format!("<iq xmlns='jabber:client' type='get' id='g1' to='{HOST}'><greet xmlns='urn:example:greeter'/></iq>")).await;
    let r = a.next_text().await;
    assert!(
        r.contains("id='g1'") && r.contains(">welcome alice</greet>"),
        "{r}"
    );

    a.send_text(&format!("<iq xmlns='jabber:client' type='set' id='n1' to='{HOST}'><note xmlns='urn:example:greeter'>remember me</note></iq>")).await;
    let r = a.next_text().await;
    assert!(r.contains("id='n1'") && r.contains("type='result'"), "{r}");
    a.send_text(&format!("<iq xmlns='jabber:client' type='get' id='n2' to='{HOST}'><note xmlns='urn:example:greeter'/></iq>")).await;
    let r = a.next_text().await;
    assert!(r.contains(">remember me</note>"), "{r}");

    a.send_text(&format!("<iq xmlns='jabber:client' type='get' id='t1' to='{HOST}'><later xmlns='urn:example:greeter'/></iq>")).await;
    let r = a.next_text().await;
    assert!(
        r.contains("id='t1'") && r.contains("<later xmlns='urn:example:greeter'/>"),
        "{r}"
    );

    let info = {
        a.send_text(&format!("<iq xmlns='jabber:client' type='get' id='d1' to='{HOST}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")).await;
        a.next_text().await
    };
    assert!(info.contains("var='urn:example:greeter'"), "{info}");

    // The note is visible over the plugin's HTTP route; the plain route too.
    let req =
        |path: &str| format!("GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n");
    let (head, body) = http_get(s.addr, &req("/greeter/hello")).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain"),
        "{head}"
    );
    assert_eq!(body, "welcome over http");
    let (head, body) = http_get(s.addr, &req("/greeter/users/alice")).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, r#"{"note":"remember me"}"#);
    let (head, _) = http_get(s.addr, &req("/greeter/users/nobody")).await;
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
}

#[tokio::test]
async fn message_hooks_run_by_priority_stop_and_rewrite_before_native_delivery() {
    let s = Server::start(&config()).await;
    let mut a = login(&s, "alice").await;
    let mut b = login(&s, "bob").await;
    available(&mut b).await;
    a.send_text(&format!("<message xmlns='jabber:client' to='bob@{HOST}' type='chat' id='m1'><body>hi bob</body></message>")).await;
    let got = b.next_text().await;
    assert!(got.contains("<body>hi bob [checked]</body>"), "{got}");
    a.send_text(&format!("<message xmlns='jabber:client' to='bob@{HOST}' type='chat' id='m2'><body>forbidden words</body></message>")).await;
    let err = a.next_text().await;
    assert!(
        err.contains("id='m2'") && err.contains("<policy-violation"),
        "{err}"
    );
    // Bob got nothing for m2: the next thing he sees is m3.
    a.send_text(&format!("<message xmlns='jabber:client' to='bob@{HOST}' type='chat' id='m3'><body>again</body></message>")).await;
    let got = b.next_text().await;
    assert!(got.contains("id='m3'"), "{got}");
}

#[tokio::test]
async fn bundled_announce_reaches_online_users_only_from_an_admin() {
    let s = Server::start(&config()).await;
    let mut admin = login(&s, "admin").await;
    let mut bob = login(&s, "bob").await;
    available(&mut bob).await;
    let mut eve = login(&s, "eve").await;
    eve.send_text(&format!("<message xmlns='jabber:client' to='{HOST}/announce/online' id='x1'><body>fake</body></message>")).await;
    let err = eve.next_text().await;
    assert!(err.contains("<forbidden"), "{err}");
    admin.send_text(&format!("<message xmlns='jabber:client' to='{HOST}/announce/online' id='a1'><body>maintenance at noon</body></message>")).await;
    let got = bob.next_text().await;
    assert!(
        got.contains("maintenance at noon") && got.contains(&format!("from='{HOST}'")),
        "{got}"
    );
}

#[tokio::test]
async fn bundled_http_status_reports_uptime_sessions_and_modules() {
    let s = Server::start(&config()).await;
    let _a = login(&s, "alice").await;
    let req =
        |path: &str| format!("GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n");
    let (head, body) = http_get(s.addr, &req("/status")).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    assert!(
        body.starts_with(&format!(
            "{{\"host\":\"{HOST}\",\"sessions\":1,\"status\":\"ok\",\"uptime\":"
        )),
        "{body}"
    );
    let (_, body) = http_get(s.addr, &req("/status/modules")).await;
    // Native and Lua modules alike.
    for m in [
        "\"disco\"",
        "\"greeter\"",
        "\"http_status\"",
        "\"iq\"",
        "\"motd\"",
    ] {
        assert!(body.contains(m), "{m} in {body}");
    }
}

#[tokio::test]
async fn send_iq_promises_resolve_on_the_reply_and_reject_on_timeout() {
    let s = Server::start(&config()).await;
    let mut a = login(&s, "alice").await;
    a.send_text(&format!("<iq xmlns='jabber:client' type='get' id='q1' to='{HOST}'><ask xmlns='urn:example:greeter'/></iq>")).await;
    let ack = a.next_text().await;
    assert!(
        ack.contains("id='q1'") && ack.contains("type='result'"),
        "{ack}"
    );
    let ask = a.next_text().await;
    assert!(
        ask.contains("id='ask-q1'") && ask.contains("urn:xmpp:ping"),
        "{ask}"
    );
    a.send_text(&format!(
        "<iq xmlns='jabber:client' type='result' id='ask-q1' to='{HOST}'/>"
    ))
    .await;
    let msg = a.next_text().await;
    assert!(msg.contains("<body>answered result</body>"), "{msg}");

    a.send_text(&format!("<iq xmlns='jabber:client' type='get' id='q2' to='{HOST}'><ask xmlns='urn:example:greeter' timeout='0.1'/></iq>")).await;
    let _ack = a.next_text().await;
    let _ask = a.next_text().await;
    let msg = a.next_text().await;
    assert!(
        msg.contains("<body>failed remote-server-timeout</body>"),
        "{msg}"
    );
}
