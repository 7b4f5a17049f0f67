//! The Lua runtime without a network: bundled util libraries behave as Prosody's do,
//! plugins load through the module API, errors and runaway code are contained.

use lilt::core::Core;

use crate::harness::{core_with, eval, logs_of, plugin, HOST};

#[test]
fn stanza_builder_serialises_like_prosody() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "");
    let out = eval(
        &mut core,
        r#"local st = require "util.stanza";
        local m = st.message({ to = "a@b", type = "chat" }, "hi <you>")
            :tag("x", { xmlns = "urn:x" }):text_tag("y", "z"):up():up();
        return tostring(m)"#,
    );
    assert_eq!(
        out,
        "<message to='a@b' type='chat'><body>hi &lt;you&gt;</body><x xmlns='urn:x'><y>z</y></x></message>"
    );
}

#[test]
fn every_bundled_library_loads_under_both_names_as_one_table() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "");
    for name in lilt::lua::sources::library_names() {
        if name.starts_with("core.init") {
            continue;
        }
        let out = eval(
            &mut core,
            &format!("return tostring(require '{name}' == require 'prosody.{name}')"),
        );
        assert_eq!(out, "true", "{name}");
    }
}

#[test]
fn jid_json_datetime_and_hashes_follow_the_reference() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "");
    let out = eval(
        &mut core,
        r#"local jid = require "util.jid";
        local json = require "util.json";
        local dt = require "util.datetime";
        local hashes = require "util.hashes";
        local r = {};
        r[#r+1] = jid.prep("ÄB@EXAMPLE.com./R");
        r[#r+1] = tostring(jid.split("user@"));
        r[#r+1] = jid.bare("a@b/c");
        r[#r+1] = tostring(jid.compare("a@b/c", "b"));
        r[#r+1] = json.encode_ordered({ a = { 1, 2 }, b = json.null, c = "x\n" });
        local v, err = json.decode('{"a":1} x');
        r[#r+1] = tostring(v) .. "/" .. err;
        r[#r+1] = json.encode({ [true] = 1 });
        r[#r+1] = tostring(dt.parse("1970-01-02T00:00:01.5+01:00"));
        r[#r+1] = dt.datetime(86400);
        r[#r+1] = hashes.sha1("abc", true);
        r[#r+1] = require "util.hmac".sha256("key", "msg", true):sub(1, 16);
        return table.concat(r, "|")"#,
    );
    assert_eq!(
        out,
        "äb@example.com/R|nil|a@b|true|{\"a\":[1,2],\"b\":null,\"c\":\"x\\n\"}|nil/garbage at eof|{\"__hash\":[true,1]}|82801.5|1970-01-02T00:00:00Z|a9993e364706816aba3e25717850c26c9cd0d89d|2d93cbc1be167bcb"
    );
}

#[test]
fn stanza_queries_match_prosody_semantics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "");
    let out = eval(
        &mut core,
        r#"local st = require "util.stanza";
        local iq = require "util.xml".parse("<iq type='get' id='1' to='h'><query xmlns='jabber:iq:version'><name>n</name></query></iq>");
        local r = {};
        r[#r+1] = iq:get_child("query", "jabber:iq:version"):get_child_text("name");
        r[#r+1] = iq:find("{jabber:iq:version}query/name#");
        r[#r+1] = iq:find("@type");
        r[#r+1] = tostring(st.reply(iq));
        local e = st.error_reply(iq, "cancel", "item-not-found", "gone");
        local t, c, text = e:get_error();
        r[#r+1] = t .. "," .. c .. "," .. text;
        r[#r+1] = tostring(pcall(st.iq, { type = "get" }));
        local m = st.message({}):tag("a"):up():tag("b"):up();
        m:maptags(function(tag) if tag.name == "a" then return nil end return tag end);
        r[#r+1] = tostring(m);
        return table.concat(r, "|")"#,
    );
    assert_eq!(
        out,
        "n|n|get|<iq from='h' id='1' type='result'/>|cancel,item-not-found,gone|false|<message><b/></message>"
    );
}

fn fire(core: &mut Core, event: &str, stanza: Option<&str>) -> Option<bool> {
    let el = stanza.map(|s| {
        let mut p = lilt::xml::StreamParser::new(lilt::xml::Limits {
            max_stanza_bytes: 1 << 20,
            max_depth: 100,
            max_child_elements: 1000,
            ..Default::default()
        });
        p.feed(b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>")
            .expect("header");
        p.feed(s.as_bytes()).expect("stanza");
        loop {
            match p.next_event().expect("parses") {
                Some(lilt::xml::StreamEvent::Stanza(el)) => break el,
                Some(_) => continue,
                None => panic!("incomplete"),
            }
        }
    });
    let mut ev = lilt::core::Event {
        origin: lilt::core::Origin::Host(HOST.into()),
        stanza: el,
        to_self: false,
        session: None,
        error: None,
        stream: None,
    };
    core.fire(&lilt::core::Bus::Host(HOST.into()), event, &mut ev)
}

#[test]
fn lua_and_native_handlers_share_one_bus_with_priorities_and_stop() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "");
    plugin(
        dir.path(),
        "order",
        r#"order = {};
        module:hook("test/ev", function(e) table.insert(order, "lua10") end, 10);
        module:hook("test/ev", function(e) table.insert(order, "lua-5"); return false end, -5);
        module:hook("test/ev", function(e) table.insert(order, "never") end, -10);
        module:hook("test/st", function(e) e.stanza.attr.id = "changed" end, 5);"#,
    );
    assert!(lilt::lua::load_module(&mut core, HOST, "order"));
    let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::<String>::new()));
    let s2 = seen.clone();
    core.hook(
        &lilt::core::Bus::Host(HOST.into()),
        "test/ev",
        0.0,
        std::rc::Rc::new(move |_, _| {
            s2.borrow_mut().push("native0".into());
            None
        }),
    );
    let s3 = seen.clone();
    core.hook(
        &lilt::core::Bus::Host(HOST.into()),
        "test/st",
        0.0,
        std::rc::Rc::new(move |_, ev| {
            s3.borrow_mut()
                .push(ev.stanza.as_ref()?.attr("id")?.to_owned());
            Some(true)
        }),
    );
    assert_eq!(fire(&mut core, "test/ev", None), Some(false));
    assert_eq!(seen.borrow().as_slice(), ["native0"]);
    let order = eval(
        &mut core,
        "return table.concat(prosody.hosts['example.test'].modules.order.order, ',')",
    );
    assert_eq!(order, "lua10,lua-5");
    assert_eq!(
        fire(&mut core, "test/st", Some("<message id='orig'/>")),
        Some(true)
    );
    assert_eq!(seen.borrow()[1], "changed");
}

#[test]
fn a_failing_plugin_is_contained_and_unload_removes_its_hooks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "lua_instruction_budget = 200000");
    plugin(dir.path(), "broken", "local x = nil; x.y = 1");
    assert!(lilt::lua::load_module(&mut core, HOST, "broken"));
    assert_eq!(
        eval(
            &mut core,
            "return tostring(prosody.hosts['example.test'].modules.broken)"
        ),
        "nil"
    );
    plugin(
        dir.path(),
        "flaky",
        r#"module:hook("test/err", function() error("boom") end, 10);
        module:hook("test/loop", function() while true do end end, 10);
        module:hook("test/err", function() return true end, 0);"#,
    );
    assert!(lilt::lua::load_module(&mut core, HOST, "flaky"));
    // The erroring handler is skipped; the next one still runs.
    assert_eq!(fire(&mut core, "test/err", None), Some(true));
    // A runaway handler is stopped by the instruction budget.
    assert_eq!(fire(&mut core, "test/loop", None), None);
    assert_eq!(eval(&mut core, "return 1 + 1"), "2");
    lilt::lua::unload_module(&mut core, HOST, "flaky").expect("unloads");
    assert_eq!(fire(&mut core, "test/err", None), None);
}

#[test]
fn reload_carries_state_through_save_and_restore() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "");
    plugin(
        dir.path(),
        "counter",
        r#"local n = 0;
        module:hook("test/count", function() n = n + 1; return n > 1 end);
        function module.save() return { n = n } end
        function module.restore(s) n = s.n or 0 end"#,
    );
    assert!(lilt::lua::load_module(&mut core, HOST, "counter"));
    assert_eq!(fire(&mut core, "test/count", None), Some(false));
    lilt::lua::reload_module(&mut core, HOST, "counter").expect("reloads");
    assert_eq!(fire(&mut core, "test/count", None), Some(true));
}

#[test]
fn stores_keep_data_in_the_internal_driver() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "");
    plugin(
        dir.path(),
        "storing",
        r#"local st = require "util.stanza";
        local kv = module:open_store("notes");
        local map = module:open_store("prefs", "map");
        local arch = module:open_store("log", "archive");
        kv:set("alice", { text = "hello", n = 3 });
        map:set("alice", "colour", "blue");
        arch:append("alice", nil, st.message({ to = "bob@x" }, "one"), 100, "bob@x");
        arch:append("alice", nil, st.message({ to = "carol@x" }, "two"), 200, "carol@x");
        result = {};
        result[1] = kv:get("alice").text;
        result[2] = map:get("alice", "colour");
        for key, msg, when, with in arch:find("alice", { with = "carol@x" }) do
            result[3] = msg:get_child_text("body") .. "@" .. when;
        end"#,
    );
    assert!(lilt::lua::load_module(&mut core, HOST, "storing"));
    let out = eval(
        &mut core,
        "return table.concat(prosody.hosts['example.test'].modules.storing.result, ',')",
    );
    assert_eq!(out, "hello,blue,two@200");
    let stored = core
        .shared
        .store
        .get(HOST, Some("alice"), "notes")
        .expect("reads");
    assert!(format!("{stored:?}").contains("hello"));
}

#[test]
fn module_timers_run_when_due_and_rearm_on_a_number() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "");
    plugin(
        dir.path(),
        "ticker",
        r#"ticks = 0;
        module:add_timer(5, function() ticks = ticks + 1; if ticks < 3 then return 5 end end);"#,
    );
    assert!(lilt::lua::load_module(&mut core, HOST, "ticker"));
    let start = std::time::Instant::now();
    let ticks = |core: &mut Core| {
        eval(
            core,
            "return prosody.hosts['example.test'].modules.ticker.ticks",
        )
    };
    lilt::lua::run_due(&mut core, start);
    assert_eq!(ticks(&mut core), "0");
    for i in 1..=5u64 {
        lilt::lua::run_due(&mut core, start + std::time::Duration::from_secs(6 * i));
    }
    // Re-armed twice (relative to the real clock, so allow every step to pass).
    assert_eq!(ticks(&mut core), "3");
    assert!(lilt::lua::next_deadline(&core).is_none());
}

#[test]
fn a_global_module_gets_per_host_instances_through_add_host() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "");
    plugin(
        dir.path(),
        "everywhere",
        r#"module:set_global();
        module:hook("test/global", function() return true end);
        function module.add_host(m)
            m:hook("test/on-host", function() return m.host == "example.test" and m:get_host_type() == "local" end);
        end"#,
    );
    assert!(lilt::lua::load_module(&mut core, HOST, "everywhere"));
    assert_eq!(fire(&mut core, "test/on-host", None), Some(true));
    let mut ev = lilt::core::Event {
        origin: lilt::core::Origin::Host(HOST.into()),
        stanza: None,
        to_self: false,
        session: None,
        error: None,
        stream: None,
    };
    assert_eq!(
        core.fire(&lilt::core::Bus::Global, "test/global", &mut ev),
        Some(true)
    );
    assert_eq!(
        eval(
            &mut core,
            "return prosody.hosts['example.test'].modules.everywhere.module.host"
        ),
        HOST
    );
}

#[test]
fn metadata_requires_a_missing_feature_so_the_plugin_is_not_loaded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "");
    plugin(
        dir.path(),
        "needy",
        "--% requires: time-travel\nloaded = true",
    );
    assert!(lilt::lua::load_module(&mut core, HOST, "needy"));
    assert_eq!(
        eval(
            &mut core,
            "return tostring(prosody.hosts['example.test'].modules.needy)"
        ),
        "nil"
    );
}

