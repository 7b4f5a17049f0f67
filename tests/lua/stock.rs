//! Stock plugins of Debian's Prosody 0.12.3 (and its prosody-modules) that hook the
//! account events, driven through a real WebSocket client: they act as in Prosody.

use base64::Engine;

use super::support::{ask, Server, WsClient, HOST};

const STOCK: &str = "/usr/lib/prosody/modules";

fn have_stock() -> bool {
    let ok = std::path::Path::new(STOCK).join("mod_welcome.lua").exists();
    if !ok {
        eprintln!("skipping: Debian's prosody package is not installed");
    }
    ok
}

fn config(modules: &str, extra: &str) -> String {
    format!(
        r#"
http_ports = {{ 0 }}
https_ports = {{ }}
data_path = "data"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
allow_registration = true
plugin_paths = {{ "{STOCK}" }}
admins = {{ "Admin@{HOST}" }}
modules_enabled = {{ "websocket", "http", "disco", "register", "offline", "roster", {modules} }}
{extra}
VirtualHost "{HOST}"
"#
    )
}

/// Registers `user` in band on a fresh stream; returns the server's answer.
async fn register(s: &Server, user: &str, password: &str) -> String {
    let mut c = WsClient::connect(s.addr).await;
    c.open(HOST).await;
    ask(
        &mut c,
        &format!("<iq type='set' id='reg'><query xmlns='jabber:iq:register'><username>{user}</username><password>{password}</password></query></iq>"),
        "reg",
    )
    .await
}

async fn online(s: &Server, user: &str) -> WsClient {
    let mut c = WsClient::connect(s.addr).await;
    c.login(user, "pw", "r").await;
    c.send_text("<presence xmlns='jabber:client'/>").await;
    c
}

async fn until(c: &mut WsClient, needle: &str) -> String {
    loop {
        let t = c.next_text().await;
        if t.contains(needle) {
            return t;
        }
    }
}

#[tokio::test]
async fn welcome_messages_a_user_who_just_registered() {
    if !have_stock() {
        return;
    }
    let s = Server::start(&config(
        r#""welcome""#,
        r#"welcome_message = "Hi $username on $host""#,
    ))
    .await;
    let r = register(&s, "newbie", "pw").await;
    assert!(r.contains("type='result'"), "{r}");
    let mut c = online(&s, "newbie").await;
    let m = until(&mut c, "<message").await;
    assert!(m.contains(&format!("Hi newbie on {HOST}")), "{m}");
}

