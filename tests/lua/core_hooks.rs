//! Wrappers, session filters and `stream-features` on the core without a network: what
//! they do, that unloading removes them, and that the VM is not entered where no Lua
//! wrapper, filter or hook exists.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use lilt::core::{Bus, Core, Event, Origin, Outbound, Session, StreamFeaturesRequest, StreamInfo};
use lilt::xml::Element;

use crate::harness::{core_with, eval, logs_of, plugin, HOST};

fn entries(core: &Core) -> u64 {
    core.lua.as_ref().expect("VM running").entries
}

fn message(body: &str) -> Element {
    Element::new("message", "jabber:client")
        .with_attr("to", format!("alice@{HOST}"))
        .with_child(Element::new("body", "jabber:client").with_text(body))
}

fn fire(core: &mut Core, name: &str, stanza: Option<Element>) -> Option<bool> {
    let mut ev = match stanza {
        Some(st) => Event::stanza(Origin::Host(HOST.into()), st),
        None => Event {
            origin: Origin::Host(HOST.into()),
            stanza: None,
            to_self: false,
            session: None,
            error: None,
            stream: None,
        },
    };
    core.fire(&Bus::Host(HOST.into()), name, &mut ev)
}

/// A bound session as the core keeps it, with the receiving end of its connection.
fn fake_session(core: &mut Core, id: u64, user: &str) -> lilt::core::outbound::OutboundRx {
    let (tx, rx) = lilt::core::outbound::channel();
    let mut session = Session::new(id, user, HOST, "r", tx);
    session.secure = true;
    session.transport = "websocket";
    let full = session.full_jid_arc().clone();
    core.sessions.insert(id, Box::new(session));
    core.full_sessions.insert(full, id);
    rx
}

fn bodies(rx: &mut lilt::core::outbound::OutboundRx) -> Vec<String> {
    let mut out = Vec::new();
    for m in rx.take_queued() {
        if let Outbound::Stanza(st) = m {
            out.push(
                st.get_child("body", "jabber:client")
                    .map(|b| b.text())
                    .unwrap_or_default(),
            );
        }
    }
    out
}

#[test]
fn nothing_enters_the_vm_where_no_lua_wrapper_filter_or_feature_hook_exists() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "");
    plugin(
        dir.path(),
        "quiet",
        "module:wrap_event('test/wrapped', function(h, n, e) return h(n, e) end)",
    );
    assert!(lilt::lua::load_module(&mut core, HOST, "quiet"));
    let mut rx = fake_session(&mut core, 7, "alice");
    let before = entries(&core);
    fire(&mut core, "message/bare", Some(message("x")));
    assert!(core.send_to(7, Arc::new(message("direct"))));
    assert_eq!(
        bodies(&mut rx),
        ["direct"],
        "unfiltered sessions get stanzas at once"
    );
    assert_eq!(entries(&core), before);
    assert!(!core.shared.feature_hooks.wanted(HOST));
    fire(&mut core, "test/wrapped", None);
    assert_eq!(entries(&core), before + 1);
}

#[test]
fn stanzas_out_filters_added_by_a_filter_hook_run_in_priority_order_until_unload() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "");
    plugin(
        dir.path(),
        "censor",
        r#"
local filters = require "util.filters";
local function drop_secret(stanza)
	if stanza:get_child_text("body") == "secret" then return nil; end
	return stanza;
end
local function shout(stanza)
	local body = stanza:get_child("body");
	if body then body[1] = body[1]:upper(); end
	return stanza;
end
filters.add_filter_hook(function(session)
	filters.add_filter(session, "stanzas/out", shout, 1);
	filters.add_filter(session, "stanzas/out", drop_secret, 2);
end);
"#,
    );
    assert!(lilt::lua::load_module(&mut core, HOST, "censor"));
    let mut rx = fake_session(&mut core, 9, "alice");
    let mut other = fake_session(&mut core, 10, "bob");
    // The filter hook sees the session when it binds.
    let mut ev = Event::for_session(9);
    core.fire(&Bus::Host(HOST.into()), "resource-bind", &mut ev);

    core.send_to(9, Arc::new(message("secret")));
    core.send_to(9, Arc::new(message("hello")));
    core.send_to(10, Arc::new(message("untouched")));
    assert_eq!(
        bodies(&mut rx),
        Vec::<String>::new(),
        "waits for the filter"
    );
    assert_eq!(bodies(&mut other), ["untouched"]);
    lilt::lua::flush_filtered(&mut core);
    // drop_secret (priority 2) ran before shout turned "secret" into "SECRET".
    assert_eq!(bodies(&mut rx), ["HELLO"]);

    lilt::lua::unload_module(&mut core, HOST, "censor").expect("unloads");
    core.send_to(9, Arc::new(message("secret")));
    assert_eq!(bodies(&mut rx), ["secret"]);
}

