//! Soak test (minutes long, not part of `cargo test`): a real `lilt` process, a set of
//! stable sessions that stay connected and many churning sessions that log in, send
//! numbered messages at random intervals, close and come back, for SOAK_SECS seconds.
//! Stable sessions also run subscription cycles in pairs, roster sets and removes and
//! status broadcasts (clients.rs); churners change their roster on one login in five
//! (churner.rs).
//! Checks: every message sent to a stable session arrives exactly once (numbered, no loss,
//! no duplicates), every roster change and subscription gets its result, roster pushes and
//! presences within 30 s, server memory (RSS) flat after warm-up (minute 1 to the end), no
//! error-level log line.
//!
//! Run: `cargo test --release --test fault soak:: -- --ignored --nocapture`
//! Knobs: SOAK_SECS (default 600), SOAK_STABLE (default 1000), SOAK_CHURN (default 2000).
//! Thousands of sessions: the soft descriptor limit is raised to the hard one (the server
//! inherits it) and clients connect from 127.0.0.1–127.0.0.16.

mod churner;
mod clients;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::fault_support::raise_fd_limit;
use churner::churner;
use clients::{stable, Counters, Ledger, HOST};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn write_config(dir: &Path) -> std::path::PathBuf {
    let cfg = dir.join("prosody.cfg.lua");
    std::fs::write(
        &cfg,
        format!(
            r#"
http_ports = {{ 0 }}
s2s_ports = {{ }} -- mod_s2s is autoloaded and would bind 5269
https_ports = {{ }}
data_path = {:?}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
modules_enabled = {{ "websocket", "http", "ping", "roster" }}
log = "info"
VirtualHost "{HOST}"
"#,
            dir.join("data").display().to_string()
        ),
    )
    .expect("config");
    cfg
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "minutes long: cargo test --release --test fault soak:: -- --ignored --nocapture"]
async fn soak_sessions_churn_without_loss_leak_or_error() {
    let secs = env_num("SOAK_SECS", 600);
    let n_stable = env_num("SOAK_STABLE", 1000) as usize;
    let n_churn = env_num("SOAK_CHURN", 2000) as usize;
    let fds = raise_fd_limit();
    assert!(
        fds > 2 * (n_stable + n_churn) as u64 + 100,
        "descriptor limit {fds} too low for {} sessions",
        n_stable + n_churn
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path());
    let accounts = lilt::modules::auth_internal_hashed::Accounts::new(
        Arc::new(lilt::storage::Storage::internal(dir.path().join("data"))),
        lilt::xmpp::sasl::ScramHash::Sha1,
    )
    .with_iteration_count(64);
    for i in 0..n_stable {
        accounts
            .create(HOST, &format!("s{i}"), "pw")
            .expect("account");
    }
    for i in 0..n_churn {
        accounts
            .create(HOST, &format!("c{i}"), "pw")
            .expect("account");
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_lilt"))
        .arg("--config")
        .arg(&cfg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn lilt");
    let pid = child.id();
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    {
        let stderr = child.stderr.take().expect("stderr");
        let errors = errors.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("Serving http on") {
                    let _ = addr_tx.send(line.rsplit(' ').next().unwrap_or("").to_owned());
                }
                if line.contains("ERROR") {
                    errors.lock().expect("errors").push(line);
                }
            }
        });
    }
    let addr: SocketAddr = addr_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("server listening")
        .parse()
        .expect("address");

    let ledger: Ledger = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let counters = Arc::new(Counters::default());
    let mut stables = Vec::new();
    for i in 0..n_stable {
        stables.push(tokio::spawn(stable(
            addr,
            i,
            n_stable,
            ledger.clone(),
            stop.clone(),
            counters.clone(),
        )));
    }
    while counters.logins.load(Ordering::Relaxed) < n_stable as u64 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let churn_stop = Arc::new(AtomicBool::new(false));
    let mut churners = Vec::new();
    for i in 0..n_churn {
        churners.push(tokio::spawn(churner(
            addr,
            i,
            n_stable,
            churn_stop.clone(),
            counters.clone(),
        )));
    }

    let started = Instant::now();
    let warm_at = 60.min(secs / 3);
    let mut samples = Vec::new();
    while started.elapsed() < Duration::from_secs(secs) {
        tokio::time::sleep(Duration::from_secs(5).min(Duration::from_secs(secs))).await;
        let rss = rss_kib(pid);
        samples.push((started.elapsed().as_secs(), rss));
        let c = &counters;
        eprintln!(
            "t={:>4}s rss={rss} KiB logins={} sent={} received={} roster={} subs={} pushes={} presences={} missing={} failures={}",
            started.elapsed().as_secs(),
            c.logins.load(Ordering::Relaxed),
            c.sent.load(Ordering::Relaxed),
            ledger
                .lock()
                .expect("ledger")
                .values()
                .map(|&v| v as u64)
                .sum::<u64>(),
            c.roster_changes.load(Ordering::Relaxed),
            c.subscriptions.load(Ordering::Relaxed),
            c.pushes.load(Ordering::Relaxed),
            c.presences.load(Ordering::Relaxed),
            c.missing.load(Ordering::Relaxed),
            c.failures.load(Ordering::Relaxed),
        );
    }
    churn_stop.store(true, Ordering::Relaxed);
    let mut all_sent = Vec::new();
    for c in churners {
        all_sent.extend(c.await.expect("churner"));
    }
    // Let the last messages land (a loaded server may be seconds behind), then stop the
    // stable sessions (each waits for the stanzas its last change must cause).
    let drain = Instant::now();
    while drain.elapsed() < Duration::from_secs(30) {
        let received = ledger.lock().expect("ledger").len();
        if received >= all_sent.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    for s in stables {
        s.await.expect("stable session ran to the end");
    }
    let _ = child.kill();
    let _ = child.wait();

    let ledger = ledger.lock().expect("ledger");
    let lost: Vec<_> = all_sent
        .iter()
        .filter(|k| !ledger.contains_key(*k))
        .collect();
    let duplicated: Vec<_> = ledger.iter().filter(|(_, &n)| n > 1).collect();
    let warm = samples
        .iter()
        .find(|s| s.0 >= warm_at)
        .map(|s| s.1)
        .unwrap_or(0);
    let end = samples.last().map(|s| s.1).unwrap_or(0);
    let peak = samples.iter().map(|s| s.1).max().unwrap_or(0);
    let c = &counters;
    eprintln!(
        "SOAK {secs}s stable={n_stable} churn={n_churn}: logins={} sent={} lost={} duplicated={} \
         roster-changes={} subscription-changes={} pushes={} presences={} missing={} \
         login-failures={} rss at {warm_at}s={warm} end={end} peak={peak} KiB error-lines={}",
        c.logins.load(Ordering::Relaxed),
        all_sent.len(),
        lost.len(),
        duplicated.len(),
        c.roster_changes.load(Ordering::Relaxed),
        c.subscriptions.load(Ordering::Relaxed),
        c.pushes.load(Ordering::Relaxed),
        c.presences.load(Ordering::Relaxed),
        c.missing.load(Ordering::Relaxed),
        c.failures.load(Ordering::Relaxed),
        errors.lock().expect("errors").len()
    );
    assert!(
        lost.is_empty(),
        "lost messages, e.g. {:?}",
        &lost[..lost.len().min(5)]
    );
    assert!(
        duplicated.is_empty(),
        "duplicated messages: {}",
        duplicated.len()
    );
    assert_eq!(
        c.missing.load(Ordering::Relaxed),
        0,
        "results/pushes/presences missing, e.g. {:?}",
        c.missing_examples.lock().expect("examples")
    );
    assert_eq!(c.failures.load(Ordering::Relaxed), 0, "login failures");
    assert!(
        errors.lock().expect("errors").is_empty(),
        "error log lines: {:?}",
        errors.lock().expect("errors")
    );
    assert!(
        end <= warm + warm / 4 + 8 * 1024,
        "memory grew after warm-up: {warm} KiB at {warm_at}s -> {end} KiB at the end"
    );
}
