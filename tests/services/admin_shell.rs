//! Administering a running `lilt` through its admin socket with `lilt shell`: a Lua plugin
//! reloaded after its file changed, unloaded and loaded again while a WebSocket client
//! stays connected; errors and a missing socket give clear messages and exit codes; a
//! plugin's counters reach `/metrics` under Prosody's names.

use crate::common;
use crate::support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{describe, ServerDir, TestServer};
use support::{http_get, WsClient, HOST};

const PROBE_NS: &str = "urn:example:admin-probe";

/// A plugin answering a probe IQ with `answer`, counting each answer two ways.
fn plugin(answer: &str) -> String {
    format!(
        r#"local st = require "util.stanza";
local answered = module:measure("answered", "counter");
local words = module:metric("counter", "words", "", "Probe answers by word.", {{ "word" }});
module:hook("iq-get/host/{PROBE_NS}:probe", function(event)
	answered();
	words:with_labels("{answer}"):add(1);
	event.origin.send(st.reply(event.stanza):tag("probe", {{ xmlns = "{PROBE_NS}" }}):text("{answer}"));
	return true;
end);
"#
    )
}

fn config() -> String {
    format!(
        r#"http_ports = {{ @HTTP_PORT@ }}
http_interfaces = {{ "127.0.0.1" }}
https_ports = {{}}
c2s_ports = {{}}
data_path = "@DATA_PATH@"
plugin_paths = {{ "@DIR@/plugins" }}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
modules_enabled = {{ "websocket", "http", "admin_shell", "http_openmetrics", "probe" }}
VirtualHost "{HOST}"
"#
    )
}

fn prepare(answer: &str) -> ServerDir {
    let dir = ServerDir::new(config());
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).expect("plugins dir");
    std::fs::write(plugins.join("mod_probe.lua"), plugin(answer)).expect("write plugin");
    dir
}

fn plugin_file(s: &TestServer) -> PathBuf {
    s.dir().path().join("plugins/mod_probe.lua")
}

fn socket(dir: &Path) -> PathBuf {
    dir.join("data/prosody.sock")
}

fn shell(s: &TestServer, words: &[&str]) -> Output {
    let mut args = vec!["shell"];
    args.extend_from_slice(words);
    s.lilt(&args, None)
}

