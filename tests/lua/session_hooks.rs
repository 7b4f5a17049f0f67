//! Prosody plugins that reach into c2s sessions, checked through real clients:
//! `stream-features` hooks (over WebSocket and TCP), `util.filters` stanza filters and
//! filter hooks, `module:wrap_event` around native handlers, and unloading all of them.

use crate::support;
use crate::tcp_support;

use std::path::Path;

use support::{Server, WsClient, HOST};

const FEAT: &str = r#"
local xmlns = "urn:example:feat";
module:hook("stream-features", function(event)
	local o = event.origin;
	if o.username then
		event.features:tag("post-auth", { xmlns = xmlns, user = o.username, type = o.type }):up();
	else
		event.features:tag("pre-auth", {
			xmlns = xmlns, type = o.type, host = o.host,
			secure = tostring(o.secure), encrypted = tostring(o.encrypted),
			ip = tostring(o.ip), conntime = type(o.conntime) == "number" and o.conntime > 0 and "yes" or "no",
		}):up();
	end
end);
"#;

const FILT: &str = r#"
local filters = require "util.filters";
local function body_of(stanza)
	return stanza.name == "message" and stanza:get_child_text("body") or nil;
end
-- Priority 10 runs first: it drops "secret" and rewrites "rewrite me".
local function out_first(stanza, session)
	local body = body_of(stanza);
	if body == "secret" then return nil; end
	if body == "rewrite me" then
		local b = stanza:get_child("body");
		b[1] = "rewritten for " .. session.username;
	end
	return stanza;
end
-- Priority 5 sees what priority 10 left.
local function out_second(stanza)
	local body = body_of(stanza);
	if body and body:match("^rewritten") then
		stanza:get_child("body")[1] = body .. " (second)";
	end
	return stanza;
end
local function in_filter(stanza)
	local body = body_of(stanza);
	if body == "drop-in" then return nil; end
	if body == "tag-in" then stanza:tag("filtered-in", { xmlns = "urn:example:filt" }):up(); end
	return stanza;
end
local function bytes_filter(data) return data; end
filters.add_filter_hook(function(session)
	filters.add_filter(session, "stanzas/out", out_second, 5);
	filters.add_filter(session, "stanzas/out", out_first, 10);
	filters.add_filter(session, "stanzas/in", in_filter);
	filters.add_filter(session, "bytes/out", bytes_filter);
end);
"#;

const WRAP: &str = r#"
local st = require "util.stanza";
local seen = {};
module:wrap_event("iq-get/host/urn:xmpp:ping:ping", function(handlers, name, event)
	if event.stanza.attr.id == "wrapped" then
		event.origin.send(st.reply(event.stanza):tag("wrapped", { xmlns = "urn:example:wrap", event = name }));
		return true;
	end
	return handlers(name, event);
end);
module:wrap_event("message/bare", function(handlers, name, event)
	if event.stanza:get_child_text("body") == "blocked" then return true; end
	return handlers(name, event);
end);
module:wrap_event(false, function(handlers, name, event)
	seen[name] = true;
	return handlers(name, event);
end);
module:hook("iq-get/host/urn:example:seen:seen", function(event)
	event.origin.send(st.reply(event.stanza):tag("seen", {
		xmlns = "urn:example:seen", ping = tostring(seen["iq-get/host/urn:xmpp:ping:ping"] or false),
	}));
	return true;
end);
"#;

const CTL: &str = r#"
local st = require "util.stanza";
local modulemanager = require "core.modulemanager";
module:hook("iq-set/host/urn:example:ctl:unload", function(event)
	local name = event.stanza.tags[1].attr.module;
	local ok, err = modulemanager.unload(module.host, name);
	event.origin.send(st.reply(event.stanza):tag("unload", { xmlns = "urn:example:ctl", ok = tostring(ok), err = tostring(err) }));
	return true;
end);
"#;

fn write_plugins(dir: &Path, plugins: &[(&str, &str)]) {
    for (name, code) in plugins {
        std::fs::write(dir.join(format!("mod_{name}.lua")), code).expect("write plugin");
    }
}

fn ws_config(plugins: &Path, modules: &str) -> String {
    format!(
        r#"
http_ports = {{ 0 }}
https_ports = {{ }}
c2s_ports = {{ }}
data_path = "data"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
plugin_paths = {{ {plugins:?} }}
modules_enabled = {{ "websocket", "http", "ping", "disco", "roster", "presence", "message", {modules} }}
VirtualHost "{HOST}"
"#,
        plugins = plugins.display().to_string()
    )
}

