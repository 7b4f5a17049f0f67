//! Running as a system service (issue 15 points 6 and 7).
//!
//! Debian's default config: an unmodified copy of `/etc/prosody` (only the pidfile and
//! log paths pointed into a temp dir) passes `lilt check config` except for exactly the
//! modules Lilt does not provide — computed from the module table, so the list shrinks
//! as modules land — and a server starts on it (in a network namespace of its own, since
//! the config asks for the standard ports), writes its pidfile, reports the same modules
//! as not loaded and removes the pidfile when stopped.
//!
//! posix: `lilt run -D` detaches (the command returns, the server keeps running with its
//! pidfile), a second server on the same pidfile refuses to start, `-F` stays in the
//! foreground despite `daemonize = true`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lilt::config::{check, Config, Value};
use lilt::lua::provenance::{self, Source};

const DEBIAN: &str = "/etc/prosody";

/// A copy of Debian's tree in a temp dir; None (test skipped) without the prosody package.
fn debian_copy() -> Option<(tempfile::TempDir, PathBuf)> {
    if !Path::new(DEBIAN).join("prosody.cfg.lua").exists() {
        eprintln!("skipping: Debian's prosody package is not installed");
        return None;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let etc = dir.path().join("etc");
    let ok = Command::new("cp")
        .args(["-a", DEBIAN])
        .arg(&etc)
        .status()
        .expect("cp");
    assert!(ok.success(), "copying {DEBIAN}");
    let cfg = etc.join("prosody.cfg.lua");
    let text = std::fs::read_to_string(&cfg).expect("read config");
    let root = dir.path().display().to_string();
    let text = text
        .replace(
            "/run/prosody/prosody.pid",
            &format!("{root}/run/prosody.pid"),
        )
        .replace("/var/log/prosody/", &format!("{root}/log/"));
    std::fs::write(&cfg, text).expect("write config");
    Some((dir, cfg))
}

/// The modules Debian's config enables that nothing in Lilt provides (the module table).
fn not_provided(config: &Config) -> BTreeSet<String> {
    let Some(Value::Table(t)) = config.global().get("modules_enabled") else {
        panic!("Debian's config has a modules_enabled list");
    };
    t.seq()
        .iter()
        .filter_map(Value::to_lua_string)
        .filter(|m| matches!(provenance::source(config, m), Source::Missing(_)))
        .collect()
}

fn lilt(cwd: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lilt"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run lilt")
}

#[test]
fn check_config_lists_exactly_the_modules_lilt_does_not_provide() {
    let Some((dir, cfg)) = debian_copy() else {
        return;
    };
    let config = Config::load(&cfg).expect("Debian's config loads");
    let expected = not_provided(&config);
    assert_eq!(check::missing_modules(&config), expected);
    let out = lilt(
        dir.path(),
        &["--config", cfg.to_str().expect("utf-8"), "check", "config"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let reported: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Problem: Module \""))
        .map(|rest| rest[..rest.find('"').expect("quoted name")].to_owned())
        .collect();
    assert_eq!(reported, expected, "{text}");
    let other_problems: Vec<&str> = text
        .lines()
        .filter(|l| l.trim().starts_with("Problem:") && !l.contains("Problem: Module \""))
        .collect();
    assert!(other_problems.is_empty(), "{text}");
    let code = out.status.code();
    if expected.is_empty() {
        assert_eq!(code, Some(0), "{text}");
    } else {
        assert_eq!(code, Some(2), "{text}");
        assert!(text.contains("Problems found, see above."), "{text}");
    }
}