#[track_caller]
fn ok(out: &Output) -> String {
    assert!(out.status.success(), "expected success:\n{}", describe(out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[track_caller]
fn failed(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected exit 1:\n{}",
        describe(out)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn login(s: &TestServer) -> WsClient {
    let addr = SocketAddr::from(([127, 0, 0, 1], s.http_port()));
    let mut c = WsClient::connect(addr).await;
    let jid = c.login("alice", "pw", "web").await;
    assert_eq!(jid, format!("alice@{HOST}/web"));
    c
}

async fn probe(c: &mut WsClient, id: &str) -> String {
    c.send_text(&format!(
        "<iq xmlns='jabber:client' type='get' id='{id}' to='{HOST}'><probe xmlns='{PROBE_NS}'/></iq>"
    ))
    .await;
    let r = c.next_text().await;
    assert!(r.contains(&format!("id='{id}'")), "{r}");
    r
}

#[tokio::test]
async fn reload_unload_and_load_change_a_plugin_while_its_client_stays_connected() {
    let dir = prepare("v1");
    dir.register("alice", HOST, "pw");
    let s = dir.start();
    let mut c = login(&s).await;
    assert!(probe(&mut c, "p1").await.contains(">v1</probe>"));

    std::fs::write(plugin_file(&s), plugin("v2")).expect("edit plugin");
    let out = ok(&shell(&s, &["module", "reload", "probe", HOST]));
    assert!(out.contains(&format!("Reloaded on {HOST}")), "{out}");
    assert!(out.contains("OK: Module reloaded on 1 host"), "{out}");
    assert!(
        probe(&mut c, "p2").await.contains(">v2</probe>"),
        "the same connection sees the reloaded plugin"
    );

    let out = ok(&shell(&s, &["module", "unload", "probe", HOST]));
    assert!(out.contains("OK: Module unloaded from 1 host"), "{out}");
    let r = probe(&mut c, "p3").await;
    assert!(
        r.contains("type='error'") && r.contains("service-unavailable"),
        "an unloaded plugin's hook no longer answers: {r}"
    );
    let out = ok(&shell(&s, &["module:list('example.test')"]));
    assert!(!out.contains("probe"), "{out}");

    let out = ok(&shell(&s, &["module", "load", "probe", HOST]));
    assert!(out.contains(&format!("Loaded for {HOST}")), "{out}");
    assert!(probe(&mut c, "p4").await.contains(">v2</probe>"));
    let out = ok(&shell(&s, &["module:list('example.test')"]));
    assert!(
        out.contains("probe (Lua: ") && out.contains("/plugins/mod_probe.lua)"),
        "{out}"
    );
    assert!(out.contains("websocket (native)"), "{out}");
    assert!(!out.contains("built in"), "{out}");

    let out = ok(&shell(&s, &["c2s:show()"]));
    assert!(out.contains(&format!("alice@{HOST}/web")), "{out}");
    assert!(
        out.contains("WebSocket") && out.contains("1 c2s sessions shown"),
        "{out}"
    );
    let out = ok(&shell(&s, &["c2s", "count"]));
    assert!(out.contains("OK: Total: 1 clients"), "{out}");
    assert!(
        probe(&mut c, "p5").await.contains(">v2</probe>"),
        "the client is still connected after all of it"
    );
}

#[tokio::test]
async fn shell_errors_give_clear_messages_and_exit_status_one() {
    let dir = prepare("v1");
    // A socket file left behind by a server that died is replaced.
    let stale = socket(dir.path());
    drop(std::os::unix::net::UnixListener::bind(&stale).expect("stale socket"));
    assert!(stale.exists());
    let mut s = dir.start();
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&stale).expect("socket").permissions(),
    );
    assert_eq!(mode & 0o077, 0, "owner-only socket, mode {mode:o}");

    let err = failed(&shell(&s, &["module", "reload", "nosuch", HOST]));
    assert!(
        err.contains("Module 'nosuch' is not loaded on example.test"),
        "{err}"
    );
    let err = failed(&shell(&s, &["module", "load", "nosuch", HOST]));
    assert!(err.contains("module 'nosuch' not found"), "{err}");
    let err = failed(&shell(&s, &["module", "reload", "websocket"]));
    assert!(err.contains("mod_websocket is built into Lilt"), "{err}");
    let err = failed(&shell(&s, &["module", "reload", "probe", "nohost.test"]));
    assert!(
        err.contains("Host 'nohost.test' is not served here"),
        "{err}"
    );
    let err = failed(&shell(&s, &["reload everything"]));
    assert!(err.contains("couldn't understand"), "{err}");

    // Interactive use with stdin not a terminal: Prosody's `| ` and `! ` prefixes.
    let out = s.lilt(
        &["shell"],
        Some("server:version()\nc2s:count()\nmodule:unload('nosuch')\nquit\nc2s:count()\n"),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("| OK: Lilt "), "{}", describe(&out));
    assert!(
        text.contains("| OK: Total: 0 clients"),
        "{}",
        describe(&out)
    );
    assert!(
        text.contains("! Error: Module 'nosuch' is not loaded"),
        "{}",
        describe(&out)
    );
    assert_eq!(
        text.matches("Total: 0 clients").count(),
        1,
        "quit ends the session"
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "a line failed: {}",
        describe(&out)
    );

    // server:shutdown stops the server, which removes its socket.
    let out = ok(&shell(&s, &["server", "shutdown", "maintenance"]));
    assert!(out.contains("OK: Shutdown initiated"), "{out}");
    let status = s.signal_and_wait(0, std::time::Duration::from_secs(20));
    assert!(status.is_some(), "the server exited:\n{}", s.log());
    assert!(!stale.exists(), "socket removed on shutdown");
    let err = failed(&s.lilt(&["shell", "c2s", "count"], None));
    assert!(
        err.contains("Is Lilt running?") && err.contains(&stale.display().to_string()),
        "{err}"
    );
}

#[tokio::test]
async fn a_plugins_counters_appear_in_metrics_under_prosodys_names() {
    let dir = prepare("hello");
    dir.register("alice", HOST, "pw");
    let s = dir.start();
    let mut c = login(&s).await;
    probe(&mut c, "m1").await;
    probe(&mut c, "m2").await;
    // A reload keeps the family and its value, as Prosody's registry does.
    ok(&shell(&s, &["module", "reload", "probe", HOST]));
    probe(&mut c, "m3").await;

    let addr = SocketAddr::from(([127, 0, 0, 1], s.http_port()));
    let (head, body) = http_get(
        addr,
        &format!("GET /metrics HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        body.contains("# TYPE prosody_mod_probe__words counter\n"),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            "prosody_mod_probe__words_total{{host=\"{HOST}\",word=\"hello\"}} 3\n"
        )),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            "prosody_mod_probe__answered_total{{host=\"{HOST}\"}} 3\n"
        )),
        "{body}"
    );
    assert!(body.ends_with("# EOF\n"), "{body}");
}

