//! The plugin sweep (issue 22, Done-when 1): every stock plugin of Debian's Prosody and
//! every module of Debian's prosody-modules, one per start with the same minimal config,
//! on Prosody and on Lilt. A plugin *loads* when the server starts with it and reports no
//! error for it; it *answers the poke* when one disco#info request to the host shows
//! something its server's bare config does not (a feature, identity or form).
//!
//! `cargo test --test lua sweep_full -- --ignored --nocapture` runs everything and writes
//! the table to `target/plugin-sweep.md`; `sweep_short` (a normal test) runs a handful.
//! Plugins that load (or answer) on Prosody but not on Lilt must be listed with their
//! reason in docs/plugins.md.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::support::{Server, WsClient, HOST};

const STOCK_DIR: &str = "/usr/lib/prosody/modules";
const POKE_TIMEOUT: Duration = Duration::from_secs(5);

/// The outcome for one plugin on one server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Outcome {
    loads: bool,
    answers: bool,
    why: String,
}

/// Plugin names of a Debian package: its `mod_<name>.lua` files under the module dir.
fn package_plugins(package: &str) -> BTreeSet<String> {
    let out = Command::new("dpkg").args(["-L", package]).output();
    let Ok(out) = out else {
        return BTreeSet::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with(STOCK_DIR))
        .filter_map(|l| {
            let file = Path::new(l).file_name()?.to_str()?;
            let name = file.strip_prefix("mod_")?.strip_suffix(".lua")?;
            Some(name.to_owned())
        })
        .collect()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn wait_port(port: u16, child: &mut Child, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// The part of a disco#info reply that can show a plugin: features, identities, forms.
fn disco_marks(reply: &str) -> BTreeSet<String> {
    let mut marks = BTreeSet::new();
    for part in reply.split('<').skip(1) {
        let tag = part.split('>').next().unwrap_or("");
        if tag.starts_with("feature ") || tag.starts_with("identity ") {
            // Attributes in a stable order (Prosody's come in hash order), without the
            // server's own name.
            let mut words: Vec<&str> = tag
                .trim_end_matches('/')
                .split(' ')
                .filter(|w| !w.is_empty() && *w != "name='Lilt'" && *w != "name='Prosody'")
                .collect();
            words[1..].sort_unstable();
            marks.insert(words.join(" "));
        } else if tag.starts_with("value") {
            if let Some(v) = part.split('>').nth(1) {
                marks.insert(format!("value {v}"));
            }
        }
    }
    marks
}

async fn poke(addr: std::net::SocketAddr) -> Option<BTreeSet<String>> {
    let run = async {
        let mut c = WsClient::connect(addr).await;
        c.login("sweep", "pw", "r").await;
        c.send_text(&format!(
            "<iq xmlns='jabber:client' type='get' id='poke' to='{HOST}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
        ))
        .await;
        loop {
            let t = c.next_text().await;
            if t.contains("id='poke'") {
                return disco_marks(&t);
            }
        }
    };
    tokio::time::timeout(POKE_TIMEOUT, run).await.ok()
}

fn common_config(module: Option<&str>, plugin_paths: &str) -> String {
    let enabled = module.map(|m| format!(", \"{m}\"")).unwrap_or_default();
    format!(
        r#"c2s_require_encryption = false
allow_unencrypted_plain_auth = true
plugin_paths = {{ {plugin_paths} }}
modules_enabled = {{ "websocket", "http", "saslauth", "disco"{enabled} }}
modules_disabled = {{ "s2s", "s2s_auth_certs" }}
admins = {{ "sweep@{HOST}" }}
"#
    )
}

/// Prosody with one plugin: (outcome, disco marks).
async fn prosody_run(module: Option<&str>, seed: &Path) -> (Outcome, BTreeSet<String>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    copy_dir(seed, &data);
    let http = free_port();
    let mut ports = BTreeSet::new();
    ports.insert(http);
    let mut port = || loop {
        let p = free_port();
        if ports.insert(p) {
            return p;
        }
    };
    let log = dir.path().join("prosody.log");
    let config = format!(
        r#"run_as_root = true
data_path = {data:?}
pidfile = {pid:?}
log = {{ {{ levels = {{ min = "info" }}, to = "file", filename = {log:?} }} }}
interfaces = {{ "127.0.0.1" }}
local_interfaces = {{ "127.0.0.1" }}
use_ipv6 = false
http_ports = {{ {http} }}
https_ports = {{ }}
c2s_ports = {{ {c2s} }}
c2s_direct_tls_ports = {{ }}
s2s_ports = {{ {s2s} }}
component_ports = {{ {comp} }}
proxy65_ports = {{ {p65} }}
console_ports = {{ {console} }}
{common}
VirtualHost "{HOST}"
"#,
        data = data.display().to_string(),
        pid = dir.path().join("prosody.pid").display().to_string(),
        log = log.display().to_string(),
        c2s = port(),
        s2s = port(),
        comp = port(),
        p65 = port(),
        console = port(),
        common = common_config(module, ""),
    );
    let cfg = dir.path().join("prosody.cfg.lua");
    std::fs::write(&cfg, config).expect("write config");
    let mut child = match Command::new("prosody")
        .arg("--config")
        .arg(&cfg)
        .arg("-F")
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            let why = format!("cannot run prosody: {e}");
            return (
                Outcome {
                    why,
                    ..Outcome::default()
                },
                BTreeSet::new(),
            );
        }
    };
    let up = wait_port(http, &mut child, Duration::from_secs(20));
    let marks = if up {
        poke(std::net::SocketAddr::from(([127, 0, 0, 1], http))).await
    } else {
        None
    };
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let err = module.and_then(|m| {
        text.lines()
            .find(|l| {
                l.contains("\terror\t")
                    && (l.contains(&format!("'{m}'")) || l.contains(&format!("mod_{m}")))
            })
            .map(str::to_owned)
    });
    let loads = up && err.is_none();
    let why = err.unwrap_or_else(|| {
        if up {
            String::new()
        } else {
            "did not start".into()
        }
    });
    let answered = marks.is_some();
    (
        Outcome {
            loads,
            answers: answered,
            why,
        },
        marks.unwrap_or_default(),
    )
}

