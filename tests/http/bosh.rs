//! BOSH (XEP-0124/0206, reference §18) end to end: session creation with Prosody's
//! attributes, every refusal, login and chat with a WebSocket user, the rid window,
//! hostile input and many concurrent long polls with memory bounded, and the same
//! scripts side by side with Debian's Prosody where it is installed.

#[path = "bosh/client.rs"]
mod client;
#[path = "bosh/malformed.rs"]
mod malformed;
#[path = "bosh/round_trip.rs"]
mod round_trip;
use crate::common;
use crate::proxy;
use crate::support;

use client::{attrs_of, post, Session, NS};
use support::{Server, WsClient, HOST};

fn config(extra: &str) -> String {
    format!(
        r#"
http_ports = {{ 0 }}
s2s_ports = {{ }}
https_ports = {{ }}
c2s_ports = {{ }}
data_path = "data"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
modules_enabled = {{ "websocket", "bosh", "http", "ping", "disco", "saslauth", "roster" }}
{extra}
VirtualHost "{HOST}"
Component "conf.{HOST}" "muc"
"#
    )
}

async fn server(extra: &str) -> Server {
    let s = Server::start(&config(extra)).await;
    s.add_user("alice", "pw-alice");
    s.add_user("bob", "pw-bob");
    s
}

#[tokio::test]
async fn creation_answers_with_prosodys_attributes_and_the_stream_features() {
    let s = server("bosh_max_wait = 45").await;
    let (sess, a) = Session::create(s.addr, HOST, HOST, 60).await;
    assert_eq!(a.status, 200);
    assert!(
        a.head
            .to_ascii_lowercase()
            .contains("content-type: text/xml; charset=utf-8"),
        "{}",
        a.head
    );
    let attrs = a.attrs();
    let want = [
        ("xmlns", NS),
        ("xmlns:stream", "http://etherx.jabber.org/streams"),
        ("requests", "2"),
        ("hold", "1"),
        ("inactivity", "60"),
        ("polling", "5"),
        ("wait", "45"),
        ("secure", "true"),
        ("ver", "1.6"),
        ("from", HOST),
        ("xmlns:xmpp", "urn:xmpp:xbosh"),
        ("xmpp:version", "1.0"),
    ];
    for (k, v) in want {
        assert_eq!(
            attrs.get(k).map(String::as_str),
            Some(v),
            "{k} in {}",
            a.body
        );
    }
    assert_eq!(attrs.get("authid"), Some(&sess.sid));
    assert_eq!(sess.sid.len(), 36, "a UUID sid");
    assert!(a.body.contains("<stream:features>"), "{}", a.body);
    assert!(
        a.body.contains("<mechanism>PLAIN</mechanism>"),
        "{}",
        a.body
    );
}