/// PLAIN login over WebSocket, returning (pre-auth features, post-auth features).
async fn ws_login(c: &mut WsClient, user: &str, resource: &str) -> (String, String) {
    use base64::Engine;
    let (_, pre) = c.open(HOST).await;
    let payload = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0pw"));
    c.send_text(&format!(
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{payload}</auth>"
    ))
    .await;
    let success = c.next_text().await;
    assert!(success.contains("<success"), "{success}");
    let (_, post) = c.open(HOST).await;
    c.send_text(&format!(
        "<iq xmlns='jabber:client' type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{resource}</resource></bind></iq>"
    ))
    .await;
    let bound = c.next_text().await;
    assert!(bound.contains("<jid>"), "{bound}");
    (pre, post)
}

async fn iq(c: &mut WsClient, id: &str, kind: &str, payload: &str) -> String {
    c.send_text(&format!(
        "<iq xmlns='jabber:client' type='{kind}' id='{id}' to='{HOST}'>{payload}</iq>"
    ))
    .await;
    let r = c.next_text().await;
    assert!(r.contains(&format!("id='{id}'")), "{r}");
    r
}

async fn message(c: &mut WsClient, to: &str, body: &str) {
    c.send_text(&format!(
        "<message xmlns='jabber:client' type='chat' to='{to}@{HOST}/web'><body>{body}</body></message>"
    ))
    .await;
}

#[tokio::test]
async fn stream_features_hooks_add_pre_and_post_auth_features_over_websocket() {
    let plugins = tempfile::tempdir().expect("tempdir");
    write_plugins(plugins.path(), &[("feat", FEAT)]);
    let s = Server::start(&ws_config(plugins.path(), "\"feat\"")).await;
    s.add_user("alice", "pw");
    let mut a = WsClient::connect(s.addr).await;
    let (pre, post) = ws_login(&mut a, "alice", "web").await;
    assert!(pre.contains("<mechanism>PLAIN</mechanism>"), "{pre}");
    assert!(pre.contains("<pre-auth xmlns='urn:example:feat'"), "{pre}");
    assert!(pre.contains("type='c2s_unauthed'"), "{pre}");
    assert!(pre.contains(&format!("host='{HOST}'")), "{pre}");
    assert!(pre.contains("encrypted='false'"), "{pre}");
    assert!(pre.contains("ip='127.0.0.1'"), "{pre}");
    assert!(pre.contains("conntime='yes'"), "{pre}");
    assert!(!pre.contains("post-auth"), "{pre}");
    assert!(post.contains("urn:ietf:params:xml:ns:xmpp-bind"), "{post}");
    assert!(
        post.contains("<post-auth xmlns='urn:example:feat' ")
            && post.contains("user='alice'")
            && post.contains("type='c2s_unbound'"),
        "{post}"
    );
    assert!(!post.contains("pre-auth"), "{post}");
}

#[tokio::test]
async fn stream_features_hooks_add_features_over_tcp() {
    let plugins = tempfile::tempdir().expect("tempdir");
    write_plugins(plugins.path(), &[("feat", FEAT)]);
    let extra = format!(
        "c2s_require_encryption = false\nallow_unencrypted_plain_auth = true\nplugin_paths = {{ {:?} }}\nmodules_enabled = {{ \"tls\", \"ping\", \"disco\", \"feat\" }}",
        plugins.path().display().to_string()
    );
    let s = tcp_support::TcpServer::start(&extra).await;
    s.add_user("alice", "pw");
    let mut c = tcp_support::XmppClient::plain(s.c2s).await;
    let pre = c.open(tcp_support::HOST).await;
    assert!(pre.contains("<starttls"), "{pre}");
    assert!(
        pre.contains("<pre-auth xmlns='urn:example:feat'") && pre.contains("secure='false'"),
        "{pre}"
    );
    let ok = c.auth_plain("alice", "pw").await;
    assert!(ok.contains("<success"), "{ok}");
    let post = c.open(tcp_support::HOST).await;
    assert!(
        post.contains("<post-auth xmlns='urn:example:feat'") && post.contains("user='alice'"),
        "{post}"
    );
    assert!(!post.contains("pre-auth"), "{post}");
}