#[test]
fn stream_features_handlers_see_the_stream_and_add_features_until_unload() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "");
    plugin(
        dir.path(),
        "feat",
        r#"
module:hook("stream-features", function(event)
	local o = event.origin;
	event.features:tag("seen", { xmlns = "urn:example:feat", type = o.type,
		user = o.username or "-", ip = o.ip or "-", id = o.id }):up();
end);
"#,
    );
    assert!(!core.shared.feature_hooks.wanted(HOST));
    assert!(lilt::lua::load_module(&mut core, HOST, "feat"));
    assert!(core.shared.feature_hooks.wanted(HOST));
    assert!(!core.shared.feature_hooks.wanted("other.test"));

    let ask = |core: &mut Core, username: Option<&str>| {
        let (reply, mut rx) = tokio::sync::oneshot::channel();
        core.stream_features(StreamFeaturesRequest {
            info: StreamInfo {
                session: 42,
                host: HOST.into(),
                username: username.map(str::to_owned),
                secure: false,
                encrypted: false,
                ip: Some("192.0.2.1".parse().expect("ip")),
                conntime: 1.0,
                transport: "c2s",
            },
            features: Element::new("features", "http://etherx.jabber.org/streams").with_child(
                Element::new("register", "http://jabber.org/features/iq-register"),
            ),
            reply,
        });
        rx.try_recv().expect("answered").to_xml()
    };
    let pre = ask(&mut core, None);
    assert!(pre.contains("iq-register"), "{pre}");
    assert!(
        pre.contains("type='c2s_unauthed'")
            && pre.contains("user='-'")
            && pre.contains("ip='192.0.2.1'")
            && pre.contains("id='c2s42'"),
        "{pre}"
    );
    let post = ask(&mut core, Some("alice"));
    assert!(
        post.contains("type='c2s_unbound'") && post.contains("user='alice'"),
        "{post}"
    );
    lilt::lua::unload_module(&mut core, HOST, "feat").expect("unloads");
    assert!(!core.shared.feature_hooks.wanted(HOST));
}

#[test]
fn wrappers_follow_util_events_semantics_on_native_buses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "");
    // A native handler that records the stanza it got.
    let seen: Rc<RefCell<Vec<String>>> = Rc::default();
    let s2 = seen.clone();
    core.hook(
        &Bus::Host(HOST.into()),
        "test/native",
        0.0,
        Rc::new(move |_, ev| {
            let id = ev.stanza.as_ref().and_then(|s| s.attr("id")).unwrap_or("");
            s2.borrow_mut().push(id.to_owned());
            Some(true)
        }),
    );
    let code = format!(
        r#"
local ev = prosody.hosts["{HOST}"].events;
local log = {{}};
local function outer(handlers, name, data)
	log[#log + 1] = "outer:" .. name;
	data.stanza.attr.id = "changed";
	return handlers(name, data);
end
local function inner(handlers, name, data)
	log[#log + 1] = "inner";
	return handlers(name, data);
end
local function all(handlers, name, data)
	log[#log + 1] = "all";
	return handlers(name, data);
end
ev.add_wrapper("test/native", inner);
ev.add_wrapper("test/native", outer);
ev.add_wrapper(false, all);
ev.add_handler("test/lua", function() return "handled"; end);
ev.add_wrapper("test/lua", function(handlers, name, data)
	return tostring(handlers(name, data)) .. "+wrapped";
end);
local st = require "util.stanza";
local r1 = ev.fire_event("test/native", {{ stanza = st.iq({{ type = "get", id = "orig" }}) }});
local r2 = ev.fire_event("test/lua", {{}});
ev.remove_wrapper(false, all);
ev.remove_wrapper("test/native", outer);
local r3 = ev.fire_event("test/native", {{ stanza = st.iq({{ type = "get", id = "again" }}) }});
return table.concat(log, ",") .. "|" .. tostring(r1) .. "|" .. r2 .. "|" .. tostring(r3);
"#
    );
    let out = eval(&mut core, &code);
    // Newest wrapper outermost, per-event wrappers before the all-events ones; the
    // wrapper's return is the event's result.
    assert_eq!(
        out,
        "outer:test/native,inner,all,all,inner|true|handled+wrapped|true"
    );
    assert_eq!(*seen.borrow(), ["changed", "again"]);
}

#[test]
fn byte_out_filters_are_kept_but_warned_about_once_per_plugin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "");
    plugin(
        dir.path(),
        "bytes",
        r#"
local filters = require "util.filters";
local function f(data) return data .. "!"; end
filters.add_filter_hook(function(session)
	filters.add_filter(session, "bytes/in", f);
	filters.add_filter(session, "bytes/out", f);
end);
"#,
    );
    let _a = fake_session(&mut core, 3, "alice");
    let _b = fake_session(&mut core, 4, "bob");
    let logs = logs_of(|| {
        assert!(lilt::lua::load_module(&mut core, HOST, "bytes"));
        for sid in [3, 4] {
            let mut ev = Event::for_session(sid);
            core.fire(&Bus::Host(HOST.into()), "resource-bind", &mut ev);
        }
    });
    assert_eq!(
        logs.matches("does not run bytes/out filters").count(),
        1,
        "{logs}"
    );
    assert!(
        logs.contains("WARN") && logs.contains("mod_bytes.lua"),
        "{logs}"
    );
    // The chain is still there for code that runs it itself.
    let out = eval(
        &mut core,
        &format!("return prosody.full_sessions['alice@{HOST}/r'].filter('bytes/in', 'x')"),
    );
    assert_eq!(out, "x!");
}