#[test]
fn depends_loads_native_modules_and_require_finds_module_libraries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "");
    std::fs::create_dir_all(dir.path().join("plugins/mod_lib")).expect("dir");
    std::fs::write(
        dir.path().join("plugins/mod_lib/mod_lib.lua"),
        r#"local helper = module:require "helper";
        module:depends("ping");
        answer = helper.answer;"#,
    )
    .expect("write");
    std::fs::write(
        dir.path().join("plugins/mod_lib/helper.lib.lua"),
        "return { answer = 42 }",
    )
    .expect("write");
    assert!(!core.hosts[HOST].modules.contains("ping"));
    assert!(lilt::lua::load_module(&mut core, HOST, "lib"));
    assert!(
        core.hosts[HOST].modules.contains("ping"),
        "native mod_ping loaded"
    );
    assert!(core.hosts[HOST].features.contains("urn:xmpp:ping"));
    assert_eq!(
        eval(
            &mut core,
            "return prosody.hosts['example.test'].modules.lib.answer"
        ),
        "42"
    );
}

#[test]
fn the_vm_starts_only_for_lua_plugins_and_its_memory_is_capped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let core = core_with(dir.path(), "");
    assert!(core.lua.is_none(), "no Lua plugin, no VM");
    let mut core = core_with(dir.path(), "lua_memory_limit = 8388608");
    plugin(
        dir.path(),
        "hungry",
        r#"module:hook("test/eat", function()
            local t = {};
            for i = 1, 1e7 do t[i] = ("x"):rep(64) .. i end
        end);
        module:hook("test/eat", function() return true end, -1);"#,
    );
    assert!(lilt::lua::load_module(&mut core, HOST, "hungry"));
    assert_eq!(fire(&mut core, "test/eat", None), Some(true));
    let used = eval(
        &mut core,
        "collectgarbage(); return require 'lilt.native'.memory()",
    );
    let used: usize = used.parse().expect("a number");
    assert!(used < 8 * 1024 * 1024, "{used}");
}

