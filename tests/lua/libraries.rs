//! Prosody's util.* libraries as Lilt implements them: each test pins the semantics
//! plugins rely on (the stock and community plugins that use them are named).

use super::harness::{core_with, eval};

fn run(code: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "");
    eval(&mut core, code)
}

#[test]
fn set_operators_follow_prosody_so_authz_internal_can_map_admins() {
    // mod_authz_internal: `get_option_inherited_set("admins") / normalize`, then `+`.
    let out = run(r#"local set = require "util.set";
        local a, b = set.new{ "A@x", "b@x" }, set.new{ "b@x", "c@x" };
        local lower = a / function(j) return j:lower() end;
        local items = {};
        for item in (lower + b):items() do items[#items+1] = item end
        table.sort(items);
        local r = {};
        r[#r+1] = table.concat(items, ",");
        r[#r+1] = tostring(lower:contains("a@x")) .. tostring((a - b):contains("b@x"));
        r[#r+1] = tostring(set.intersection(a, b):contains("b@x"));
        r[#r+1] = tostring(set.new{1, 2} == set.new{2, 1}) .. tostring(set.new{1} == {});
        local n = 0; for _ in set.xor(a, b) do n = n + 1 end
        r[#r+1] = n;
        r[#r+1] = tostring(a / function() return nil end == set.new());
        r[#r+1] = tostring(set.new():empty());
        return table.concat(r, "|")"#);
    assert_eq!(out, "a@x,b@x,c@x|truenil|true|truefalse|2|true|true");
}

#[test]
fn array_methods_mutate_and_module_functions_copy() {
    let out = run(r#"local array = require "util.array";
        local a = array{ 3, 1, 2 };
        local sorted = array.sort(a);
        local r = {};
        r[#r+1] = a:concat(",") .. "/" .. sorted:concat(",");
        a:map(function(x) return x * 2 end);
        r[#r+1] = a:concat(",");
        r[#r+1] = tostring(array.map(a, function(x) return x + 1 end)) .. tostring(a);
        r[#r+1] = (a / function(x) if x > 2 then return x end end):concat(",");
        r[#r+1] = (array{1} + array{2, 3}):concat(",");
        r[#r+1] = array{1, 2, 3, 4}:slice(2, -2):concat(",");
        r[#r+1] = array.pluck({ { n = "a" }, {} }, "n", "?"):concat(",");
        r[#r+1] = array{1, 1, 2}:unique():concat(",") .. ";" .. array{1, 2, 3}:reverse():concat(",");
        r[#r+1] = tostring(array{1, 2} == array{1, 2}) .. tostring(array{1} == {1});
        local it = require "util.iterators";
        r[#r+1] = array(it.values({ 5 })):concat(",");
        r[#r+1] = array{1, 2, 3, 4}:filter(function(x) return x % 2 == 0 end):concat(",");
        return table.concat(r, "|")"#);
    assert_eq!(
        out,
        "3,1,2/1,2,3|6,2,4|{7, 3, 5}{6, 2, 4}|6,4|1,2,3|2,3|a,?|1,2;3,2,1|truefalse|5|2,4"
    );
}

#[test]
fn small_libraries_behave_as_plugins_expect() {
    let out = run(r#"local r = {};
        local hex = require "util.hex";
        r[#r+1] = hex.to("\0\255a") .. "," .. hex.from("6869") .. "," .. tostring(hex.from("zz"));
        local paths = require "util.paths";
        r[#r+1] = paths.resolve_relative_path("/etc", "x.pem") .. "," .. paths.resolve_relative_path("/etc", "/abs");
        r[#r+1] = tostring(("a.lua"):match(paths.glob_to_pattern("*.lua")) ~= nil) .. tostring(("a.luac"):match(paths.glob_to_pattern("*.lua")) ~= nil);
        local envload = require "util.envload".envload;
        r[#r+1] = envload("return x", "=t", { x = 7 })();
        local time = require "util.time";
        r[#r+1] = tostring(time.now() > 1e9 and time.monotonic() >= 0);
        local q = require "util.queue".new(2);
        q:push(1); q:push(2);
        local full_ok = q:push(3);
        r[#r+1] = tostring(full_ok) .. q:pop() .. q:peek() .. q:count();
        local wrap = require "util.queue".new(2, true);
        wrap:push("a"); wrap:push("b"); wrap:push("c");
        local items = {}; for _, v in wrap:items() do items[#items+1] = v end
        r[#r+1] = table.concat(items);
        local mt = require "util.multitable".new();
        mt:add("h", "u", "x"); mt:add("h", "v", "y"); mt:set("k", "l", 5);
        local found = mt:search("h", nil);
        table.sort(found);
        r[#r+1] = table.concat(found) .. mt:get("k", "l");
        mt:remove("h", "u", "x");
        r[#r+1] = tostring(mt:get("h", "u"));
        local units = require "util.human.units";
        r[#r+1] = units.format(1536, "B", "b") .. ";" .. units.format(2500, "B");
        local io = require "util.human.io";
        r[#r+1] = io.parse_duration("2h") .. "," .. io.parse_duration("1 day") .. "," .. io.ellipsis("abcdefgh", 6);
        local interp = require "util.interpolation".new("%b{}", function(s) return (s:gsub("<", "&lt;")) end,
            { upper = string.upper });
        r[#r+1] = interp("{a} {a!} {b.c|upper} {x?none} {list#[{item}]}{y&yes}", { a = "<", b = { c = "q" }, list = { 1, 2 } });
        return table.concat(r, "|")"#);
    assert_eq!(
        out,
        "00ff61,hi,nil|/etc/x.pem,/abs|truefalse|7|true|nil121|bc|xy5|nil|1.5 KiB;2.5 kB|7200,86400,abc...|&lt; < Q none [1][2]"
    );
}

#[test]
fn rsm_jwt_caps_and_hashes_interoperate() {
    let out = run(r#"local r = {};
        local st = require "util.stanza";
        local rsm = require "util.rsm";
        local q = st.stanza("query", { xmlns = "urn:xmpp:mam:2" })
            :tag("set", { xmlns = rsm.xmlns }):text_tag("max", "10"):tag("before"):up():up();
        local parsed = rsm.get(q);
        r[#r+1] = parsed.max .. tostring(parsed.before);
        r[#r+1] = tostring(rsm.generate({ first = { "a", index = 0 }, count = 5, last = "z" }));
        local jwt = require "util.jwt";
        local token = jwt.sign("secret", { sub = "alice" });
        local ok, payload = jwt.verify("secret", token);
        local bad, why = jwt.verify("other", token);
        r[#r+1] = tostring(ok) .. payload.sub .. tostring(bad) .. why .. tostring(select(2, jwt.verify("x", "nope")));
        -- XEP-0115 §5.2's example: identity client/pc//Exodus 0.9.1 and four features.
        local info = st.stanza("query", { xmlns = "http://jabber.org/protocol/disco#info" })
            :tag("identity", { category = "client", type = "pc", name = "Exodus 0.9.1" }):up()
            :tag("feature", { var = "http://jabber.org/protocol/caps" }):up()
            :tag("feature", { var = "http://jabber.org/protocol/disco#info" }):up()
            :tag("feature", { var = "http://jabber.org/protocol/disco#items" }):up()
            :tag("feature", { var = "http://jabber.org/protocol/muc" }):up();
        r[#r+1] = (require "util.caps".calculate_hash(info.tags));
        return table.concat(r, "|")"#);
    assert_eq!(
        out,
        "10true|<set xmlns='http://jabber.org/protocol/rsm'><first index='0'>a</first><last>z</last><count>5</count></set>|truealicefalsesignature-mismatchinvalid-encoding|QgayPKawpkPSDYmwT/WM94uAlu0="
    );
}

#[test]
fn socket_url_parses_builds_and_resolves() {
    let out = run(r#"local url = require "socket.url";
        local u = url.parse("https://user:pw@example.com:8443/a/b?x=1#frag");
        local r = {};
        r[#r+1] = table.concat({ u.scheme, u.user, u.password, u.host, u.port, u.path, u.query, u.fragment }, ",");
        r[#r+1] = url.build({ scheme = "xmpp", path = "admin@example.com" });
        r[#r+1] = url.build(url.parse("http://[::1]:80/x"));
        r[#r+1] = url.absolute("http://h/a/b/c", "../d") .. " " .. url.absolute("http://h/a/b", "/e");
        r[#r+1] = url.escape("a b/c") .. " " .. url.unescape("a%20b");
        local p = url.parse_path("/a/b%20c/");
        r[#r+1] = #p .. p[2] .. tostring(p.is_absolute) .. url.build_path(p);
        return table.concat(r, "|")"#);
    assert_eq!(
        out,
        "https,user,pw,example.com,8443,/a/b,x=1,frag|xmpp:admin@example.com|http://[::1]:80/x|http://h/a/d http://h/e|a%20b%2fc a b|2b c1/a/b%20c/"
    );
}

#[test]
fn dbuffer_smqueue_template_and_presence() {
    let out = run(r#"local r = {};
        local b = require "util.dbuffer".new(100);
        b:write("hello "); b:write("world\n!");
        r[#r+1] = b:length() .. b:read(3) .. "," .. b:read_until("\n") .. "," .. b:sub(1, 1);
        r[#r+1] = tostring(b:write(string.rep("x", 200)));
        local smq = require "util.smqueue".new(10);
        smq:push("a"); smq:push("b"); smq:push("c");
        local acked = smq:ack(2);
        r[#r+1] = table.concat(acked) .. smq:count_unacked() .. smq:count_acked() .. tostring(smq:resumable()) .. tostring(smq:ack(9));
        local tpl = require "util.template"([[<message to='{to}'>
            <body>{text}</body>
        </message>]]);
        r[#r+1] = tostring(tpl.apply({ to = "a@b", text = "hi" }));
        local presence = require "util.presence";
        local user = { sessions = {
            a = { presence = {}, priority = 1 }, b = { presence = {}, priority = 5 }, c = { priority = 9 },
        } };
        r[#r+1] = #presence.select_top_resources(user) .. presence.select_top_resources(user)[1].priority;
        return table.concat(r, "|")"#);
    assert_eq!(
        out,
        "13hel,lo world\n,!|nil|ab12truenil|<message to='a@b'><body>hi</body></message>|15"
    );
}

#[test]
fn adhoc_forms_and_x509_pem() {
    let out = run(r#"local r = {};
        local dataforms = require "util.dataforms";
        local adhoc = require "util.adhoc";
        local form = dataforms.new{ { name = "n", type = "text-single" } };
        local handler = adhoc.new_simple_form(form, function(fields) return { status = "completed", info = fields.n } end);
        local first, state = handler(nil, { action = "execute" });
        r[#r+1] = first.status .. state .. tostring(first.form == form);
        local submitted = form:form({ n = "42" }, "submit");
        r[#r+1] = handler(nil, { action = "complete", form = submitted }, state).info;
        r[#r+1] = handler(nil, { action = "cancel", form = submitted }, state).status;
        local x509 = require "util.x509";
        local pem = x509.der2pem("\1\2\3");
        r[#r+1] = tostring(x509.pem2der(pem) == "\1\2\3") .. tostring(pem:match("^%-%-%-%-%-BEGIN CERTIFICATE") ~= nil);
        local cert = { subjectAltName = { dNSName = { "*.example.com" } } };
        r[#r+1] = tostring(x509.verify_identity("chat.example.com", nil, cert)) .. tostring(x509.verify_identity("example.com", nil, cert));
        local conf = require "util.encodings".confusable;
        r[#r+1] = tostring(conf.skeleton("раура1") == conf.skeleton("paypal"));
        return table.concat(r, "|")"#);
    assert_eq!(
        out,
        "executingexecutingtrue|42|canceled|truetrue|truefalse|true"
    );
}

#[test]
fn lfs_sees_the_file_system_and_datamanager_shares_internal_storage_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "");
    let base = dir.path().display().to_string();
    let out = eval(
        &mut core,
        &format!(
            r#"local lfs = require "lfs";
            local r = {{}};
            r[#r+1] = tostring(lfs.mkdir("{base}/d")) .. tostring(lfs.mkdir("{base}/d"));
            local f = io.open("{base}/d/f.txt", "w"); f:write("abc"); f:close();
            r[#r+1] = lfs.attributes("{base}/d", "mode") .. lfs.attributes("{base}/d/f.txt").size .. tostring(lfs.attributes("{base}/none"));
            local names = {{}};
            for n in lfs.dir("{base}/d") do names[#names+1] = n end
            r[#r+1] = table.concat(names, ",");
            local dm = require "util.datamanager";
            dm.store("alice", "example.test", "account_details", {{ registered = 5 }});
            r[#r+1] = dm.load("alice", "example.test", "account_details").registered;
            r[#r+1] = dm.getpath("alice", "example.test", "account_details"):sub(#"{base}" + 1);
            local users = {{}};
            for u in dm.users("example.test", "account_details") do users[#users+1] = u end
            r[#r+1] = table.concat(users, ",");
            dm.list_append("alice", "example.test", "log", {{ n = 1 }});
            r[#r+1] = #dm.list_load("alice", "example.test", "log");
            dm.store("alice", "example.test", "account_details", {{}});
            r[#r+1] = tostring(dm.load("alice", "example.test", "account_details"));
            return table.concat(r, "|")"#
        ),
    );
    assert_eq!(
        out,
        "truenil|directory3nil|.,..,f.txt|5|/data/example%2etest/account_details/alice.dat|alice|1|nil"
    );
    // The file a plugin wrote through util.datamanager is the one the store API reads.
    let v = core.shared.store.get("example.test", Some("alice"), "log");
    assert!(v.is_ok());
}

#[test]
fn compatibility_shims_load_and_say_what_they_cannot_do() {
    // bit, import, net.http.codes, util.pposix and portmanager's service list are there
    // for plugins that read them at load time (net.http requests: tests/lua/http_client.rs).
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "");
    let out = eval(
        &mut core,
        r#"local r = {};
        local bit = require "bit";
        r[#r+1] = bit.band(0xff, 0x0f) .. "," .. bit.bor(1, 2, 4) .. "," .. bit.lshift(1, 31) .. "," .. bit.tohex(255, 4);
        local jid_bare, jid_host = import("util.jid", "bare", "host");
        r[#r+1] = jid_bare("a@b/c") .. jid_host("a@b/c");
        r[#r+1] = require "net.http.codes"[404];
        r[#r+1] = require "util.pposix".ENOENT .. tostring(require "util.pposix".getpid() > 0);
        r[#r+1] = tostring(next(require "core.portmanager".get_registered_services()));
        r[#r+1] = tostring(next(prosody.hosts["example.test"].s2sout));
        return table.concat(r, "|")"#,
    );
    assert_eq!(out, "15,7,-2147483648,00ff|a@bb|Not Found|2true|nil|nil");
}

#[test]
fn xmppstream_calls_back_per_stanza_across_chunks_and_reports_errors() {
    // mod_csi_simple's `test` command and mod_bosh parse client streams with it.
    let out = run(r#"local xmppstream = require "util.xmppstream";
        local r = {};
        local session = { notopen = true };
        local cb = { stream_ns = "http://etherx.jabber.org/streams", default_ns = "jabber:client" };
        function cb.streamopened(s, attr) r[#r+1] = "open:" .. tostring(attr.to) .. ":" .. tostring(s.notopen) end
        function cb.handlestanza(s, st) r[#r+1] = st.name .. ":" .. tostring(st.attr.xmlns) .. ":" .. (st:get_child_text("body") or "") end
        function cb.streamclosed() r[#r+1] = "close" end
        function cb.error(_, name) r[#r+1] = "error:" .. name end
        local stream = xmppstream.new(session, cb);
        stream:feed("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.com'><mess");
        stream:feed("age to='a@example.com'><body>hi</body></message><iq type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>");
        stream:feed("<enable xmlns='urn:xmpp:sm:3'/></stream:stream>");
        stream:reset();
        r[#r+1] = tostring(session.notopen);
        stream:feed("<message/>");
        local s2 = xmppstream.new({}, cb);
        local ok = s2:feed("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><a></b>");
        r[#r+1] = tostring(ok);
        local s3 = xmppstream.new({}, cb, 100);
        s3:feed("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><message><body>" .. string.rep("x", 200) .. "</body></message>");
        return table.concat(r, "|")"#);
    assert_eq!(
        out,
        "open:example.com:nil|message:nil:hi|iq:nil:|enable:urn:xmpp:sm:3:|close|true|error:no-stream|open:nil:nil|error:parse-error|nil|open:nil:nil|error:stanza-too-large"
    );
}

#[test]
fn lxp_lom_gives_luaexpats_object_model() {
    // mod_muc_log_http reads its stored stanzas with lom.parse.
    let out = run(r#"local lom = require "lxp.lom";
        local t = lom.parse("<stanza time='12:00'><message from='r@muc/nick' type='groupchat'><body>hi</body></message></stanza>");
        local m = t[1];
        local bad, err = lom.parse("<a>");
        return table.concat({ t.tag, t.attr.time, t.attr[1], m.tag, m.attr.from, m[1].tag, m[1][1], tostring(bad), tostring(err ~= nil) }, "|")"#);
    assert_eq!(out, "stanza|12:00|time|message|r@muc/nick|body|hi|nil|true");
}