/// True when this machine lets us make a network namespace with loopback up (root,
/// `unshare`, `ip`).
fn can_unshare() -> bool {
    Command::new("unshare")
        .args(["--net", "sh", "-c", "ip link set lo up"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let until = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn lilt_starts_on_debians_config_with_its_pidfile_and_reports_what_is_missing() {
    let Some((dir, cfg)) = debian_copy() else {
        return;
    };
    if !can_unshare() {
        eprintln!("skipping the start: no network namespace can be made here");
        return;
    }
    let config = Config::load(&cfg).expect("Debian's config loads");
    let expected = not_provided(&config);
    let bin = env!("CARGO_BIN_EXE_lilt");
    let script = format!("ip link set lo up && exec {bin} --config {}", cfg.display());
    let mut child = Command::new("unshare")
        .args(["--net", "sh", "-c", &script])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start lilt in a network namespace");
    let log = dir.path().join("log/prosody.log");
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    let socket = dir.path().join("data/prosody.sock");
    let started = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for("the admin socket", Duration::from_secs(20), || {
            socket.exists()
        });
    }));
    if started.is_err() {
        let _ = child.kill();
        panic!("lilt did not start on Debian's config:\n{}", read_log());
    }
    let pidfile = dir.path().join("run/prosody.pid");
    let pid = std::fs::read_to_string(&pidfile).expect("pidfile written");
    assert_eq!(pid, child.id().to_string());
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&pidfile).expect("pidfile").permissions(),
    );
    assert_eq!(mode & 0o027, 0, "created under umask 027: {mode:o}");
    let text = read_log();
    for m in &expected {
        assert!(
            text.contains(&format!("Unable to load module '{m}' on 'localhost'")),
            "{m} logged as not loaded:\n{text}"
        );
    }
    let listed = lilt(
        dir.path(),
        &[
            "--config",
            cfg.to_str().expect("utf-8"),
            "shell",
            "module:list('localhost')",
        ],
    );
    let listed = String::from_utf8_lossy(&listed.stdout);
    for m in &expected {
        assert!(
            listed.contains(&format!("    {m} (not loaded: ")),
            "{m} in module:list():\n{listed}"
        );
    }
    assert!(listed.contains("    roster (native)"), "{listed}");
    // SAFETY: signalling the child we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().expect("wait");
    assert!(status.success(), "clean exit: {status}\n{}", read_log());
    assert!(!pidfile.exists(), "pidfile removed at exit");
}

/// A small config on free ports with a pidfile, in `dir`.
fn posix_config(dir: &Path, extra: &str) -> PathBuf {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("addr")
        .port();
    let cfg = dir.join("prosody.cfg.lua");
    let text = format!(
        "http_ports = {{ {port} }}\nhttp_interfaces = {{ \"127.0.0.1\" }}\nhttps_ports = {{}}\n\
         c2s_ports = {{}}\ndata_path = {data:?}\npidfile = \"lilt.pid\"\nrun_as_root = true\n\
         log = {{ info = {log:?} }}\n{extra}\nVirtualHost \"a.test\"\n",
        data = dir.join("data").display().to_string(),
        log = dir.join("lilt.log").display().to_string(),
    );
    std::fs::write(&cfg, text).expect("write config");
    cfg
}

fn read_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

#[test]
fn run_d_detaches_and_a_second_server_refuses_the_locked_pidfile() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = posix_config(dir.path(), "");
    let cfg_s = cfg.to_str().expect("utf-8");
    let started = Instant::now();
    let out = lilt(dir.path(), &["--config", cfg_s, "run", "-D"]);
    assert!(
        out.status.success(),
        "the launching process exits 0: {out:?}"
    );
    let pidfile = dir.path().join("data/lilt.pid");
    wait_for("the daemon's pidfile", Duration::from_secs(20), || {
        read_pid(&pidfile).is_some()
    });
    let pid = read_pid(&pidfile).expect("pid");
    assert!(alive(pid), "the daemon runs after `run -D` returned");
    assert!(started.elapsed() < Duration::from_secs(20));
    // A second server on the same pidfile: refused, the first keeps running.
    let second = lilt(dir.path(), &["--config", cfg_s, "run", "-F"]);
    assert_eq!(second.status.code(), Some(1), "{second:?}");
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains("is Lilt (or Prosody) already running?"),
        "{err}"
    );
    assert!(alive(pid));
    assert_eq!(read_pid(&pidfile), Some(pid), "the pidfile is left alone");
    // SAFETY: signalling the daemon this test started.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    wait_for("the daemon to exit", Duration::from_secs(20), || {
        !alive(pid)
    });
    wait_for("the pidfile to go", Duration::from_secs(5), || {
        !pidfile.exists()
    });
}

#[test]
fn run_f_stays_in_the_foreground_despite_daemonize_true() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = posix_config(dir.path(), "daemonize = true");
    let mut child = Command::new(env!("CARGO_BIN_EXE_lilt"))
        .args(["--config", cfg.to_str().expect("utf-8"), "run", "-F"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start lilt");
    let pidfile = dir.path().join("data/lilt.pid");
    wait_for("the pidfile", Duration::from_secs(20), || {
        read_pid(&pidfile).is_some()
    });
    assert_eq!(
        read_pid(&pidfile),
        Some(child.id() as i32),
        "no fork with -F"
    );
    assert!(
        child.try_wait().expect("status").is_none(),
        "still in the foreground"
    );
    // SAFETY: signalling the child we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(child.wait().expect("wait").success());
    assert!(!pidfile.exists());
}