#[test]
fn plugin_errors_are_logged_with_file_line_and_traceback() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "lua_instruction_budget = 100000");
    plugin(dir.path(), "broken", "local x = nil\nx.y = 1\n");
    plugin(dir.path(), "stuck", "while true do end\n");
    plugin(
        dir.path(),
        "spinner",
        "module:hook('test/spin', function()\n  while true do end\nend)\nmodule:hook('test/fail', function() error('kaput') end)\nmodule:hook('test/stubborn', function() while true do pcall(function() while true do end end) end end)\n",
    );
    let logs = logs_of(|| {
        lilt::lua::load_module(&mut core, HOST, "broken");
        lilt::lua::load_module(&mut core, HOST, "stuck");
        lilt::lua::load_module(&mut core, HOST, "spinner");
        fire(&mut core, "test/spin", None);
        fire(&mut core, "test/fail", None);
        fire(&mut core, "test/stubborn", None);
    });
    assert!(
        logs.contains("Error initializing module 'broken' on 'example.test'"),
        "{logs}"
    );
    assert!(
        logs.contains("mod_broken.lua:2: attempt to index a nil value"),
        "{logs}"
    );
    assert!(logs.contains("stack traceback"), "{logs}");
    assert!(
        logs.contains("mod_spinner.lua:2 ran more than 100000 instructions"),
        "{logs}"
    );
    assert!(logs.contains("mod_spinner.lua:4: kaput"), "{logs}");
    assert!(!logs.contains("error in error handling"), "{logs}");
    assert!(logs.contains("mod_spinner.lua:5 ran more than"), "{logs}");
}