#[tokio::test]
async fn refusals_carry_prosodys_conditions_and_http_200() {
    let s = server("").await;
    let cases = [
        // Unknown host, a component, no `to`.
        (
            format!("<body xmlns='{NS}' rid='1' wait='60' to='nowhere.test'/>"),
            "improper-addressing",
        ),
        (
            format!("<body xmlns='{NS}' rid='1' wait='60' to='conf.{HOST}'/>"),
            "improper-addressing",
        ),
        (
            format!("<body xmlns='{NS}' rid='1' wait='60'/>"),
            "improper-addressing",
        ),
        // Bad rid / wait.
        (
            format!("<body xmlns='{NS}' rid='x' wait='60' to='{HOST}'/>"),
            "bad-request",
        ),
        (
            format!("<body xmlns='{NS}' rid='1' to='{HOST}'/>"),
            "bad-request",
        ),
        (
            format!("<body xmlns='{NS}' rid='1' wait='1.5' to='{HOST}'/>"),
            "bad-request",
        ),
        (
            format!("<body xmlns='{NS}' rid='1' wait='-1' to='{HOST}'/>"),
            "bad-request",
        ),
        // Unknown sid, not XML, not a body.
        (
            format!("<body xmlns='{NS}' rid='1' sid='nope'/>"),
            "item-not-found",
        ),
        // Incomplete: Prosody cannot tie it to a session.
        ("<body xmlns=".to_owned(), "item-not-found"),
        ("<html/>".to_owned(), "bad-request"),
        ("<body xmlns='urn:other'/>".to_owned(), "bad-request"),
        ("<a><b></a>".to_owned(), "bad-request"),
    ];
    for (req, condition) in cases {
        let a = post(s.addr, HOST, "/http-bind", &req).await;
        assert_eq!(a.status, 200, "{req}");
        let attrs = a.attrs();
        assert_eq!(
            attrs.get("type").map(String::as_str),
            Some("terminate"),
            "{req}: {}",
            a.body
        );
        assert_eq!(
            attrs.get("condition").map(String::as_str),
            Some(condition),
            "{req}: {}",
            a.body
        );
    }
    // GET shows the info page; `/http-bind/` works too.
    let (head, page) = support::http_get(
        s.addr,
        &format!("GET /http-bind HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(page.contains("BOSH"), "{page}");
    let a = post(
        s.addr,
        HOST,
        "/http-bind/",
        &format!("<body xmlns='{NS}' rid='1' wait='5' to='{HOST}'/>"),
    )
    .await;
    assert!(a.attrs().contains_key("sid"), "{}", a.body);
}

#[tokio::test]
async fn cors_headers_come_with_bosh_answers() {
    let s = server("").await;
    let mut stream = tokio::net::TcpStream::connect(s.addr)
        .await
        .expect("connect");
    use tokio::io::AsyncWriteExt;
    stream
        .write_all(
            format!(
                "OPTIONS /http-bind HTTP/1.1\r\nHost: {HOST}\r\nOrigin: https://app.example\r\n\
                 Access-Control-Request-Method: POST\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .expect("write");
    let a = client::read_answer(stream).await;
    assert_eq!(a.status, 200, "{}", a.head);
    assert!(
        a.head
            .to_ascii_lowercase()
            .contains("access-control-allow-origin"),
        "{}",
        a.head
    );
}

#[tokio::test]
async fn a_bosh_user_chats_with_a_websocket_user() {
    let s = server("").await;
    let (mut b, _) = Session::create(s.addr, HOST, HOST, 10).await;
    let jid = b.login("alice", "pw-alice", "bosh").await;
    assert_eq!(jid, format!("alice@{HOST}/bosh"));
    let mut ws = WsClient::connect(s.addr).await;
    let bob = ws.login("bob", "pw-bob", "ws").await;
    // BOSH → WebSocket.
    let a = b
        .send(
            "",
            &format!("<message to='{bob}' type='chat' id='m1'><body>hello ws</body></message>"),
        )
        .await;
    let got = ws.next_text().await;
    assert!(
        got.contains("hello ws") && got.contains(&format!("from=\"{jid}\""))
            || got.contains(&format!("from='{jid}'")),
        "{got}"
    );
    drop(a);
    // WebSocket → BOSH: a long poll picks it up.
    let poll = {
        let mut b2 = Session {
            addr: b.addr,
            host: b.host.clone(),
            path: b.path.clone(),
            sid: b.sid.clone(),
            rid: b.rid,
        };
        b.rid += 1;
        tokio::spawn(async move { b2.send("", "").await })
    };
    ws.send_text(&format!(
        "<message xmlns='jabber:client' to='{jid}' type='chat' id='m2'><body>hello bosh</body></message>"
    ))
    .await;
    let a = tokio::time::timeout(std::time::Duration::from_secs(10), poll)
        .await
        .expect("long poll answered")
        .expect("task");
    assert!(a.body.contains("hello bosh"), "{}", a.body);
    assert!(
        a.body.contains("xmlns='jabber:client'") || a.body.contains("xmlns=\"jabber:client\""),
        "{}",
        a.body
    );
    // Client terminate: every held request gets type='terminate', the sid is gone.
    let a = b
        .send("type='terminate'", "<presence type='unavailable'/>")
        .await;
    assert_eq!(
        a.attrs().get("type").map(String::as_str),
        Some("terminate"),
        "{}",
        a.body
    );
    let a = b.send("", "").await;
    assert_eq!(
        a.attrs().get("condition").map(String::as_str),
        Some("item-not-found"),
        "{}",
        a.body
    );
}

#[tokio::test]
async fn wrong_rids_replays_and_a_skipped_rid_follow_the_window() {
    let s = server("").await;
    let (mut b, _) = Session::create(s.addr, HOST, HOST, 2).await;
    b.login("alice", "pw-alice", "r").await;
    // A ping answered in rid n; replaying n gives the same body back, payload ignored.
    let n = b.rid;
    let a = b
        .send(
            "",
            "<iq type='get' id='p1' to='example.test'><ping xmlns='urn:xmpp:ping'/></iq>",
        )
        .await;
    assert!(
        a.body.contains("id='p1'") || a.body.contains("id=\"p1\""),
        "{}",
        a.body
    );
    let replay = b
        .send_rid(
            n,
            "",
            "<iq type='get' id='p2' to='example.test'><ping xmlns='urn:xmpp:ping'/></iq>",
        )
        .await;
    assert_eq!(replay.body, a.body);
    // Far outside the window: item-not-found, the session itself lives on.
    let far = b.send_rid(n + 50, "", "").await;
    assert_eq!(
        far.attrs().get("condition").map(String::as_str),
        Some("item-not-found")
    );
    // n+2 before n+1: held until the gap fills, then both payloads run in order.
    let ahead = {
        let b2 = Session {
            addr: b.addr,
            host: b.host.clone(),
            path: b.path.clone(),
            sid: b.sid.clone(),
            rid: n + 2,
        };
        tokio::spawn(async move {
            b2.send_rid(
                n + 2,
                "",
                "<iq type='get' id='p4' to='example.test'><ping xmlns='urn:xmpp:ping'/></iq>",
            )
            .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let gap = b
        .send_rid(
            n + 1,
            "",
            "<iq type='get' id='p3' to='example.test'><ping xmlns='urn:xmpp:ping'/></iq>",
        )
        .await;
    let ahead = ahead.await.expect("task");
    let mut both = format!("{}{}", gap.body, ahead.body);
    if !both.contains("p4") {
        // The second reply may come after the first was answered: the next poll has it.
        both.push_str(&b.send_rid(n + 3, "", "").await.body);
    }
    let p3 = both.find("p3").expect("p3 answered");
    let p4 = both.find("p4").expect("p4 answered");
    assert!(p3 < p4, "in order: {both}");
}

#[tokio::test]
async fn huge_bodies_are_refused_cleanly() {
    let s = server("http_max_content_size = 1048576").await;
    // Over the HTTP limit: 413 before any parsing.
    let big = format!(
        "<body xmlns='{NS}' rid='1' wait='5' to='{HOST}'>{}</body>",
        "x".repeat(2 << 20)
    );
    let a = post(s.addr, HOST, "/http-bind", &big).await;
    assert_eq!(a.status, 413, "{}", a.head);
    // Under it but over c2s_stanza_size_limit: bad-request.
    let big = format!(
        "<body xmlns='{NS}' rid='1' wait='5' to='{HOST}'><message><body>{}</body></message></body>",
        "x".repeat(600_000)
    );
    let a = post(s.addr, HOST, "/http-bind", &big).await;
    assert_eq!(
        a.attrs().get("condition").map(String::as_str),
        Some("bad-request"),
        "{}",
        a.body
    );
    // The endpoint still serves.
    let (_, a) = Session::create(s.addr, HOST, HOST, 5).await;
    assert!(a.attrs().contains_key("sid"));
}

/// VmRSS of process `pid` (the `lilt` child), in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// `LILT_BOSH_POLLS` long polls at once (default 2 000), each its own session holding one
/// request: all are answered after `wait`, and the process's RSS (server and clients
/// together) stays bounded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_long_polls_are_answered_with_memory_bounded() {
    let n: usize = std::env::var("LILT_BOSH_POLLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    long_polls(n).await;
}

/// The issue's 10 000 concurrent long polls. Ignored: creating the sessions one HTTP
/// connection each takes most of its ~90 s in debug on the 2-core machine (figures in
/// docs/bosh.md). The server is a child `lilt` process, so each side needs one descriptor
/// per poll (`ulimit -Hn` ≥ 10 500); `lilt` raises its own soft limit to the hard one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "about 90 s in debug; run with --ignored"]
async fn ten_thousand_concurrent_long_polls_are_answered_with_memory_bounded() {
    long_polls(10_000).await;
}

async fn long_polls(n: usize) {
    // The client end of every held poll lives in this process, the server end in the `lilt`
    // child (which raises its own soft limit), so RSS is the server's alone.
    // The same raise `lilt` makes at startup; the new soft limit.
    let limit = lilt::modules::posix::raise_open_files_limit().map_or(0, |(_, after)| after);
    assert!(
        limit >= n as u64 + 500,
        "{n} polls need a descriptor limit of {} (hard limit is {limit})",
        n + 500
    );
    // Creating thousands of sessions takes longer than the default 60 s of inactivity the
    // first ones may spend waiting for their poll.
    let server = common::TestServer::start(
        config("bosh_max_inactivity = 600")
            .replace("http_ports = { 0 }", "http_ports = { @HTTP_PORT@ }"),
    );
    let pid = server.pid().expect("a lilt child");
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", server.http_port())
        .parse()
        .expect("addr");
    let before = rss_kib(pid);
    let mut sessions = Vec::with_capacity(n);
    for chunk in 0..n.div_ceil(200) {
        let mut batch = Vec::new();
        for _ in 0..200.min(n - chunk * 200) {
            batch.push(tokio::spawn(async move {
                Session::create(addr, HOST, HOST, 10).await.0
            }));
        }
        for t in batch {
            sessions.push(t.await.expect("create"));
        }
    }
    let started = std::time::Instant::now();
    let mut polls = Vec::with_capacity(n);
    for sess in sessions {
        // Connected and written here, in turn (a burst of thousands of SYNs overflows the
        // listen backlog); answered concurrently.
        use tokio::io::AsyncWriteExt;
        let body = format!("<body xmlns='{NS}' rid='{}' sid='{}'/>", sess.rid, sess.sid);
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let req = format!(
            "POST /http-bind HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(req.as_bytes()).await.expect("write");
        polls.push(tokio::spawn(client::read_answer(stream)));
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let peak = rss_kib(pid);
    let mut answered = 0;
    let mut bad = 0;
    for p in polls {
        let a = p.await.expect("poll");
        if a.status == 200 && a.body.starts_with("<body") && !a.body.contains("terminate") {
            answered += 1;
        } else if bad < 3 {
            bad += 1;
            eprintln!("unanswered poll: {} {}", a.head, a.body);
        }
    }
    let after = rss_kib(pid);
    eprintln!(
        "{n} long polls: RSS before {before} KiB, while held {peak} KiB, after {after} KiB, \
         {:.1} KiB per held poll, all answered in {:?}",
        (peak.saturating_sub(before)) as f64 / n as f64,
        started.elapsed()
    );
    assert_eq!(answered, n);
    // The server's side of each session and its held poll (bounded per poll, with room
    // for the allocator's arenas).
    assert!(
        peak.saturating_sub(before) < (n as u64) * 200 + 50_000,
        "{before} -> {peak}"
    );
}

/// The same creation and refusal scripts against Debian's Prosody (mod_bosh): the same
/// attributes and conditions, ids aside.
#[tokio::test]
async fn creation_and_refusals_match_prosody() {
    if !common::prosody_ready() {
        return;
    }
    let data = tempfile::tempdir().expect("tempdir");
    let mut p = common::Prosody::new(data.path(), HOST);
    let cfg = std::fs::read_to_string(&p.config_path).expect("config");
    std::fs::write(
        &p.config_path,
        cfg.replace(
            "\"websocket\", \"http\",",
            "\"websocket\", \"bosh\", \"http\",",
        ),
    )
    .expect("write");
    p.start();
    let s = server("").await;
    let prosody: std::net::SocketAddr = format!("127.0.0.1:{}", p.http_port).parse().expect("addr");
    let scripts = [
        format!("<body xmlns='{NS}' rid='10' wait='60' to='{HOST}' ver='1.6' hold='1' xmlns:xmpp='urn:xmpp:xbosh' xmpp:version='1.0'/>"),
        format!("<body xmlns='{NS}' rid='10' wait='600' to='{HOST}'/>"),
        format!("<body xmlns='{NS}' rid='1' wait='60' to='nowhere.test'/>"),
        format!("<body xmlns='{NS}' rid='1' wait='60'/>"),
        format!("<body xmlns='{NS}' rid='x' wait='60' to='{HOST}'/>"),
        format!("<body xmlns='{NS}' rid='1' to='{HOST}'/>"),
        format!("<body xmlns='{NS}' rid='1' wait='1.5' to='{HOST}'/>"),
        format!("<body xmlns='{NS}' rid='1' sid='nope'/>"),
        "<body xmlns=".to_owned(),
    ];
    for script in &scripts {
        let ours = post(s.addr, HOST, "/http-bind", script).await;
        let theirs = post(prosody, HOST, "/http-bind", script).await;
        let norm = |a: &client::Answer| {
            let mut m = attrs_of(&a.body);
            for k in ["sid", "authid"] {
                if m.contains_key(k) {
                    m.insert(k.into(), "ID".into());
                }
            }
            (a.status, m)
        };
        assert_eq!(
            norm(&ours),
            norm(&theirs),
            "{script}\nlilt: {}\nprosody: {}",
            ours.body,
            theirs.body
        );
        assert_eq!(
            ours.body.contains("<stream:features"),
            theirs.body.contains("<stream:features"),
            "{script}"
        );
    }
    // A session on each: an out-of-window rid and a replay answer alike.
    for addr in [s.addr, prosody] {
        let (b, _) = Session::create(addr, HOST, HOST, 1).await;
        let far = b.send_rid(b.rid + 10, "", "").await;
        assert_eq!(
            far.attrs().get("condition").map(String::as_str),
            Some("item-not-found"),
            "{addr}"
        );
        let again = b.send_rid(b.rid - 1, "", "").await;
        assert!(
            again.body.contains("<stream:features"),
            "{addr}: replayed creation: {}",
            again.body
        );
    }
    p.stop();
}

/// `lilt check proxy` on BOSH locations: the shipped examples pass, a location with
/// nginx's default read timeout and buffering is flagged.
#[test]
fn proxy_check_knows_what_a_bosh_long_poll_needs() {
    use lilt::modules::proxycheck::{check_files, check_text, LiltSide, ProxyReport, Severity};
    let root = common::repo_root().join("examples/proxy");
    let good = check_files(
        &[
            root.join("nginx/lilt-websocket.conf"),
            root.join("apache/lilt-websocket.conf"),
        ],
        &LiltSide::default(),
    );
    assert!(
        good.findings.iter().all(|f| !f.message.contains("BOSH")),
        "{:?}",
        good.findings
    );
    let bad = "server {\n listen 443 ssl;\n location /xmpp-websocket {\n proxy_pass http://localhost:5280/xmpp-websocket;\n proxy_http_version 1.1;\n proxy_set_header Connection \"Upgrade\";\n proxy_set_header Upgrade $http_upgrade;\n proxy_set_header Host $host;\n proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n proxy_set_header X-Forwarded-Proto $scheme;\n proxy_read_timeout 900s;\n proxy_buffering off;\n }\n location /http-bind {\n proxy_pass http://localhost:5280/http-bind;\n proxy_set_header Host $host;\n proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n proxy_set_header X-Forwarded-Proto $scheme;\n }\n}\n";
    let mut report = ProxyReport::default();
    check_text(
        std::path::Path::new("bad.conf"),
        bad,
        &LiltSide::default(),
        &mut report,
    );
    let problems = report.messages(Severity::Problem);
    assert!(
        problems
            .iter()
            .any(|m| m.starts_with("14:") && m.contains("bosh_max_wait (120s)")),
        "{problems:?}"
    );
    let warnings = report.messages(Severity::Warning);
    assert!(
        warnings.iter().any(|m| m.contains("BOSH: proxy_buffering")),
        "{warnings:?}"
    );
    // A shorter bosh_max_wait is satisfied by a matching timeout.
    let side = LiltSide {
        bosh_max_wait: 30.0,
        ..LiltSide::default()
    };
    let fixed = bad.replace(
        " location /http-bind {\n",
        " location /http-bind {\n proxy_read_timeout 45s;\n proxy_buffering off;\n",
    );
    let mut report = ProxyReport::default();
    check_text(
        std::path::Path::new("fixed.conf"),
        &fixed,
        &side,
        &mut report,
    );
    assert!(
        report.findings.iter().all(|f| !f.message.contains("BOSH")),
        "{:?}",
        report.findings
    );
    let apache = "<VirtualHost *:443>\nProxyPreserveHost On\nProxyTimeout 100\n<Location \"/http-bind\">\nProxyPass \"http://localhost:5280/http-bind\"\n</Location>\n</VirtualHost>\n";
    let mut report = ProxyReport::default();
    check_text(
        std::path::Path::new("a.conf"),
        apache,
        &LiltSide::default(),
        &mut report,
    );
    assert!(
        report
            .messages(Severity::Problem)
            .iter()
            .any(|m| m.contains("BOSH: ProxyTimeout is 100s")),
        "{:?}",
        report.findings
    );
}

/// Strophe.js in headless Chromium (tests/web/bosh.mjs): alice over BOSH and bob over
/// WebSocket log in and chat both ways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strophe_over_bosh_chats_with_a_websocket_user_in_chromium() {
    if common::skip_interop() {
        return;
    }
    let web = common::repo_root().join("tests/web");
    assert!(
        web.join("node_modules/strophe.js").exists()
            && std::path::Path::new("/usr/bin/chromium").exists(),
        "needs chromium and `npm ci` in tests/web (or LILT_SKIP_INTEROP=1)"
    );
    let s = Server::start(&config("").replace(
        &format!("VirtualHost \"{HOST}\""),
        "VirtualHost \"localhost\"",
    ))
    .await;
    for u in ["alice", "bob"] {
        s.shared
            .accounts
            .create("localhost", u, &format!("{u}-secret"))
            .expect("account");
    }
    let url = format!("http://localhost:{}", s.addr.port());
    strophe_run(&web, &url, "localhost", false).await;
}

async fn strophe_run(web: &std::path::Path, url: &str, domain: &str, proxied: bool) {
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        tokio::process::Command::new("node")
            .arg("bosh.mjs")
            .current_dir(web)
            .env("LILT_URL", url)
            .env("LILT_DOMAIN", domain)
            .env("LILT_PROXIED", if proxied { "1" } else { "0" })
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the browser run finishes within two minutes")
    .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("bosh chat passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("\"boshKind\":\"Bosh\""),
        "Strophe used BOSH: {stdout}"
    );
}

/// The same behind nginx running examples/proxy/nginx (its /http-bind and
/// /xmpp-websocket locations), over HTTPS with the proxy's self-signed certificate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strophe_over_bosh_through_nginx_chats_with_a_websocket_user() {
    strophe_through_proxy("nginx").await;
}

/// The same behind Debian's apache2 running examples/proxy/apache (mod_proxy for
/// /http-bind, mod_proxy_wstunnel for /xmpp-websocket).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strophe_over_bosh_through_apache_chats_with_a_websocket_user() {
    strophe_through_proxy("apache2").await;
}

async fn strophe_through_proxy(which: &str) {
    if common::skip_interop() {
        return;
    }
    let Some(binary) = proxy::runners::require(which) else {
        return;
    };
    let host = proxy::runners::NAMES[0];
    let lilt = proxy::start_lilt(&format!(
        r#"
http_ports = {{ 0 }}
c2s_ports = {{ }}
s2s_ports = {{ }}
http_interfaces = {{ "127.0.0.1" }}
https_ports = {{ }}
data_path = "DATA"
trusted_proxies = {{ "127.0.0.1" }}
VirtualHost "{host}"
    modules_enabled = {{ "websocket", "bosh", "roster" }}
"#
    ))
    .await;
    for u in ["alice", "bob"] {
        lilt.add_user(host, u, &format!("{u}-secret"));
    }
    let prefix = tempfile::tempdir().expect("prefix");
    let (cert, key, _der) = proxy::runners::certificate(prefix.path());
    let setup = proxy::runners::Setup {
        tls_port: proxy::free_port(),
        plain_port: proxy::free_port(),
        lilt_port: lilt.addr.port(),
        cert,
        key,
    };
    let running = proxy::runners::start(which, &binary, prefix.path(), &setup).await;
    let web = common::repo_root().join("tests/web");
    strophe_run(
        &web,
        &format!("https://{host}:{}", setup.tls_port),
        host,
        true,
    )
    .await;
    drop(running);
}