/// Lilt (in process) with one plugin: (outcome, disco marks).
async fn lilt_run(module: Option<&str>) -> (Outcome, BTreeSet<String>) {
    let config = format!(
        r#"http_ports = {{ 0 }}
https_ports = {{ }}
c2s_ports = {{ }}
data_path = "data"
{common}
VirtualHost "{HOST}"
"#,
        common = common_config(module, &format!("{STOCK_DIR:?}"))
    );
    let s = Server::start(&config).await;
    s.add_user("sweep", "pw");
    let loaded = match module {
        None => true,
        Some(m) => {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let name = m.to_owned();
            let _ = s.shared.core_tx.send(lilt::core::CoreMsg::Task(lilt::core::session::CoreTask(
                Box::new(move |core| {
                    // The host's module set is the configured one; what runs is a Lua
                    // module that loaded or a native module of that name.
                    let native = lilt::modules::is_native(&name);
                    let lua = lilt::lua::eval(
                        core,
                        &format!(
                            "local mm = require 'core.modulemanager'; return tostring(mm.is_loaded('{HOST}', '{name}') or mm.is_loaded('*', '{name}'))"
                        ),
                    )
                    .is_ok_and(|v| v == "true");
                    let _ = tx.send(native || lua);
                }),
            )));
            rx.await.unwrap_or(false)
        }
    };
    let marks = poke(s.addr).await;
    // Each start is a whole server in this process: stop its core so a run of ~170 does
    // not pile up threads and descriptors.
    s.shutdown_sessions().await;
    let outcome = Outcome {
        loads: loaded,
        answers: marks.is_some(),
        why: if loaded {
            String::new()
        } else {
            "not loaded (see the log)".into()
        },
    };
    (outcome, marks.unwrap_or_default())
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read seed").flatten() {
        let p = e.path();
        let target = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &target);
        } else {
            std::fs::copy(&p, &target).expect("copy");
        }
    }
}