#[test]
fn events_without_lua_hooks_never_enter_the_vm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "");
    plugin(
        dir.path(),
        "quiet",
        "module:hook('test/lua-only', function() end)",
    );
    assert!(lilt::lua::load_module(&mut core, HOST, "quiet"));
    let entries = |core: &Core| core.lua.as_ref().expect("VM running").entries;
    let before = entries(&core);
    fire(
        &mut core,
        "message/bare",
        Some("<message to='a@example.test'><body>x</body></message>"),
    );
    fire(
        &mut core,
        "iq/host",
        Some("<iq type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>"),
    );
    assert_eq!(entries(&core), before);
    fire(&mut core, "test/lua-only", None);
    assert_eq!(entries(&core), before + 1);
}

/// Sends `GET path` through the router on another thread while this thread plays the
/// core loop for the Lua HTTP handler.
fn http_through(core: &mut Core, router: &lilt::modules::http::Router, path: &str) -> u16 {
    let mut rx = lilt::lua::http::take_receiver(core);
    let router = router.clone();
    let req = lilt::modules::http::Request::new("GET", path).with_header("host", HOST);
    let t = std::thread::spawn(move || {
        router
            .dispatch(&req, &lilt::modules::http::HttpSettings::default())
            .response
            .status
    });
    if let Some(rx) = rx.as_mut() {
        if let Some(call) = rx.blocking_recv() {
            lilt::lua::http::handle(core, call);
        }
    }
    let status = t.join().expect("dispatch thread");
    if let (Some(rx), Some(h)) = (rx, core.lua.as_mut()) {
        h.http.put_receiver(rx);
    }
    status
}

