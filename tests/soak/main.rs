//! Soak test (minutes long, not part of `cargo test`): a real `lilt` process, a set of
//! stable sessions that stay connected and many churning sessions that log in, send
//! numbered messages at random intervals, close and come back, for SOAK_SECS seconds.
//! Checks: every message sent to a stable session arrives exactly once (numbered, no loss,
//! no duplicates), server memory (RSS) flat after warm-up, no error-level log line.
//!
//! Run: `cargo test --release --test soak -- --ignored --nocapture`
//! Knobs: SOAK_SECS (default 600), SOAK_STABLE (default 100), SOAK_CHURN (default 1000).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

const HOST: &str = "example.test";

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

type Ws = WebSocketStream<TcpStream>;

/// (sender, sequence number) -> times received.
type Ledger = Arc<Mutex<HashMap<(String, u64), u32>>>;

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    logins: AtomicU64,
    presences: AtomicU64,
    failures: AtomicU64,
}

async fn next_text(ws: &mut Ws) -> Option<String> {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return Some(t),
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) | Err(_) => return None,
            Ok(Some(Ok(_))) => continue,
        }
    }
}

async fn send(ws: &mut Ws, text: String) -> Option<()> {
    ws.send(Message::Text(text)).await.ok()
}

/// Connects and logs in with PLAIN, binds `resource`; None on any failure.
async fn login(addr: SocketAddr, user: &str, resource: &str) -> Option<Ws> {
    let tcp = TcpStream::connect(addr).await.ok()?;
    let mut req = format!("ws://{addr}/xmpp-websocket")
        .into_client_request()
        .ok()?;
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", "xmpp".parse().ok()?);
    let (mut ws, _) = tokio_tungstenite::client_async(req, tcp).await.ok()?;
    let open =
        format!("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='{HOST}' version='1.0'/>");
    send(&mut ws, open.clone()).await?;
    next_text(&mut ws).await?;
    next_text(&mut ws).await?;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0pw"));
    send(
        &mut ws,
        format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{auth}</auth>"),
    )
    .await?;
    if !next_text(&mut ws).await?.contains("<success") {
        return None;
    }
    send(&mut ws, open).await?;
    next_text(&mut ws).await?;
    next_text(&mut ws).await?;
    send(&mut ws, format!("<iq xmlns='jabber:client' type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{resource}</resource></bind></iq>")).await?;
    if !next_text(&mut ws).await?.contains("type='result'") {
        return None;
    }
    send(&mut ws, "<presence xmlns='jabber:client'/>".into()).await?;
    Some(ws)
}

/// Pulls `from` and `n` out of `<body>from:n</body>`.
fn numbered(text: &str) -> Option<(String, u64)> {
    let start = text.find("<body>")? + 6;
    let end = text[start..].find("</body>")? + start;
    let (from, n) = text[start..end].split_once(':')?;
    Some((from.to_owned(), n.parse().ok()?))
}

