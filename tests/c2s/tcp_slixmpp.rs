//! Real-client interop over TCP: slixmpp (PyPI, see tests/interop/requirements.txt) logs in
//! to Lilt with STARTTLS or direct TLS and SCRAM-SHA-1, trusting a CA made by the test, and
//! exchanges presence and messages with a user on WebSocket: a raw WebSocket client here,
//! and @xmpp/client (tests/interop/node_modules, installed by `npm ci` there) in the last
//! test. Without slixmpp or @xmpp/client these tests fail with instructions, unless
//! LILT_SKIP_INTEROP=1.

use crate::support;
use crate::tcp_support;

use std::process::Stdio;
use std::time::Duration;

use crate::harness::common::{python, slixmpp_available};
use tcp_support::{TcpServer, HOST};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const TO_TCP: &str = "Hello slixmpp, from the WebSocket side <&>";
const TO_WS: &str = "Hi WebSocket! from slixmpp over TCP \u{e9}";

fn attr<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let start = xml.find(&format!(" {name}='"))? + name.len() + 3;
    let len = xml[start..].find('\'')?;
    Some(&xml[start..start + len])
}

/// bob on WebSocket (raw client) against alice on slixmpp over `port` in `mode`.
async fn chat_with_websocket_user(mode: &str, direct: bool) {
    if !slixmpp_available() {
        return;
    }
    let server = TcpServer::start("consider_websocket_secure = true").await;
    server.add_user("alice", "secret");
    server.add_user("bob", "secret");
    let mut ws = support::WsClient::connect(server.http).await;
    let bob = ws.login("bob", "secret", "web").await;
    ws.send_text("<presence xmlns='jabber:client'/>").await;
    let own = ws.next_text().await;
    assert!(own.contains(&format!("from='{bob}'")), "{own}");

    let port = if direct {
        server.direct_tls.expect("direct TLS port")
    } else {
        server.c2s
    }
    .port();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/slixmpp_chat.py");
    let mut child = Command::new(python())
        .arg(script)
        .args(["--port", &port.to_string(), "--mode", mode])
        .args([
            "--jid",
            &format!("alice@{HOST}/slix"),
            "--password",
            "secret",
        ])
        .args(["--ca", &server.ca_path.display().to_string()])
        .args([
            "--peer",
            &format!("bob@{HOST}"),
            "--send",
            TO_WS,
            "--expect",
            TO_TCP,
        ])
        .args(["--mechanism", "SCRAM-SHA-1", "--timeout", "20"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start python");
    let stdout = child.stdout.take().expect("stdout");
    let lines = tokio::spawn(async move {
        let mut out = Vec::new();
        let mut r = BufReader::new(stdout).lines();
        while let Ok(Some(l)) = r.next_line().await {
            out.push(l);
        }
        out
    });

    // alice's directed presence tells bob her full JID.
    let presence = ws.next_text().await;
    assert!(presence.starts_with("<presence"), "{presence}");
    let alice = attr(&presence, "from").expect("from").to_owned();
    assert!(alice.starts_with("alice@example.test/"), "{alice}");
    ws.send_text(&format!("<presence xmlns='jabber:client' to='{alice}'/>"))
        .await;
    ws.send_text(&format!(
        "<message xmlns='jabber:client' to='{alice}' type='chat' id='w1'><body>Hello slixmpp, from the WebSocket side &lt;&amp;&gt;</body></message>"
    ))
    .await;
    let reply = loop {
        let t = ws.next_text().await;
        if t.starts_with("<message") {
            break t;
        }
    };
    assert!(reply.contains(&format!("from='{alice}'")), "{reply}");
    assert!(
        reply.contains("<body>Hi WebSocket! from slixmpp over TCP \u{e9}</body>"),
        "{reply}"
    );

    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("slixmpp finished")
        .expect("wait");
    let lines = lines.await.expect("stdout reader");
    let out = lines.join("\n");
    assert!(status.success(), "slixmpp failed: {out}");
    let start = lines
        .iter()
        .find(|l| l.contains("\"session_start\""))
        .expect("session_start");
    assert!(start.contains("\"mechanism\": \"SCRAM-SHA-1\""), "{start}");
    assert!(start.contains("\"tls\": \"TLSv1."), "encrypted: {start}");
    assert!(
        lines.last().is_some_and(|l| l.contains("\"done\"")),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slixmpp_with_starttls_and_scram_sha1_chats_with_a_websocket_user() {
    chat_with_websocket_user("starttls", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slixmpp_over_direct_tls_chats_with_a_websocket_user() {
    chat_with_websocket_user("direct", true).await;
}

/// False when the test should be skipped; panics with instructions when @xmpp/client is
/// missing.
fn xmpp_client_available() -> bool {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/node_modules/@xmpp/client"
    );
    if std::path::Path::new(dir).is_dir() {
        return true;
    }
    if std::env::var("LILT_SKIP_INTEROP").as_deref() == Ok("1") {
        eprintln!("skipped: @xmpp/client not installed and LILT_SKIP_INTEROP=1");
        return false;
    }
    panic!(
        "@xmpp/client is not installed: run `npm ci` in tests/interop (or LILT_SKIP_INTEROP=1 to skip)"
    );
}

/// Collects a child's stdout lines; sends each on `tx` as it arrives.
fn read_lines(
    stdout: tokio::process::ChildStdout,
    tx: tokio::sync::mpsc::UnboundedSender<String>,
) -> tokio::task::JoinHandle<Vec<String>> {
    tokio::spawn(async move {
        let mut out = Vec::new();
        let mut r = BufReader::new(stdout).lines();
        while let Ok(Some(l)) = r.next_line().await {
            let _ = tx.send(l.clone());
            out.push(l);
        }
        out
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slixmpp_over_starttls_and_xmpp_client_over_websocket_exchange_messages() {
    if !slixmpp_available() || !xmpp_client_available() {
        return;
    }
    let server = TcpServer::start("consider_websocket_secure = true").await;
    server.add_user("alice", "secret");
    server.add_user("bob", "secret");
    let peer = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/xmpp_client_peer.mjs"
    );
    let service = format!("ws://127.0.0.1:{}/xmpp-websocket", server.http.port());
    let mut node = Command::new("node")
        .arg(peer)
        .args(["--service", &service, "--domain", HOST])
        .args(["--username", "bob", "--password", "secret"])
        .args([
            "--peer",
            &format!("alice@{HOST}"),
            "--send",
            TO_TCP,
            "--expect",
            TO_WS,
        ])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start node");
    let (tx, mut node_rx) = tokio::sync::mpsc::unbounded_channel();
    let node_lines = read_lines(node.stdout.take().expect("stdout"), tx);
    let online = tokio::time::timeout(Duration::from_secs(20), node_rx.recv())
        .await
        .expect("@xmpp/client online in time")
        .expect("a line from node");
    assert!(
        online.contains("\"online\"") && online.contains("\"ok\":true"),
        "{online}"
    );

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/slixmpp_chat.py");
    let mut slix = Command::new(python())
        .arg(script)
        .args([
            "--port",
            &server.c2s.port().to_string(),
            "--mode",
            "starttls",
        ])
        .args([
            "--jid",
            &format!("alice@{HOST}/slix"),
            "--password",
            "secret",
        ])
        .args(["--ca", &server.ca_path.display().to_string()])
        .args([
            "--peer",
            &format!("bob@{HOST}"),
            "--send",
            TO_WS,
            "--expect",
            TO_TCP,
        ])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start python");
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let slix_lines = read_lines(slix.stdout.take().expect("stdout"), tx);
    let limit = Duration::from_secs(30);
    let slix_status = tokio::time::timeout(limit, slix.wait())
        .await
        .expect("slixmpp finished")
        .expect("wait");
    let node_status = tokio::time::timeout(limit, node.wait())
        .await
        .expect("node finished")
        .expect("wait");
    let slix_out = slix_lines.await.expect("reader").join("\n");
    let node_out = node_lines.await.expect("reader").join("\n");
    assert!(
        slix_status.success(),
        "slixmpp: {slix_out}\n@xmpp/client: {node_out}"
    );
    assert!(
        node_status.success(),
        "@xmpp/client: {node_out}\nslixmpp: {slix_out}"
    );
    assert!(
        slix_out.contains("\"mechanism\": \"SCRAM-SHA-1\""),
        "{slix_out}"
    );
    assert!(node_out.contains("\"step\":\"message\""), "{node_out}");
    assert!(node_out.contains("alice@example.test/slix"), "{node_out}");
}