/// A plugin answering the probe with an option's current value and the number of
/// `config-reloaded` events it heard.
const OPTION_PLUGIN: &str = r#"local st = require "util.stanza";
local reloads = 0;
module:hook_global("config-reloaded", function() reloads = reloads + 1; end);
module:hook("iq-get/host/urn:example:admin-probe:probe", function(event)
	local answer = module:get_option_string("probe_answer", "unset") .. "/" .. reloads;
	event.origin.send(st.reply(event.stanza):tag("probe", { xmlns = "urn:example:admin-probe" }):text(answer));
	return true;
end);
"#;

#[tokio::test]
async fn a_config_reload_gives_plugins_the_new_options_and_config_reloaded() {
    let dir = prepare("v1");
    std::fs::write(dir.path().join("plugins/mod_probe.lua"), OPTION_PLUGIN).expect("plugin");
    let original = std::fs::read_to_string(&dir.config_path).expect("config");
    let with_answer = |answer: &str| format!("probe_answer = \"{answer}\"\n{original}");
    std::fs::write(&dir.config_path, with_answer("one")).expect("config");
    dir.register("alice", HOST, "pw");
    let config_path = dir.config_path.clone();
    let two = with_answer("two");
    let three = with_answer("three");
    let s = dir.start();
    let mut c = login(&s).await;
    assert!(probe(&mut c, "o1").await.contains(">one/0</probe>"));

    // SIGHUP (Prosody's reload, reference §1.7): the same session, the new value.
    std::fs::write(&config_path, two).expect("edit config");
    s.signal(libc::SIGHUP);
    assert!(
        s.wait_for_log("config reloaded", std::time::Duration::from_secs(10)),
        "{}",
        s.log()
    );
    assert!(
        probe(&mut c, "o2").await.contains(">two/1</probe>"),
        "plugins read options from the reloaded config"
    );

    // The console's config:reload() does the same, synchronously.
    std::fs::write(&config_path, three).expect("edit config");
    let out = ok(&shell(&s, &["config:reload()"]));
    assert!(out.contains("Config reloaded"), "{out}");
    assert!(probe(&mut c, "o3").await.contains(">three/2</probe>"));
    let out = ok(&shell(&s, &["config:get('probe_answer')"]));
    assert!(out.contains("three"), "{out}");
}

#[test]
fn prosodys_own_prosodyctl_shell_drives_lilt() {
    if !common::prosody_ready() {
        return;
    }
    let s = prepare("v1").start();
    // Prosody's config with the same data_path resolves `admin_socket` to Lilt's socket.
    let prosody = common::Prosody::new(&s.data_path(), HOST);
    let out = prosody.prosodyctl(&["shell", "module", "reload", "probe", HOST], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        text.contains(&format!("Reloaded on {HOST}"))
            && text.contains("OK: Module reloaded on 1 host"),
        "{}",
        describe(&out)
    );
    let out = prosody.prosodyctl(&["shell", "module", "unload", "nosuch", HOST], None);
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Module 'nosuch' is not loaded"),
        "{}",
        describe(&out)
    );
    let out = prosody.prosodyctl(&["shell"], Some("c2s:count()\n"));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("| OK: Total: 0 clients"),
        "{}",
        describe(&out)
    );
}

