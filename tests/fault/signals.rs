//! Graceful lifecycle of the real `lilt` process: SIGHUP reloads the config file (a good
//! one is logged as reloaded, a broken one is reported and the old one kept) without
//! dropping sessions; SIGTERM closes sessions with `system-shutdown` and exits 0 within
//! `network_settings.shutdown_deadline`.

use crate::support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::{WsClient, HOST};

fn config(data: &Path, extra: &str) -> String {
    format!(
        r#"
http_ports = {{ 0 }}
https_ports = {{ }}
data_path = {data:?}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
modules_enabled = {{ "websocket", "http", "ping" }}
network_settings = {{ shutdown_deadline = 3 }}
{extra}
VirtualHost "{HOST}"
"#,
        data = data.display().to_string()
    )
}

struct Lilt {
    child: Child,
    log: mpsc::Receiver<String>,
    addr: SocketAddr,
}

impl Lilt {
    fn start(cfg: &Path) -> Lilt {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lilt"))
            .arg("--config")
            .arg(cfg)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn lilt");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut l = Lilt {
            child,
            log,
            addr: "127.0.0.1:1".parse().expect("addr"),
        };
        let line = l.wait_for("Serving http on");
        let addr = line.rsplit(' ').next().expect("address").trim();
        l.addr = addr.parse().expect("listening address");
        l
    }

    /// The first log line containing `needle` (panics after 10 s).
    fn wait_for(&mut self, needle: &str) -> String {
        self.lines_until(needle).pop().expect("the matching line")
    }

    /// Log lines up to and including the first one containing `needle`.
    fn lines_until(&mut self, needle: &str) -> Vec<String> {
        let end = Instant::now() + Duration::from_secs(10);
        let mut seen = Vec::new();
        while Instant::now() < end {
            if let Ok(line) = self.log.recv_timeout(Duration::from_millis(100)) {
                let found = line.contains(needle);
                seen.push(line);
                if found {
                    return seen;
                }
            }
        }
        panic!("no log line with {needle:?}; saw {seen:?}");
    }

    fn signal(&self, sig: libc::c_int) {
        // SAFETY: kill with our own child's pid.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, sig) };
        assert_eq!(rc, 0, "signal delivered");
    }
}

impl Drop for Lilt {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn register(cfg: &Path, user: &str) {
    let st = Command::new(env!("CARGO_BIN_EXE_lilt"))
        .arg("--config")
        .arg(cfg)
        .args(["register", user, HOST, "pw"])
        .status()
        .expect("lilt register");
    assert!(st.success());
}

async fn ping(c: &mut WsClient, id: &str) {
    c.send_text(&format!(
        "<iq xmlns='jabber:client' type='get' id='{id}' to='{HOST}'><ping xmlns='urn:xmpp:ping'/></iq>"
    ))
    .await;
    let reply = c.next_text().await;
    assert!(
        reply.contains(&format!("id='{id}'")) && reply.contains("type='result'"),
        "{reply}"
    );
}

#[tokio::test]
async fn sighup_reloads_the_config_and_keeps_sessions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("prosody.cfg.lua");
    std::fs::write(&cfg, config(&dir.path().join("data"), "")).expect("config");
    register(&cfg, "alice");
    let mut lilt = Lilt::start(&cfg);
    let mut c = WsClient::connect(lilt.addr).await;
    c.login("alice", "pw", "r").await;

    std::fs::write(&cfg, config(&dir.path().join("data"), "c2s_timeout = 120")).expect("edit");
    lilt.signal(libc::SIGHUP);
    lilt.wait_for("config reloaded");
    ping(&mut c, "p1").await;

    // A broken file: reported, the old config stays, the session too.
    std::fs::write(&cfg, "this is not lua {{{").expect("break config");
    lilt.signal(libc::SIGHUP);
    lilt.wait_for("Error reloading config");
    ping(&mut c, "p2").await;
    assert!(
        lilt.child.try_wait().expect("status").is_none(),
        "still running"
    );
    // New logins still work.
    let mut d = WsClient::connect(lilt.addr).await;
    d.login("alice", "pw", "second").await;
}

#[tokio::test]
async fn sigterm_closes_sessions_with_system_shutdown_and_exits_zero_in_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("prosody.cfg.lua");
    std::fs::write(&cfg, config(&dir.path().join("data"), "")).expect("config");
    register(&cfg, "alice");
    let mut lilt = Lilt::start(&cfg);
    let mut c = WsClient::connect(lilt.addr).await;
    c.login("alice", "pw", "r").await;
    // A second client that never finishes its handshake must not hold the exit up.
    let _idle = tokio::net::TcpStream::connect(lilt.addr)
        .await
        .expect("connect");

    let sent = Instant::now();
    lilt.signal(libc::SIGTERM);
    let (texts, _close) = c.until_close().await;
    assert!(
        texts.iter().any(|t| t.contains("system-shutdown")),
        "system-shutdown stream error: {texts:?}"
    );
    let end = sent + Duration::from_secs(3 + 2);
    let status = loop {
        if let Some(st) = lilt.child.try_wait().expect("status") {
            break st;
        }
        assert!(
            Instant::now() < end,
            "lilt did not exit within shutdown_deadline"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.code(), Some(0), "exit status");
}

#[tokio::test]
async fn sighup_applies_the_new_log_levels() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("prosody.cfg.lua");
    let data = dir.path().join("data");
    std::fs::write(&cfg, config(&data, "")).expect("config");
    let mut lilt = Lilt::start(&cfg);
    // Console from info (the default) -> console from warn.
    std::fs::write(&cfg, config(&data, "log = \"warn\"")).expect("edit");
    lilt.signal(libc::SIGHUP);
    lilt.wait_for("Reloading configuration file");
    // Let that reload finish reading the file before it is broken.
    std::thread::sleep(Duration::from_millis(1000));
    std::fs::write(&cfg, "not lua {{{").expect("break config");
    lilt.signal(libc::SIGHUP);
    let lines = lilt.lines_until("Error reloading config");
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("Reloading configuration file")),
        "info lines still logged after the reload to warn: {lines:?}"
    );
}