/// A data directory with the account `sweep`, written by Lilt in Prosody's format.
async fn seed() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let store = std::sync::Arc::new(lilt::storage::Storage::internal(data.clone()));
    let accounts = lilt::modules::auth_internal_hashed::Accounts::new(
        store,
        lilt::xmpp::sasl::ScramHash::Sha1,
    );
    accounts.create(HOST, "sweep", "pw").expect("seed account");
    (dir, data)
}

struct Row {
    name: String,
    package: &'static str,
    prosody: Outcome,
    lilt: Outcome,
}

async fn sweep(names: &[(String, &'static str)]) -> Vec<Row> {
    let (_keep, seed_dir) = seed().await;
    let (_, prosody_base) = prosody_run(None, &seed_dir).await;
    let (_, lilt_base) = lilt_run(None).await;
    let mut rows = Vec::new();
    for (name, package) in names {
        let (mut p, pm) = prosody_run(Some(name), &seed_dir).await;
        let new_marks: Vec<&String> = pm.difference(&prosody_base).collect();
        if std::env::var("LILT_SWEEP_DEBUG").is_ok() {
            eprintln!("{name}: new on Prosody: {new_marks:?}");
        }
        p.answers = p.loads && p.answers && !new_marks.is_empty();
        let (mut l, lm) = lilt_run(Some(name)).await;
        l.answers = l.loads && l.answers && lm.difference(&lilt_base).next().is_some();
        eprintln!(
            "{name:28} prosody load={} poke={}   lilt load={} poke={}",
            p.loads, p.answers, l.loads, l.answers
        );
        rows.push(Row {
            name: name.clone(),
            package,
            prosody: p,
            lilt: l,
        });
    }
    rows
}

/// Names listed in docs/plugins.md's exceptions table (`| mod_x | reason |`).
fn documented_exceptions() -> BTreeSet<String> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/plugins.md"))
            .unwrap_or_default();
    text.lines()
        .filter_map(|l| l.strip_prefix("| mod_"))
        .filter_map(|l| l.split('|').next())
        .map(|n| n.trim().to_owned())
        .collect()
}

fn report(rows: &[Row]) -> String {
    let mut out = String::from(
        "| plugin | package | Prosody loads | Lilt loads | Prosody answers | Lilt answers |\n|---|---|---|---|---|---|\n",
    );
    let yes = |b: bool| if b { "yes" } else { "no" };
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            r.name,
            r.package,
            yes(r.prosody.loads),
            yes(r.lilt.loads),
            yes(r.prosody.answers),
            yes(r.lilt.answers)
        ));
    }
    for pkg in ["prosody", "prosody-modules"] {
        let of: Vec<&Row> = rows.iter().filter(|r| r.package == pkg).collect();
        let count = |f: &dyn Fn(&Row) -> bool| of.iter().filter(|r| f(r)).count();
        out.push_str(&format!(
            "\n{pkg}: {} plugins; Prosody loads {}, Lilt loads {} (of those {}); answers the poke: Prosody {}, Lilt {} (of those {})\n",
            of.len(),
            count(&|r| r.prosody.loads),
            count(&|r| r.lilt.loads),
            count(&|r| r.prosody.loads && r.lilt.loads),
            count(&|r| r.prosody.answers),
            count(&|r| r.lilt.answers),
            count(&|r| r.prosody.answers && r.lilt.answers),
        ));
    }
    out
}

