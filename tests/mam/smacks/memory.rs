//! The resident memory a hibernated session costs, Lilt beside Prosody (ignored by
//! default; run `cargo test --test mam hibernated_session_memory -- --ignored
//! --nocapture`, LILT_SMACKS_SESSIONS sets how many, 100 by default).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::client::{Addrs, Client, Transport};
use crate::common::{prosody_ready, wait_for_port, Prosody, ServerDir};
use crate::support::HOST;

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Logs `n` resumable sessions in, cuts them all; (baseline, live, hibernated) RSS in KiB.
async fn measure(pid: u32, addrs: Addrs, n: usize) -> (u64, u64, u64) {
    let mut warm = Client::login(addrs, Transport::Tcp, "alice", "warm").await;
    warm.exchange("<presence xmlns='jabber:client'/>").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let base = rss_kib(pid);
    let mut clients = Vec::with_capacity(n);
    for i in 0..n {
        let mut c = Client::login(addrs, Transport::Tcp, "alice", &format!("r{i}")).await;
        c.exchange("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")
            .await;
        c.exchange("<presence xmlns='jabber:client'/>").await;
        clients.push(c);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let live = rss_kib(pid);
    for c in clients {
        c.cut();
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let hibernated = rss_kib(pid);
    (base, live, hibernated)
}

fn report(name: &str, n: usize, (base, live, hib): (u64, u64, u64)) {
    let per = |x: u64| (x.saturating_sub(base) as f64 * 1024.0 / n as f64) / 1024.0;
    println!(
        "{name}: {n} sessions, RSS base {base} KiB, live {live} KiB ({:.1} KiB/session), \
         hibernated {hib} KiB ({:.1} KiB/session)",
        per(live),
        per(hib)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: prints RSS per hibernated session for Lilt and Prosody"]
async fn hibernated_session_memory_beside_prosody() {
    let n: usize = std::env::var("LILT_SMACKS_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let dir = ServerDir::new(
        super::server::config("")
            .replace("http_ports = { 0 }", "http_ports = { @HTTP_PORT@ }")
            .replace("c2s_ports = { 0 }", "c2s_ports = { @C2S_PORT@ }")
            .replace("\"@DATA@\"", "\"@DATA_PATH@\""),
    );
    dir.register("alice", HOST, "pw");
    let child = Command::new(env!("CARGO_BIN_EXE_lilt"))
        .arg("--config")
        .arg(&dir.config_path)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start lilt");
    let lilt = Killed(child);
    assert!(wait_for_port(dir.c2s_port, Duration::from_secs(30), None));
    let addrs = Addrs {
        tcp: format!("127.0.0.1:{}", dir.c2s_port).parse().expect("addr"),
        http: format!("127.0.0.1:{}", dir.http_port)
            .parse()
            .expect("addr"),
    };
    let ours = measure(lilt.0.id(), addrs, n).await;
    drop(lilt);
    report("lilt (debug build)", n, ours);

    if !prosody_ready() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let p = Prosody::new(&tmp.path().join("pdata"), HOST);
    let cfg = std::fs::read_to_string(&p.config_path).expect("prosody config");
    let cfg = cfg
        .replace("\"private\" }", "\"private\", \"smacks\" }")
        .replace(
            "levels = { min = \"debug\" }",
            "levels = { min = \"warn\" }",
        );
    std::fs::write(&p.config_path, cfg).expect("write prosody config");
    p.register("alice", HOST, "pw");
    let child = Command::new("prosody")
        .arg("--config")
        .arg(&p.config_path)
        .arg("-F")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prosody");
    let prosody = Killed(child);
    assert!(wait_for_port(p.c2s_port, Duration::from_secs(30), None));
    let addrs = Addrs {
        tcp: format!("127.0.0.1:{}", p.c2s_port).parse().expect("addr"),
        http: format!("127.0.0.1:{}", p.http_port).parse().expect("addr"),
    };
    let theirs = measure(prosody.0.id(), addrs, n).await;
    report("prosody 0.12.3", n, theirs);
}
