//! Prosody 0.12.3's own stock plugins (Debian's prosody package) run unchanged in Lilt
//! with `plugin_paths` pointing at them, and answer a real WebSocket client.

use crate::support;

use support::{Server, WsClient, HOST};

const STOCK: &str = "/usr/lib/prosody/modules";

fn config() -> String {
    format!(
        r#"
http_ports = {{ 0 }}
https_ports = {{ }}
data_path = "data"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
plugin_paths = {{ "{STOCK}" }}
admins = {{ "admin@{HOST}" }}
modules_enabled = {{ "websocket", "http", "disco", "ping", "version", "time", "uptime", "lastactivity", "announce" }}
VirtualHost "{HOST}"
"#
    )
}

fn have_stock() -> bool {
    let ok = std::path::Path::new(STOCK).join("mod_version.lua").exists();
    if !ok {
        eprintln!("skipping: Debian's prosody package is not installed");
    }
    ok
}

async fn iq(c: &mut WsClient, id: &str, to: &str, payload: &str) -> String {
    c.send_text(&format!(
        "<iq xmlns='jabber:client' type='get' id='{id}' to='{to}'>{payload}</iq>"
    ))
    .await;
    c.next_text().await
}

#[tokio::test]
async fn stock_ping_version_time_uptime_and_lastactivity_answer_a_client() {
    if !have_stock() {
        return;
    }
    let s = Server::start(&config()).await;
    s.add_user("alice", "secret");
    let mut a = WsClient::connect(s.addr).await;
    a.login("alice", "secret", "web").await;

    let pong = iq(&mut a, "p1", HOST, "<ping xmlns='urn:xmpp:ping'/>").await;
    assert!(
        pong.contains("type='result'") && pong.contains("id='p1'"),
        "{pong}"
    );

    let version = iq(&mut a, "v1", HOST, "<query xmlns='jabber:iq:version'/>").await;
    assert!(version.contains("<name>Prosody</name>"), "{version}");
    assert!(version.contains("<version>0.12.3</version>"), "{version}");
    assert!(version.contains("<os>Linux</os>"), "{version}");

    let time = iq(&mut a, "t1", HOST, "<time xmlns='urn:xmpp:time'/>").await;
    assert!(time.contains("<tzo>+00:00</tzo>"), "{time}");
    let utc = time.split("<utc>").nth(1).expect("utc element");
    assert!(
        utc.len() > 20 && utc.as_bytes()[10] == b'T' && utc[..20].ends_with('Z'),
        "{time}"
    );

    let legacy = iq(&mut a, "t2", HOST, "<query xmlns='jabber:iq:time'/>").await;
    assert!(
        legacy.contains("jabber:iq:time") && legacy.contains("<utc>"),
        "{legacy}"
    );

    let uptime = iq(&mut a, "u1", HOST, "<query xmlns='jabber:iq:last'/>").await;
    assert!(
        uptime.contains("type='result'") && uptime.contains("seconds='"),
        "{uptime}"
    );

    // Last activity of one's own account (no `to`): the stock module answers 0 seconds.
    a.send_text(
        "<iq xmlns='jabber:client' type='get' id='l1'><query xmlns='jabber:iq:last'/></iq>",
    )
    .await;
    let last = a.next_text().await;
    assert!(
        last.contains("id='l1'") && last.contains("seconds='0'"),
        "{last}"
    );

    // Their features reach the native disco#info, and mod_adhoc (pulled in by
    // mod_uptime's module:depends) lists its command node.
    let info = iq(
        &mut a,
        "d1",
        HOST,
        "<query xmlns='http://jabber.org/protocol/disco#info'/>",
    )
    .await;
    for f in [
        "urn:xmpp:ping",
        "jabber:iq:version",
        "urn:xmpp:time",
        "jabber:iq:last",
        "http://jabber.org/protocol/commands",
    ] {
        assert!(info.contains(&format!("var='{f}'")), "{f} in {info}");
    }
}

#[tokio::test]
async fn stock_uptime_adhoc_command_runs_through_the_stock_adhoc_module() {
    if !have_stock() {
        return;
    }
    let s = Server::start(&config()).await;
    s.add_user("alice", "secret");
    let mut a = WsClient::connect(s.addr).await;
    a.login("alice", "secret", "web").await;
    a.send_text(&format!(
        "<iq xmlns='jabber:client' type='set' id='c1' to='{HOST}'><command xmlns='http://jabber.org/protocol/commands' node='uptime' action='execute'/></iq>"
    ))
    .await;
    let r = a.next_text().await;
    assert!(
        r.contains("type='result'") && r.contains("status='completed'"),
        "{r}"
    );
    assert!(r.contains("This server has been running for"), "{r}");
}

#[tokio::test]
async fn stock_announce_reaches_online_users_by_message_and_by_adhoc_form() {
    if !have_stock() {
        return;
    }
    let s = Server::start(&config()).await;
    s.add_user("admin", "pw");
    s.add_user("bob", "pw");
    let mut admin = WsClient::connect(s.addr).await;
    admin.login("admin", "pw", "web").await;
    let mut bob = WsClient::connect(s.addr).await;
    bob.login("bob", "pw", "web").await;
    bob.send_text("<presence xmlns='jabber:client'/>").await;
    let _own = bob.next_text().await;

    admin
        .send_text(&format!(
            "<message xmlns='jabber:client' to='{HOST}/announce/online' id='a1'><body>by message</body></message>"
        ))
        .await;
    let got = bob.next_text().await;
    assert!(got.contains("<body>by message</body>"), "{got}");

    // XEP-0133 through the stock mod_adhoc: the form, then its submission.
    let node = "http://jabber.org/protocol/admin#announce";
    admin
        .send_text(&format!(
            "<iq xmlns='jabber:client' type='set' id='c1' to='{HOST}'><command xmlns='http://jabber.org/protocol/commands' node='{node}' action='execute'/></iq>"
        ))
        .await;
    let form = admin.next_text().await;
    assert!(
        form.contains("status='executing'") && form.contains("var='announcement'"),
        "{form}"
    );
    let sid = form
        .split("sessionid='")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .expect("session id");
    admin
        .send_text(&format!(
            "<iq xmlns='jabber:client' type='set' id='c2' to='{HOST}'><command xmlns='http://jabber.org/protocol/commands' node='{node}' sessionid='{sid}' action='complete'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/admin</value></field><field var='subject'><value>News</value></field><field var='announcement'><value>by form</value></field></x></command></iq>"
        ))
        .await;
    let done = admin.next_text().await;
    assert!(
        done.contains("status='completed'") && done.contains("Announcement sent to"),
        "{done}"
    );
    let got = bob.next_text().await;
    assert!(
        got.contains("<body>by form</body>") && got.contains("<subject>News</subject>"),
        "{got}"
    );
}