#[tokio::test]
async fn module_list_and_the_log_tell_what_provides_each_module_and_what_failed() {
    let dir = ServerDir::new(config().replace(
        "\"probe\" }",
        "\"probe\", \"broken\", \"ping\", \"nosuchmod\" }",
    ));
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).expect("plugins dir");
    std::fs::write(plugins.join("mod_probe.lua"), plugin("v1")).expect("write plugin");
    std::fs::write(plugins.join("mod_broken.lua"), "error('boom at load')\n").expect("write");
    // A failing Lua copy of a native module: the native one stays.
    std::fs::write(plugins.join("mod_ping.lua"), "error('bad ping copy')\n").expect("write");
    dir.register("alice", HOST, "pw");
    let s = dir.start();
    let out = ok(&shell(&s, &["module:list('example.test')"]));
    assert!(out.contains("    probe (Lua: "), "{out}");
    assert!(out.contains("    ping (native)"), "{out}");
    let broken = out
        .lines()
        .find(|l| l.trim_start().starts_with("broken ("))
        .unwrap_or_else(|| panic!("broken listed: {out}"));
    assert!(
        broken.contains("not loaded: ")
            && broken.contains("mod_broken.lua failed to load")
            && broken.contains("boom at load"),
        "{broken}"
    );
    let missing = out
        .lines()
        .find(|l| l.trim_start().starts_with("nosuchmod ("))
        .unwrap_or_else(|| panic!("nosuchmod listed: {out}"));
    assert!(
        missing.contains("not loaded: Lilt has no native mod_nosuchmod"),
        "{missing}"
    );
    let log = s.log();
    assert!(
        log.contains("Error initializing module 'broken' on 'example.test'")
            && log.contains("boom at load"),
        "{log}"
    );
    assert!(
        log.contains("Unable to load module 'nosuchmod' on 'example.test'"),
        "{log}"
    );
    assert!(
        log.contains("Lilt's native mod_ping is loaded instead"),
        "{log}"
    );
    // The server still serves: the working plugin answers.
    let mut c = login(&s).await;
    c.send_text(&format!(
        "<iq xmlns='jabber:client' type='get' id='pg' to='{HOST}'><ping xmlns='urn:xmpp:ping'/></iq>"
    ))
    .await;
    let r = c.next_text().await;
    assert!(
        r.contains("type='result'") && r.contains("id='pg'"),
        "native ping answers: {r}"
    );
}

async fn ping(c: &mut WsClient, id: &str) -> String {
    c.send_text(&format!(
        "<iq xmlns='jabber:client' type='get' id='{id}' to='{HOST}'><ping xmlns='urn:xmpp:ping'/></iq>"
    ))
    .await;
    let r = c.next_text().await;
    assert!(r.contains(&format!("id='{id}'")), "{r}");
    r
}

async fn disco_has_ping(c: &mut WsClient, id: &str) -> bool {
    c.send_text(&format!(
        "<iq xmlns='jabber:client' type='get' id='{id}' to='{HOST}'>\
         <query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
    ))
    .await;
    let r = c.next_text().await;
    assert!(
        r.contains(&format!("id='{id}'")) && r.contains("type='result'"),
        "{r}"
    );
    r.contains("var='urn:xmpp:ping'")
}

#[tokio::test]
async fn native_ping_unloads_and_reloads_at_run_time_through_the_console() {
    let dir = prepare("v1");
    let text = std::fs::read_to_string(dir.path().join("prosody.cfg.lua")).expect("config");
    std::fs::write(
        dir.path().join("prosody.cfg.lua"),
        text.replace("\"probe\" }", "\"probe\", \"ping\", \"disco\" }"),
    )
    .expect("config");
    dir.register("alice", HOST, "pw");
    let s = dir.start();
    let mut c = login(&s).await;
    assert!(ping(&mut c, "a").await.contains("type='result'"));
    assert!(disco_has_ping(&mut c, "d1").await);

    let out = ok(&shell(&s, &["module", "unload", "ping", HOST]));
    assert!(out.contains("OK: Module unloaded from 1 host"), "{out}");
    let r = ping(&mut c, "b").await;
    assert!(
        r.contains("type='error'") && r.contains("service-unavailable"),
        "an unloaded mod_ping no longer answers, as in Prosody: {r}"
    );
    assert!(!disco_has_ping(&mut c, "d2").await, "the feature went too");
    let out = ok(&shell(&s, &["module:list('example.test')"]));
    assert!(!out.contains("ping (native)"), "{out}");

    let out = ok(&shell(&s, &["module", "load", "ping", HOST]));
    assert!(out.contains(&format!("Loaded for {HOST}")), "{out}");
    assert!(ping(&mut c, "c").await.contains("type='result'"));
    assert!(disco_has_ping(&mut c, "d3").await);

    let out = ok(&shell(&s, &["module", "reload", "ping", HOST]));
    assert!(out.contains("OK: Module reloaded on 1 host"), "{out}");
    assert!(ping(&mut c, "e").await.contains("type='result'"));
    // Unloading what is not loaded says so.
    ok(&shell(&s, &["module", "unload", "ping", HOST]));
    let err = failed(&shell(&s, &["module", "unload", "ping", HOST]));
    assert!(err.contains("not loaded"), "{err}");
}
