//! slixmpp's xep_0198 through a TCP proxy the test cuts: 1 000 messages, 20 cuts, each
//! message received exactly once.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc};

use super::client::{Client, Transport};
use super::server::Lilt;
use crate::common::{python, slixmpp_available};
use crate::support::HOST;

/// A TCP relay whose connections all drop at once on [`Proxy::cut`] (a lost network:
/// no stream close reaches either side).
struct Proxy {
    addr: SocketAddr,
    cut: broadcast::Sender<()>,
}

impl Proxy {
    async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let (cut, _) = broadcast::channel(4);
        let tx = cut.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let mut rx = tx.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = rx.recv() => {}
                    }
                });
            }
        });
        Proxy { addr, cut }
    }

    fn cut(&self) {
        let _ = self.cut.send(());
    }
}

async fn wait_for(
    lines: &mut mpsc::UnboundedReceiver<serde_json::Value>,
    step: &str,
    bodies: &mut BTreeMap<String, usize>,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let line = tokio::time::timeout_at(deadline, lines.recv())
            .await
            .unwrap_or_else(|_| panic!("slixmpp did not report {step} in time"))
            .unwrap_or_else(|| panic!("slixmpp exited before {step}"));
        if line["step"] == "body" {
            *bodies
                .entry(line["body"].as_str().unwrap_or_default().to_owned())
                .or_default() += 1;
        }
        if line["step"] == step {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slixmpp_resumes_through_twenty_cuts_and_gets_each_of_a_thousand_messages_once() {
    if !slixmpp_available() {
        return;
    }
    let s = Lilt::start("").await;
    let proxy = Proxy::start(s.addrs.tcp).await;
    let script = crate::common::repo_root().join("tests/interop/slixmpp_smacks.py");
    let mut child = tokio::process::Command::new(python())
        .arg(script)
        .args(["--port", &proxy.addr.port().to_string()])
        .args([
            "--jid",
            &format!("alice@{HOST}/sm"),
            "--password",
            "pw",
            "--count",
            "1000",
        ])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run slixmpp");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, mut lines) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut r = BufReader::new(stdout).lines();
        while let Ok(Some(l)) = r.next_line().await {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&l) {
                let _ = tx.send(v);
            }
        }
    });
    let mut bodies = BTreeMap::new();
    wait_for(&mut lines, "sm_enabled", &mut bodies).await;
    let mut bob = Client::login(s.addrs, Transport::Ws, "bob", "phone").await;
    let alice = format!("alice@{HOST}");
    let mut n = 0;
    let mut send = |count: usize| {
        let batch: Vec<String> = (n..n + count).map(|i| format!("m{i}")).collect();
        n += count;
        batch
    };
    for _cut in 0..20 {
        for body in send(25) {
            bob.stanza(&format!(
                "<message to='{alice}' type='chat'><body>{body}</body></message>"
            ))
            .await;
        }
        bob.sync().await;
        proxy.cut();
        // Mid-conversation: these reach the session while its client is away.
        for body in send(25) {
            bob.stanza(&format!(
                "<message to='{alice}' type='chat'><body>{body}</body></message>"
            ))
            .await;
        }
        bob.sync().await;
        wait_for(&mut lines, "resumed", &mut bodies).await;
    }
    assert_eq!(n, 1000);
    wait_for(&mut lines, "done", &mut bodies).await;
    let missing: Vec<String> = (0..1000)
        .map(|i| format!("m{i}"))
        .filter(|b| !bodies.contains_key(b))
        .collect();
    let twice: Vec<(&String, &usize)> = bodies.iter().filter(|(_, c)| **c > 1).collect();
    assert!(missing.is_empty(), "lost: {missing:?}");
    assert!(twice.is_empty(), "duplicated: {twice:?}");
    assert_eq!(bodies.len(), 1000);
    let _ = child.wait().await;
}