fn check(rows: &[Row]) {
    let exceptions = documented_exceptions();
    let missing: Vec<String> = rows
        .iter()
        .filter(|r| {
            ((r.prosody.loads && !r.lilt.loads) || (r.prosody.answers && !r.lilt.answers))
                && !exceptions.contains(&r.name)
        })
        .map(|r| format!("{} ({})", r.name, r.prosody.why))
        .collect();
    assert!(
        missing.is_empty(),
        "plugins that work on Prosody but not on Lilt, and are not in docs/plugins.md: {missing:?}"
    );
}

fn prosody_installed() -> bool {
    Path::new(STOCK_DIR).join("mod_disco.lua").exists()
        && Command::new("prosody").arg("--help").output().is_ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn sweep_short() {
    if !prosody_installed() {
        // As the interop tests do: a missing Prosody fails the run unless skipping was asked for.
        assert!(
            std::env::var("LILT_SKIP_INTEROP").is_ok_and(|v| v == "1"),
            "the sweep needs Debian's prosody and prosody-modules (run .ci/run), or set LILT_SKIP_INTEROP=1"
        );
        eprintln!("SKIPPED (LILT_SKIP_INTEROP=1): the plugin sweep");
        return;
    }
    let names: Vec<(String, &'static str)> = [
        ("uptime", "prosody"),
        ("server_contact_info", "prosody"),
        ("watchregistrations", "prosody"),
        ("authz_internal", "prosody"),
        ("lastlog2", "prosody-modules"),
        ("adhoc_blacklist", "prosody-modules"),
    ]
    .into_iter()
    .map(|(n, p)| (n.to_owned(), p))
    .collect();
    let rows = sweep(&names).await;
    eprintln!("{}", report(&rows));
    check(&rows);
    assert!(rows.iter().all(|r| r.lilt.loads), "{}", report(&rows));
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "full sweep: ~170 plugins, one Prosody and one Lilt start each (minutes)"]
async fn sweep_full() {
    assert!(
        prosody_installed(),
        "the full sweep needs Debian's prosody and prosody-modules"
    );
    let stock = package_plugins("prosody");
    let community = package_plugins("prosody-modules");
    let mut names: Vec<(String, &'static str)> =
        stock.iter().map(|n| (n.clone(), "prosody")).collect();
    names.extend(
        community
            .iter()
            .filter(|n| !stock.contains(*n))
            .map(|n| (n.clone(), "prosody-modules")),
    );
    if let Ok(only) = std::env::var("LILT_SWEEP_ONLY") {
        let only: BTreeSet<&str> = only.split(',').collect();
        names.retain(|(n, _)| only.contains(n.as_str()));
    }
    let rows = sweep(&names).await;
    let table = report(&rows);
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/plugin-sweep.md");
    std::fs::write(&out, &table).expect("write report");
    eprintln!("{table}\nwritten to {}", out.display());
    check(&rows);
}

/// Why plugins do not load on Lilt: `LILT_SWEEP_ONLY=a,b cargo test --test lua sweep_why
/// -- --ignored --nocapture` prints each one's load error.
#[test]
#[ignore = "diagnostics for the sweep"]
fn sweep_why() {
    let names = std::env::var("LILT_SWEEP_ONLY").unwrap_or_default();
    for name in names.split(',').filter(|n| !n.is_empty()) {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = dir.path().join("prosody.cfg.lua");
        std::fs::write(
            &cfg,
            format!(
                "data_path = {:?}\nplugin_paths = {{ {STOCK_DIR:?} }}\nVirtualHost \"{HOST}\"\n",
                dir.path().join("data").display().to_string()
            ),
        )
        .expect("write config");
        let config = lilt::config::Config::load(&cfg).expect("config");
        let (shared, _rx) = lilt::core::server::build(config);
        let mut core = lilt::core::server::new_core(shared);
        let r = lilt::lua::load_module_now(&mut core, HOST, name);
        eprintln!("== {name}: {r:?}");
    }
}