async fn stable(
    addr: SocketAddr,
    idx: usize,
    ledger: Ledger,
    stop: Arc<AtomicBool>,
    c: Arc<Counters>,
) {
    let user = format!("s{idx}");
    let Some(mut ws) = login(addr, &user, "stable").await else {
        c.failures.fetch_add(1, Ordering::Relaxed);
        panic!("stable session {user} could not log in");
    };
    c.logins.fetch_add(1, Ordering::Relaxed);
    loop {
        match tokio::time::timeout(Duration::from_millis(500), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                if t.starts_with("<message") {
                    if let Some(key) = numbered(&t) {
                        *ledger.lock().expect("ledger").entry(key).or_insert(0) += 1;
                    }
                } else if t.starts_with("<presence") {
                    c.presences.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok(Some(Ok(_))) => {}
            Ok(_) => panic!("stable session {user} was disconnected"),
            Err(_) => {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
            }
        }
    }
    let _ = send(
        &mut ws,
        "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>".into(),
    )
    .await;
}

/// Logs in, sends numbered messages to random stable users, closes, comes back, until
/// `stop`. Returns every (sender, number) it sent.
async fn churner(
    addr: SocketAddr,
    idx: usize,
    stables: usize,
    stop: Arc<AtomicBool>,
    c: Arc<Counters>,
) -> Vec<(String, u64)> {
    let user = format!("c{idx}");
    let mut sent = Vec::new();
    let mut seq = 0u64;
    let mut round = 0u64;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let Some(mut ws) = login(addr, &user, &format!("r{round}")).await else {
            c.failures.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        c.logins.fetch_add(1, Ordering::Relaxed);
        let burst = rand::thread_rng().gen_range(1..20);
        for _ in 0..burst {
            let (to, pause) = {
                let mut r = rand::thread_rng();
                (r.gen_range(0..stables), r.gen_range(10..300))
            };
            seq += 1;
            let key = format!("{user}-{seq}");
            let msg = format!("<message xmlns='jabber:client' to='s{to}@{HOST}' type='chat' id='{key}'><body>{user}:{seq}</body></message>");
            if send(&mut ws, msg).await.is_none() {
                break;
            }
            sent.push((user.clone(), seq));
            c.sent.fetch_add(1, Ordering::Relaxed);
            // Read whatever comes (presence, errors) without blocking the pace.
            let _ = tokio::time::timeout(Duration::from_millis(pause), ws.next()).await;
        }
        // A clean close: <close/>, then wait for the server's close.
        let _ = send(
            &mut ws,
            "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>".into(),
        )
        .await;
        while next_text(&mut ws).await.is_some() {}
        let pause = rand::thread_rng().gen_range(0..500);
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
    sent
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
https_ports = {{ }}
data_path = {:?}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
modules_enabled = {{ "websocket", "http", "ping" }}
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
#[ignore = "minutes long: cargo test --release --test soak -- --ignored --nocapture"]
async fn soak_sessions_churn_without_loss_leak_or_error() {
    let secs = env_num("SOAK_SECS", 600);
    let n_stable = env_num("SOAK_STABLE", 100) as usize;
    let n_churn = env_num("SOAK_CHURN", 1000) as usize;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path());
    let accounts = lilt::modules::auth_internal_hashed::Accounts::new(
        Arc::new(lilt::storage::InternalStore::new(dir.path().join("data"))),
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
    let mut samples = Vec::new();
    while started.elapsed() < Duration::from_secs(secs) {
        tokio::time::sleep(Duration::from_secs(5).min(Duration::from_secs(secs))).await;
        let rss = rss_kib(pid);
        samples.push((started.elapsed().as_secs(), rss));
        eprintln!(
            "t={:>4}s rss={rss} KiB logins={} sent={} received={} failures={}",
            started.elapsed().as_secs(),
            counters.logins.load(Ordering::Relaxed),
            counters.sent.load(Ordering::Relaxed),
            ledger
                .lock()
                .expect("ledger")
                .values()
                .map(|&v| v as u64)
                .sum::<u64>(),
            counters.failures.load(Ordering::Relaxed),
        );
    }
    churn_stop.store(true, Ordering::Relaxed);
    let mut all_sent = Vec::new();
    for c in churners {
        all_sent.extend(c.await.expect("churner"));
    }
    // Let the last messages land, then stop the stable sessions.
    tokio::time::sleep(Duration::from_secs(2)).await;
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
    let warm = samples.get(samples.len() / 3).map(|s| s.1).unwrap_or(0);
    let end = samples.last().map(|s| s.1).unwrap_or(0);
    let peak = samples.iter().map(|s| s.1).max().unwrap_or(0);
    eprintln!(
        "SOAK {secs}s stable={n_stable} churn={n_churn}: logins={} sent={} lost={} duplicated={} \
         login-failures={} rss warm={warm} end={end} peak={peak} KiB error-lines={}",
        counters.logins.load(Ordering::Relaxed),
        all_sent.len(),
        lost.len(),
        duplicated.len(),
        counters.failures.load(Ordering::Relaxed),
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
    assert!(
        errors.lock().expect("errors").is_empty(),
        "error log lines: {:?}",
        errors.lock().expect("errors")
    );
    assert!(
        end <= warm + warm / 4 + 8 * 1024,
        "memory grew after warm-up: {warm} KiB -> {end} KiB"
    );
}