#[test]
fn http_routes_follow_their_module_through_reload_and_unload() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "");
    plugin(
        dir.path(),
        "web",
        r#"local n = ...;
        module:provides("http", { route = { ["GET /x"] = function() return 201 end } });"#,
    );
    assert!(lilt::lua::load_module(&mut core, HOST, "web"));
    let mut router = lilt::modules::http::Router::new();
    lilt::lua::http::add_routes(&core.shared, &mut router, &Default::default());
    assert_eq!(http_through(&mut core, &router, "/web/x"), 201);
    std::fs::write(
        dir.path().join("plugins/mod_web.lua"),
        r#"module:provides("http", { route = { ["GET /x"] = function() return 202 end } });"#,
    )
    .expect("rewrite plugin");
    lilt::lua::reload_module(&mut core, HOST, "web").expect("reloads");
    assert_eq!(http_through(&mut core, &router, "/web/x"), 202);
    lilt::lua::unload_module(&mut core, HOST, "web").expect("unloads");
    assert_eq!(http_through(&mut core, &router, "/web/x"), 404);
}

#[test]
fn collection_and_control_libraries_behave_like_prosodys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "");
    let out = eval(
        &mut core,
        r#"local r = {};
        local set = require "util.set";
        local a, b = set.new{ 1, 2, 3 }, set.new{ 3, 4 };
        local function sorted(s) local t = {}; for x in s do t[#t+1] = x end; table.sort(t); return table.concat(t, ", ") end
        r[#r+1] = sorted(a + b) .. ";" .. sorted(a - b) .. ";" .. sorted(set.intersection(a, b)) .. ";" .. require "util.iterators".count(a);
        local array = require "util.array";
        r[#r+1] = array{ 3, 1, 2 }:sort():map(function(x) return x * 10 end):concat(",");
        local cache = require "util.cache";
        local evicted = {};
        local c = cache.new(2, function(k) evicted[#evicted+1] = k end);
        c:set("a", 1); c:set("b", 2); c:get("a"); c:set("c", 3);
        r[#r+1] = table.concat(evicted, ",") .. ":" .. tostring(c:get("b")) .. ":" .. c:count();
        local promise = require "util.promise";
        local seen;
        promise.all({ promise.resolve(1), 2 }):next(function(v) seen = v[1] + v[2] end);
        local caught;
        promise.new(function() error("bad") end):catch(function(e) caught = tostring(e):match("bad") end);
        r[#r+1] = seen .. caught;
        local errors = require "util.error";
        local e = errors.new({ type = "auth", condition = "forbidden", text = "no" });
        r[#r+1] = tostring(errors.is_err(e)) .. e.condition;
        local ser = require "util.serialization";
        r[#r+1] = ser.serialize({ 1, "two", x = { y = true } });
        r[#r+1] = ser.deserialize('{a=1}').a;
        local ip = require "util.ip";
        r[#r+1] = tostring(ip.match_cidr("192.168.1.7", "192.168.0.0/16")) .. tostring(ip.match_cidr("2001:db8::1", "2001:db8::/32")) .. tostring(ip.match_cidr("10.0.0.1", "192.168.0.0/16"));
        local it = require "util.iterators";
        local keys = {};
        for k, v in it.sorted_pairs({ b = 1, a = 2 }) do keys[#keys+1] = k .. v end
        r[#r+1] = table.concat(keys, ",");
        local throttle = require "util.throttle".create(2, 60);
        r[#r+1] = tostring(throttle:poll(1)) .. tostring(throttle:poll(1)) .. tostring(throttle:poll(1));
        local events = require "util.events".new();
        local log = {};
        events.add_handler("e", function() log[#log+1] = "low" end, -1);
        events.add_handler("e", function() log[#log+1] = "high" end, 5);
        events.add_wrapper("e", function(fire, name, data) log[#log+1] = "wrap"; return fire(name, data) end);
        events.fire_event("e", {});
        r[#r+1] = table.concat(log, ",");
        local filters = require "util.filters";
        local session = {};
        filters.add_filter(session, "stanzas/in", function(d) return d .. "!" end, 1);
        filters.add_filter(session, "stanzas/in", function(d) return nil end, 0);
        r[#r+1] = tostring(session.filter("stanzas/in", "x"));
        local id = require "util.id";
        r[#r+1] = #id.short() .. "," .. #id.medium() .. "," .. #require "util.uuid".generate();
        local enc = require "util.encodings";
        r[#r+1] = enc.base64.encode("hi") .. enc.base64.decode("aGk=") .. tostring(enc.stringprep.nodeprep("A B"));
        return table.concat(r, "|")"#,
    );
    assert_eq!(
        out,
        "1, 2, 3, 4;1, 2;3;3|10,20,30|b:nil:2|3bad|trueforbidden|{1;\"two\";x={y=true;};}|1|truetruefalse|a2,b1|truetruefalse|wrap,high,low|nil|12,24,36|aGk=hinil"
    );
}

#[test]
fn stanzas_cross_the_boundary_with_namespaces_and_xml_lang_intact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "");
    let out = eval(
        &mut core,
        r#"local native = require "lilt.native";
        local s = require "util.xml".parse("<message xml:lang='de' to='a@b'><body>hallo</body><x xmlns='urn:x'><y/></x></message>");
        local lang = s.attr["http://www.w3.org/XML/1998/namespace\1lang"];
        return table.concat({ lang, tostring(s.attr.xmlns), s.tags[2].attr.xmlns, s.tags[2].tags[1].attr.xmlns,
            native.serialize(s) }, "|")"#,
    );
    assert_eq!(
        out,
        "de|nil|urn:x|urn:x|<message to='a@b' xml:lang='de'><body>hallo</body><x xmlns='urn:x'><y/></x></message>"
    );
}

/// Like `http_through`, returning the status, the content type and the body.
fn http_answer(
    core: &mut Core,
    router: &lilt::modules::http::Router,
    path: &str,
) -> (u16, String, String) {
    let mut rx = lilt::lua::http::take_receiver(core);
    let router = router.clone();
    let req = lilt::modules::http::Request::new("GET", path).with_header("host", HOST);
    let t = std::thread::spawn(move || {
        let r = router
            .dispatch(&req, &lilt::modules::http::HttpSettings::default())
            .response;
        let ctype = r
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        (
            r.status,
            ctype,
            String::from_utf8_lossy(&r.body).into_owned(),
        )
    });
    if let Some(rx) = rx.as_mut() {
        if let Some(call) = rx.blocking_recv() {
            lilt::lua::http::handle(core, call);
        }
    }
    let answer = t.join().expect("dispatch thread");
    if let (Some(rx), Some(h)) = (rx, core.lua.as_mut()) {
        h.http.put_receiver(rx);
    }
    answer
}

#[test]
fn response_send_and_net_http_files_answer_like_prosody() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "");
    let www = dir.path().join("www");
    std::fs::create_dir_all(www.join("sub")).expect("www");
    std::fs::write(www.join("index.html"), "<h1>home</h1>").expect("index");
    std::fs::write(www.join("sub/data.json"), "{}").expect("json");
    plugin(
        dir.path(),
        "site",
        &format!(
            r#"local serve = require "net.http.files".serve;
            module:provides("http", {{ route = {{
                ["GET /sent"] = function(event)
                    event.response.status_code = 203;
                    event.response.headers.content_type = "text/plain";
                    return event.response:send("sent body");
                end,
                ["GET /files/*"] = serve({{ path = {:?} }}),
            }} }});"#,
            www.display().to_string()
        ),
    );
    assert!(lilt::lua::load_module(&mut core, HOST, "site"));
    let mut router = lilt::modules::http::Router::new();
    lilt::lua::http::add_routes(&core.shared, &mut router, &Default::default());
    let (status, ctype, body) = http_answer(&mut core, &router, "/site/sent");
    assert_eq!(
        (status, ctype.as_str(), body.as_str()),
        (203, "text/plain", "sent body")
    );
    let (status, ctype, body) = http_answer(&mut core, &router, "/site/files/sub/data.json");
    assert_eq!(
        (status, ctype.as_str(), body.as_str()),
        (200, "application/json", "{}")
    );
    let (status, _, body) = http_answer(&mut core, &router, "/site/files/");
    assert_eq!((status, body.as_str()), (200, "<h1>home</h1>"));
    let (status, _, _) = http_answer(&mut core, &router, "/site/files/../prosody.cfg.lua");
    assert_ne!(status, 200);
    let (status, _, _) = http_answer(&mut core, &router, "/site/files/missing.txt");
    assert_eq!(status, 404);
}