#[tokio::test]
async fn watchregistrations_tells_the_admins_with_the_ip() {
    if !have_stock() {
        return;
    }
    let s = Server::start(&config(r#""watchregistrations""#, "")).await;
    s.add_user("admin", "pw");
    let mut admin = online(&s, "admin").await;
    let r = register(&s, "carol", "pw").await;
    assert!(r.contains("type='result'"), "{r}");
    let m = until(&mut admin, "<message").await;
    assert!(
        m.contains(&format!(
            "User carol just registered on {HOST} from 127.0.0.1"
        )),
        "{m}"
    );
}

#[tokio::test]
async fn register_limits_refuses_blocklisted_ips_and_throttles() {
    if !have_stock() {
        return;
    }
    let s = Server::start(&config(
        r#""register_limits""#,
        r#"registration_blocklist = { "127.0.0.1" }"#,
    ))
    .await;
    let r = register(&s, "dave", "pw").await;
    assert!(
        r.contains("type='error'") && r.contains("<forbidden"),
        "{r}"
    );
    assert!(!s.shared.accounts.exists(HOST, "dave").unwrap_or(true));

    let s = Server::start(&config(
        r#""register_limits""#,
        "registration_allowlist = { }\nregistration_throttle_max = 1\nregistration_throttle_period = 3600",
    ))
    .await;
    let r = register(&s, "erin", "pw").await;
    assert!(r.contains("type='result'"), "{r}");
    let r = register(&s, "frank", "pw").await;
    assert!(
        r.contains("policy-violation")
            && r.contains("Too many registrations from this IP address recently"),
        "{r}"
    );
}

#[tokio::test]
async fn tombstones_keep_a_deleted_name_from_being_registered_again() {
    if !have_stock() {
        return;
    }
    let s = Server::start(&config(r#""tombstones""#, "")).await;
    s.add_user("gone", "pw");
    let mut c = WsClient::connect(s.addr).await;
    c.login("gone", "pw", "r").await;
    let r = ask(
        &mut c,
        "<iq type='set' id='rm'><query xmlns='jabber:iq:register'><remove/></query></iq>",
        "rm",
    )
    .await;
    assert!(r.contains("type='result'"), "{r}");
    let r = register(&s, "gone", "pw").await;
    assert!(r.contains("type='error'"), "{r}");
    assert!(!s.shared.accounts.exists(HOST, "gone").unwrap_or(true));
}

#[tokio::test]
async fn lastlog2_records_logins_and_registrations() {
    if !have_stock() {
        return;
    }
    let s = Server::start(&config(r#""lastlog2""#, "")).await;
    let r = register(&s, "henry", "pw").await;
    assert!(r.contains("type='result'"), "{r}");
    let _c = online(&s, "henry").await;
    let stored = s
        .shared
        .store
        .get(HOST, Some("henry"), "lastlog2")
        .expect("store readable")
        .expect("lastlog2 wrote");
    let text = format!("{stored:?}");
    assert!(
        text.contains("registered") && text.contains("login"),
        "{text}"
    );
}

#[tokio::test]
async fn authentication_failure_reaches_plugins_with_the_condition() {
    if !have_stock() {
        return;
    }
    let s = Server::start_with(
        &config(r#""authlog""#, "").replace(
            &format!("plugin_paths = {{ \"{STOCK}\" }}"),
            "plugin_paths = { \"plugins\" }",
        ),
        |dir| {
            std::fs::create_dir_all(dir.join("plugins")).expect("plugins dir");
            std::fs::write(
                dir.join("plugins/mod_authlog.lua"),
                r#"local store = module:open_store("authlog");
                module:hook("authentication-failure", function(event)
                    store:set("log", { condition = event.condition, text = event.text, ip = event.session.ip });
                end);
                module:hook("authentication-success", function(event)
                    store:set("ok", { user = event.session.username, type = event.session.type });
                end);"#,
            )
            .expect("write plugin");
        },
    )
    .await;
    s.add_user("ivan", "pw");
    let mut c = WsClient::connect(s.addr).await;
    c.open(HOST).await;
    let payload = base64::engine::general_purpose::STANDARD.encode("\0ivan\0wrong");
    c.send_text(&format!(
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{payload}</auth>"
    ))
    .await;
    let f = c.next_text().await;
    assert!(f.contains("not-authorized"), "{f}");
    let mut ok = WsClient::connect(s.addr).await;
    ok.login("ivan", "pw", "r").await;
    // The events run on the core after the answers; a ping round trip orders them.
    let pong = ask(&mut ok, &format!("<iq type='get' id='p' to='{HOST}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"), "p").await;
    assert!(pong.contains("result"), "{pong}");
    let log = format!(
        "{:?}",
        s.shared
            .store
            .get(HOST, Some("log"), "authlog")
            .expect("read")
    );
    assert!(
        log.contains("not-authorized") && log.contains("127.0.0.1"),
        "{log}"
    );
    let okv = format!(
        "{:?}",
        s.shared
            .store
            .get(HOST, Some("ok"), "authlog")
            .expect("read")
    );
    assert!(okv.contains("ivan"), "{okv}");
}

#[tokio::test]
async fn adhoc_commands_are_listed_on_the_commands_node_for_admins_only() {
    if !have_stock() {
        return;
    }
    let s = Server::start(&config(r#""adhoc", "admin_adhoc", "announce""#, "")).await;
    s.add_user("admin", "pw");
    s.add_user("joe", "pw");
    let node = "http://jabber.org/protocol/commands";
    let items = format!(
        "<iq type='get' id='i1' to='{HOST}'><query xmlns='http://jabber.org/protocol/disco#items' node='{node}'/></iq>"
    );
    let mut admin = WsClient::connect(s.addr).await;
    admin.login("admin", "pw", "r").await;
    let list = ask(&mut admin, &items, "i1").await;
    assert!(
        list.contains("type='result'")
            && list.contains("node='http://jabber.org/protocol/admin#add-user'")
            && list.contains("node='http://jabber.org/protocol/admin#announce'"),
        "{list}"
    );
    let mut joe = WsClient::connect(s.addr).await;
    joe.login("joe", "pw", "r").await;
    let list = ask(&mut joe, &items, "i1").await;
    assert!(
        list.contains("type='result'") && !list.contains("add-user"),
        "{list}"
    );
    let info = format!(
        "<iq type='get' id='i2' to='{HOST}'><query xmlns='http://jabber.org/protocol/disco#info' node='{node}'/></iq>"
    );
    let r = ask(&mut joe, &info, "i2").await;
    assert!(r.contains("command-list"), "{r}");
    let missing = info.replace(node, "urn:nothing").replace("i2", "i3");
    let r = ask(&mut joe, &missing, "i3").await;
    assert!(r.contains("item-not-found"), "{r}");
}

#[tokio::test]
async fn bundled_adhoc_runs_a_plugins_command_and_lists_it() {
    let s = Server::start_with(
        &format!(
            r#"
http_ports = {{ 0 }}
https_ports = {{ }}
data_path = "data"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
plugin_paths = {{ "plugins" }}
modules_enabled = {{ "websocket", "http", "disco", "hello" }}
VirtualHost "{HOST}"
"#
        ),
        |dir| {
            std::fs::create_dir_all(dir.join("plugins")).expect("plugins dir");
            std::fs::write(
                dir.join("plugins/mod_hello.lua"),
                r#"module:depends("adhoc");
                local adhoc_new = module:require "adhoc".new;
                module:provides("adhoc", adhoc_new("Say hello", "urn:x:hello", function()
                    return { status = "completed", info = "Hello from Lua" };
                end, "any"));"#,
            )
            .expect("write plugin");
        },
    )
    .await;
    s.add_user("kim", "pw");
    let mut c = WsClient::connect(s.addr).await;
    c.login("kim", "pw", "r").await;
    let list = ask(
        &mut c,
        &format!("<iq type='get' id='l' to='{HOST}'><query xmlns='http://jabber.org/protocol/disco#items' node='http://jabber.org/protocol/commands'/></iq>"),
        "l",
    )
    .await;
    assert!(
        list.contains("node='urn:x:hello'") && list.contains("name='Say hello'"),
        "{list}"
    );
    let r = ask(
        &mut c,
        &format!("<iq type='set' id='x' to='{HOST}'><command xmlns='http://jabber.org/protocol/commands' node='urn:x:hello' action='execute'/></iq>"),
        "x",
    )
    .await;
    assert!(
        r.contains("status='completed'") && r.contains("<note type='info'>Hello from Lua</note>"),
        "{r}"
    );
}

#[tokio::test]
async fn roster_load_and_deregistration_events_carry_prosodys_fields() {
    let s = Server::start_with(
        &format!(
            r#"
http_ports = {{ 0 }}
https_ports = {{ }}
data_path = "data"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
plugin_paths = {{ "plugins" }}
modules_enabled = {{ "websocket", "http", "disco", "roster", "register", "probe" }}
VirtualHost "{HOST}"
"#
        ),
        |dir| {
            std::fs::create_dir_all(dir.join("plugins")).expect("plugins dir");
            std::fs::write(
                dir.join("plugins/mod_probe.lua"),
                r#"module:hook("roster-load", function(event)
                    event.roster["support@example.test"] = { subscription = "both", name = "Support", groups = { Help = true } };
                end);
                local seen = module:open_store("seen");
                module:hook("user-deregistered", function(event)
                    seen:set("bye", { user = event.username, host = event.host, source = event.source, sid = event.session.id });
                end);
                module:hook_global("user-deleted", function(event)
                    seen:set("deleted", { user = event.username, host = event.host });
                end);"#,
            )
            .expect("write plugin");
        },
    )
    .await;
    s.add_user("lea", "pw");
    s.add_user("max", "pw");
    let mut other = WsClient::connect(s.addr).await;
    other.login("max", "pw", "r").await;
    let mut c = WsClient::connect(s.addr).await;
    c.login("lea", "pw", "r").await;
    let roster = ask(
        &mut c,
        "<iq type='get' id='ro'><query xmlns='jabber:iq:roster'/></iq>",
        "ro",
    )
    .await;
    assert!(
        roster.contains("jid='support@example.test'") && roster.contains("<group>Help</group>"),
        "{roster}"
    );
    let r = ask(
        &mut c,
        "<iq type='set' id='rm'><query xmlns='jabber:iq:register'><remove/></query></iq>",
        "rm",
    )
    .await;
    assert!(r.contains("type='result'"), "{r}");
    // The core fires user-deregistered after sending the answer: a round trip of another
    // session orders the check after it.
    let probe = format!("<iq type='get' id='p' to='{HOST}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
    let pong = ask(&mut other, &probe, "p").await;
    assert!(pong.contains("result"), "{pong}");
    let bye = format!(
        "{:?}",
        s.shared.store.get(HOST, Some("bye"), "seen").expect("read")
    );
    assert!(
        bye.contains("lea") && bye.contains("mod_register") && bye.contains("sid"),
        "{bye}"
    );
    let deleted = format!(
        "{:?}",
        s.shared
            .store
            .get(HOST, Some("deleted"), "seen")
            .expect("read")
    );
    assert!(deleted.contains("lea"), "{deleted}");
}

#[tokio::test]
async fn authz_internal_with_admins_decides_who_is_admin() {
    if !have_stock() {
        return;
    }
    // A probe answers an IQ with what core.usermanager says, through mod_authz_internal
    // loaded from the stock directory (`admins` spelt with another case on purpose).
    let s = Server::start_with(
        &config(r#""probe""#, "")
            .replace(
                &format!("plugin_paths = {{ \"{STOCK}\" }}"),
                &format!("plugin_paths = {{ \"plugins\", \"{STOCK}\" }}"),
            ),
        |dir| {
            std::fs::create_dir_all(dir.join("plugins")).expect("plugins dir");
            std::fs::write(
                dir.join("plugins/mod_probe.lua"),
                r#"local st = require "util.stanza";
                local um = require "core.usermanager";
                module:hook("iq-get/host/urn:x:probe:query", function(event)
                    local h = module.host;
                    local from = require "util.jid".bare(event.stanza.attr.from);
                    um.set_roles("moderator@" .. h, h, { ["prosody:admin"] = true });
                    local jids = um.get_jids_with_role("prosody:admin", h);
                    table.sort(jids);
                    local text = tostring(um.is_admin(from, h)) .. "|" .. table.concat(jids, ",")
                        .. "|" .. tostring(prosody.hosts[h].modules.authz_internal ~= nil);
                    event.origin.send(st.reply(event.stanza):tag("query", { xmlns = "urn:x:probe" }):text(text));
                    return true;
                end);"#,
            )
            .expect("write plugin");
        },
    )
    .await;
    s.add_user("admin", "pw");
    s.add_user("joe", "pw");
    let probe = format!("<iq type='get' id='q' to='{HOST}'><query xmlns='urn:x:probe'/></iq>");
    let mut admin = WsClient::connect(s.addr).await;
    admin.login("admin", "pw", "r").await;
    let r = ask(&mut admin, &probe, "q").await;
    assert!(
        r.contains(&format!(">true|admin@{HOST},moderator@{HOST}|true<")),
        "{r}"
    );
    let mut joe = WsClient::connect(s.addr).await;
    joe.login("joe", "pw", "r").await;
    let r = ask(&mut joe, &probe, "q").await;
    assert!(r.contains(">false|"), "{r}");
}

#[tokio::test]
async fn external_services_lists_the_configured_stun_and_turn_services() {
    if !have_stock() {
        return;
    }
    let s = Server::start(&config(
        r#""external_services""#,
        r#"external_service_secret = "s3cret"
external_services = {
  { type = "stun", transport = "udp", host = "stun.example.test", port = 3478 },
  { type = "turn", transport = "udp", host = "turn.example.test", port = 3478, secret = true },
}"#,
    ))
    .await;
    s.add_user("amy", "pw");
    let mut c = WsClient::connect(s.addr).await;
    c.login("amy", "pw", "r").await;
    let r = ask(
        &mut c,
        &format!("<iq type='get' id='s' to='{HOST}'><services xmlns='urn:xmpp:extdisco:2'/></iq>"),
        "s",
    )
    .await;
    assert!(
        r.contains("type='result'")
            && r.contains("host='stun.example.test'")
            && r.contains("type='turn'")
            && r.contains("username='")
            && r.contains("password='"),
        "{r}"
    );
}

#[tokio::test]
async fn server_contact_info_adds_the_serverinfo_form_to_disco() {
    if !have_stock() {
        return;
    }
    let s = Server::start(&config(
        r#""server_contact_info""#,
        r#"contact_info = { admin = { "mailto:root@example.test", "xmpp:admin@example.test" } }"#,
    ))
    .await;
    s.add_user("bea", "pw");
    let mut c = WsClient::connect(s.addr).await;
    c.login("bea", "pw", "r").await;
    let r = ask(
        &mut c,
        &format!("<iq type='get' id='d' to='{HOST}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"),
        "d",
    )
    .await;
    assert!(
        r.contains("http://jabber.org/network/serverinfo")
            && r.contains("var='admin-addresses'")
            && r.contains("<value>mailto:root@example.test</value>"),
        "{r}"
    );
}

#[tokio::test]
async fn csi_simple_from_the_stock_directory_holds_unimportant_stanzas_while_inactive() {
    if !have_stock() {
        return;
    }
    // Prosody's own mod_csi_simple runs on the Lua session's `conn:pause_writes()`:
    // unimportant stanzas wait (stamped with <delay/>), an important one flushes them in
    // order, `csi_queue_size` flushes a full queue, and after a flush the session goes
    // back to holding (`c2s-ondrain`, then `csi_resume_inactive_delay`).
    let s = Server::start(&config(
        r#""csi_simple""#,
        "csi_queue_size = 3\ncsi_resume_inactive_delay = 0",
    ))
    .await;
    s.add_user("alice", "pw");
    s.add_user("bob", "pw");
    let mut bob = WsClient::connect(s.addr).await;
    bob.open(HOST).await;
    let payload = base64::engine::general_purpose::STANDARD.encode("\0bob\0pw");
    bob.send_text(&format!(
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{payload}</auth>"
    ))
    .await;
    assert!(bob.next_text().await.contains("<success"));
    let (_, features) = bob.open(HOST).await;
    assert!(
        features.contains("<csi xmlns='urn:xmpp:csi:0'/>"),
        "{features}"
    );
    let bound = ask(&mut bob, "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r</resource></bind></iq>", "b1").await;
    assert!(bound.contains("<jid>"), "{bound}");
    // A round trip after <inactive/> so it is in effect before alice sends.
    bob.send_text("<inactive xmlns='urn:xmpp:csi:0'/>").await;
    let pong = ask(
        &mut bob,
        "<iq type='get' id='p1'><query xmlns='jabber:iq:roster'/></iq>",
        "p1",
    )
    .await;
    assert!(pong.contains("type='result'"), "{pong}");
    let mut alice = WsClient::connect(s.addr).await;
    alice.login("alice", "pw", "r").await;
    let to_bob = format!("to='bob@{HOST}/r'");
    alice
        .send_text(&format!("<presence xmlns='jabber:client' {to_bob}/>"))
        .await;
    alice
        .send_text(&format!("<message xmlns='jabber:client' {to_bob} type='chat' id='cs1'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>"))
        .await;
    alice
        .send_text(&format!(
            "<message xmlns='jabber:client' {to_bob} type='chat' id='m1'><body>hi</body></message>"
        ))
        .await;
    // Held ones come first, stamped; the important message last, unstamped.
    let p = bob.next_text().await;
    assert!(
        p.starts_with("<presence") && p.contains("urn:xmpp:delay"),
        "{p}"
    );
    let cs = bob.next_text().await;
    assert!(
        cs.contains("id='cs1'") && cs.contains("urn:xmpp:delay"),
        "{cs}"
    );
    let m = bob.next_text().await;
    assert!(
        m.contains("id='m1'") && !m.contains("urn:xmpp:delay"),
        "{m}"
    );
    // Holding again: three chat states wait, the fourth (queue size 3) flushes them all.
    // The re-pause runs on two zero-delay Lua timers of the real clock (the Lua timer
    // queue has no virtual clock), so give them a moment.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    for i in 1..=4 {
        alice
            .send_text(&format!("<message xmlns='jabber:client' {to_bob} type='chat' id='q{i}'><paused xmlns='http://jabber.org/protocol/chatstates'/></message>"))
            .await;
    }
    for i in 1..=4 {
        let q = bob.next_text().await;
        assert!(q.contains(&format!("id='q{i}'")), "{q}");
        assert_eq!(q.contains("urn:xmpp:delay"), i < 4, "{q}");
    }
    // Active again: stanzas go straight through.
    bob.send_text("<active xmlns='urn:xmpp:csi:0'/>").await;
    let pong = ask(
        &mut bob,
        "<iq type='get' id='p2'><query xmlns='jabber:iq:roster'/></iq>",
        "p2",
    )
    .await;
    assert!(pong.contains("type='result'"), "{pong}");
    alice
        .send_text(&format!("<message xmlns='jabber:client' {to_bob} type='chat' id='cs2'><active xmlns='http://jabber.org/protocol/chatstates'/></message>"))
        .await;
    let cs = bob.next_text().await;
    assert!(
        cs.contains("id='cs2'") && !cs.contains("urn:xmpp:delay"),
        "{cs}"
    );
}