#[tokio::test]
async fn stanza_filters_and_filter_hooks_drop_and_rewrite_until_unloaded() {
    let plugins = tempfile::tempdir().expect("tempdir");
    write_plugins(plugins.path(), &[("filt", FILT), ("ctl", CTL)]);
    let s = Server::start(&ws_config(plugins.path(), "\"filt\", \"ctl\"")).await;
    s.add_user("alice", "pw");
    s.add_user("bob", "pw");
    let mut a = WsClient::connect(s.addr).await;
    ws_login(&mut a, "alice", "web").await;
    let mut b = WsClient::connect(s.addr).await;
    ws_login(&mut b, "bob", "web").await;

    // stanzas/out on alice's session: "secret" never reaches her, the next one does.
    message(&mut b, "alice", "secret").await;
    message(&mut b, "alice", "hello").await;
    let got = a.next_text().await;
    assert!(got.contains("<body>hello</body>"), "{got}");
    // Both out filters, the higher priority first.
    message(&mut b, "alice", "rewrite me").await;
    let got = a.next_text().await;
    assert!(
        got.contains("<body>rewritten for alice (second)</body>"),
        "{got}"
    );

    // stanzas/in on alice's session: dropped before routing, or changed.
    message(&mut a, "bob", "drop-in").await;
    message(&mut a, "bob", "tag-in").await;
    let got = b.next_text().await;
    assert!(
        got.contains("<body>tag-in</body>")
            && got.contains("<filtered-in xmlns='urn:example:filt'/>"),
        "{got}"
    );

    let r = iq(
        &mut a,
        "u1",
        "set",
        "<unload xmlns='urn:example:ctl' module='filt'/>",
    )
    .await;
    assert!(r.contains("ok='true'"), "{r}");
    message(&mut b, "alice", "secret").await;
    let got = a.next_text().await;
    assert!(got.contains("<body>secret</body>"), "{got}");
    message(&mut a, "bob", "drop-in").await;
    let got = b.next_text().await;
    assert!(got.contains("<body>drop-in</body>"), "{got}");
}

#[tokio::test]
async fn wrappers_around_native_events_answer_block_and_go_on_until_unloaded() {
    let plugins = tempfile::tempdir().expect("tempdir");
    write_plugins(
        plugins.path(),
        &[("wrap", WRAP), ("ctl", CTL), ("feat", FEAT)],
    );
    let s = Server::start(&ws_config(plugins.path(), "\"wrap\", \"ctl\", \"feat\"")).await;
    s.add_user("alice", "pw");
    s.add_user("bob", "pw");
    let mut a = WsClient::connect(s.addr).await;
    ws_login(&mut a, "alice", "web").await;
    let mut b = WsClient::connect(s.addr).await;
    ws_login(&mut b, "bob", "web").await;
    let ping = "<ping xmlns='urn:xmpp:ping'/>";

    // The wrapper answers itself, or calls through to the native ping handler.
    let r = iq(&mut a, "wrapped", "get", ping).await;
    assert!(
        r.contains("<wrapped xmlns='urn:example:wrap' event='iq-get/host/urn:xmpp:ping:ping'/>"),
        "{r}"
    );
    let r = iq(&mut a, "p2", "get", ping).await;
    assert!(
        r.contains("type='result'") && !r.contains("urn:example:wrap"),
        "{r}"
    );
    // The all-events wrapper saw the native event.
    let r = iq(&mut a, "s1", "get", "<seen xmlns='urn:example:seen'/>").await;
    assert!(r.contains("ping='true'"), "{r}");

    // A wrapper that does not call through blocks the native message handler (messages
    // to the bare JID reach available resources).
    a.send_text("<presence xmlns='jabber:client'/>").await;
    let got = a.next_text().await;
    assert!(got.starts_with("<presence"), "{got}");
    b.send_text(&format!(
        "<message xmlns='jabber:client' type='chat' to='alice@{HOST}'><body>blocked</body></message>"
    ))
    .await;
    b.send_text(&format!(
        "<message xmlns='jabber:client' type='chat' to='alice@{HOST}'><body>passes</body></message>"
    ))
    .await;
    let got = a.next_text().await;
    assert!(got.contains("<body>passes</body>"), "{got}");

    for module in ["wrap", "feat"] {
        let r = iq(
            &mut a,
            &format!("u-{module}"),
            "set",
            &format!("<unload xmlns='urn:example:ctl' module='{module}'/>"),
        )
        .await;
        assert!(r.contains("ok='true'"), "{r}");
    }
    let r = iq(&mut a, "wrapped", "get", ping).await;
    assert!(
        r.contains("type='result'") && !r.contains("urn:example:wrap"),
        "{r}"
    );
    b.send_text(&format!(
        "<message xmlns='jabber:client' type='chat' to='alice@{HOST}'><body>blocked</body></message>"
    ))
    .await;
    let got = a.next_text().await;
    assert!(got.contains("<body>blocked</body>"), "{got}");
    // The stream-features hook went with its module: new streams ask nobody.
    assert!(!s.shared.feature_hooks.wanted(HOST));
    let mut c = WsClient::connect(s.addr).await;
    let (_, pre) = c.open(HOST).await;
    assert!(pre.contains("PLAIN") && !pre.contains("pre-auth"), "{pre}");
}
