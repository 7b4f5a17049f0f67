//! mod_http_file_share (XEP-0363, reference wave 2 §19) end to end: slot requests over a
//! WebSocket client to `Component "upload.example.test" "http_file_share"`, uploads and
//! downloads over raw HTTP, hostile input, quotas, expiry, and the on-disk layout Prosody
//! shares with Lilt (`prosody.rs`: Debian's Prosody and Lilt serving each other's files).

#[path = "http_file_share/prosody.rs"]
mod prosody;
use crate::support;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use support::{Server, WsClient, HOST};

const UPLOAD: &str = "upload.example.test";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A server with the upload component; `extra` goes into the component's section.
async fn server(extra: &str) -> (Server, u16) {
    let port = free_port();
    let config = format!(
        r#"
http_ports = {{ {port} }}
s2s_ports = {{ }} -- mod_s2s is autoloaded and would bind 5269
https_ports = {{ }}
c2s_ports = {{ }}
data_path = "data"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
modules_enabled = {{ "websocket", "http", "ping", "disco" }}
VirtualHost "{HOST}"
Component "{UPLOAD}" "http_file_share"
{extra}
"#
    );
    (Server::start(&config).await, port)
}

async fn login(s: &Server, user: &str) -> WsClient {
    s.add_user(user, "pw");
    let mut c = WsClient::connect(s.addr).await;
    c.login(user, "pw", "up").await;
    c
}

/// Sends one IQ to the upload host and returns the reply.
async fn iq(c: &mut WsClient, id: &str, payload: &str) -> String {
    c.send_text(&format!(
        "<iq xmlns='jabber:client' type='get' id='{id}' to='{UPLOAD}'>{payload}</iq>"
    ))
    .await;
    c.next_text().await
}

fn request(name: &str, size: &str, typ: Option<&str>) -> String {
    let t = typ.map_or(String::new(), |t| format!(" content-type='{t}'"));
    format!("<request xmlns='urn:xmpp:http:upload:0' filename='{name}' size='{size}'{t}/>")
}

/// (path of the slot URL, token) from a slot reply.
fn slot_of(reply: &str, port: u16) -> (String, String) {
    let url_start = reply.find("<get url='").expect("get url") + 10;
    let url = &reply[url_start..url_start + reply[url_start..].find('\'').expect("url end")];
    let prefix = format!("http://{UPLOAD}:{port}");
    let path = url
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{url}"))
        .to_owned();
    let tok_start = reply.find("Bearer ").expect("token") + 7;
    let tok = &reply[tok_start..tok_start + reply[tok_start..].find('<').expect("token end")];
    (path, tok.to_owned())
}

/// One HTTP exchange on its own connection: (status, head, body).
async fn http(addr: SocketAddr, head: &str, body: &[u8]) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(head.as_bytes()).await.expect("write head");
    s.write_all(body).await.expect("write body");
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf))
        .await
        .expect("response in time")
        .expect("read");
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(buf.len(), |p| p + 4);
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head, buf[end..].to_vec())
}

fn put_head(port: u16, path: &str, token: Option<&str>, len: usize) -> String {
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    format!(
        "PUT {path} HTTP/1.1\r\nHost: {UPLOAD}:{port}\r\n{auth}Content-Length: {len}\r\nContent-Type: image/png\r\nConnection: close\r\n\r\n"
    )
}

fn get_head(method: &str, port: u16, path: &str, extra: &str) -> String {
    format!("{method} {path} HTTP/1.1\r\nHost: {UPLOAD}:{port}\r\n{extra}Connection: close\r\n\r\n")
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn upload_dir(s: &Server) -> std::path::PathBuf {
    s.dir
        .path()
        .join("data/upload%2eexample%2etest/http_file_share")
}

#[tokio::test]
async fn disco_info_names_the_service_and_its_size_limit() {
    let (s, _) = server("http_file_share_size_limit = 1234").await;
    let mut a = login(&s, "alice").await;
    let r = iq(
        &mut a,
        "d1",
        "<query xmlns='http://jabber.org/protocol/disco#info'/>",
    )
    .await;
    assert!(
        r.contains("category='store'") && r.contains("type='file'"),
        "{r}"
    );
    assert!(r.contains("name='HTTP File Upload'"), "{r}");
    assert!(r.contains("var='urn:xmpp:http:upload:0'"), "{r}");
    assert!(
        r.contains("var='max-file-size'") && r.contains("<value>1234</value>"),
        "{r}"
    );
}

#[tokio::test]
async fn a_slot_is_uploaded_once_and_served_with_prosodys_headers() {
    let (s, port) = server("").await;
    let mut a = login(&s, "alice").await;
    let body = b"\x89PNG not really an image, but bytes".to_vec();
    let r = iq(
        &mut a,
        "s1",
        &request("my photo.png", &body.len().to_string(), Some("image/png")),
    )
    .await;
    assert!(r.contains("type='result'") && r.contains("<slot"), "{r}");
    let (path, token) = slot_of(&r, port);
    assert!(
        path.starts_with("/file_share/") && path.ends_with("/my%20photo.png"),
        "{path}"
    );

    let (st, head, _) = http(
        s.addr,
        &put_head(port, &path, Some(&token), body.len()),
        &body,
    )
    .await;
    assert_eq!(st, 201, "{head}");
    let (st, _, _) = http(
        s.addr,
        &put_head(port, &path, Some(&token), body.len()),
        &body,
    )
    .await;
    assert_eq!(st, 409, "a completed upload is not replaced");

    let (st, head, got) = http(s.addr, &get_head("GET", port, &path, ""), b"").await;
    assert_eq!(st, 200, "{head}");
    assert_eq!(got, body);
    assert_eq!(header(&head, "content-type"), Some("image/png"));
    assert_eq!(
        header(&head, "content-disposition"),
        Some("inline; filename*=UTF-8''my%20photo.png")
    );
    assert_eq!(
        header(&head, "cache-control"),
        Some("max-age=31556952, immutable")
    );
    assert_eq!(header(&head, "accept-ranges"), Some("bytes"));
    assert_eq!(header(&head, "x-content-type-options"), Some("nosniff"));
    assert_eq!(header(&head, "x-frame-options"), Some("DENY"));
    assert!(header(&head, "etag").is_some(), "{head}");
    let modified = header(&head, "last-modified")
        .expect("last-modified")
        .to_owned();

    let (st, head, got) = http(s.addr, &get_head("HEAD", port, &path, ""), b"").await;
    assert_eq!(st, 200);
    assert!(got.is_empty());
    assert_eq!(
        header(&head, "content-length"),
        Some(body.len().to_string().as_str())
    );

    let ims = format!("If-Modified-Since: {modified}\r\n");
    let (st, _, _) = http(s.addr, &get_head("GET", port, &path, &ims), b"").await;
    assert_eq!(st, 304);

    let (st, head, got) = http(
        s.addr,
        &get_head("GET", port, &path, "Range: bytes=5-\r\n"),
        b"",
    )
    .await;
    assert_eq!(st, 206, "{head}");
    assert_eq!(got, body[5..].to_vec());
    let n = body.len();
    assert_eq!(
        header(&head, "content-range"),
        Some(format!("bytes 5-{n}/{n}").as_str()),
        "Prosody's end is the size, not size-1"
    );
    let past = format!("Range: bytes={n}-\r\n");
    let (st, _, _) = http(s.addr, &get_head("GET", port, &path, &past), b"").await;
    assert_eq!(st, 416);
    let (st, _, got) = http(
        s.addr,
        &get_head("GET", port, &path, "Range: bytes=2-4\r\n"),
        b"",
    )
    .await;
    assert_eq!((st, got.len()), (200, n), "other ranges get the whole file");

    // Prosody's layout: the file under the host's http_file_share dir, the record in
    // the host's uploads.list.
    let slot = path.split('/').nth(2).expect("slot segment");
    let enc = slot.replace('-', "%2d").replace('_', "%5f");
    assert!(upload_dir(&s).join(format!("{enc}.bin")).is_file());
    let list = std::fs::read_to_string(
        s.dir
            .path()
            .join("data/upload%2eexample%2etest/uploads.list"),
    )
    .expect("uploads.list");
    assert!(
        list.contains(slot) && list.contains("my photo.png"),
        "{list}"
    );
    assert!(list.contains("alice@example.test"), "{list}");
}

#[tokio::test]
async fn other_types_are_attachments() {
    let (s, port) = server("").await;
    let mut a = login(&s, "alice").await;
    let r = iq(&mut a, "s1", &request("x.html", "3", Some("text/html"))).await;
    let (path, token) = slot_of(&r, port);
    assert_eq!(
        http(s.addr, &put_head(port, &path, Some(&token), 3), b"<b>")
            .await
            .0,
        201
    );
    let (_, head, _) = http(s.addr, &get_head("GET", port, &path, ""), b"").await;
    assert_eq!(
        header(&head, "content-disposition"),
        Some("attachment; filename*=UTF-8''x.html")
    );
    assert_eq!(header(&head, "content-type"), Some("text/html"));
}

#[tokio::test]
async fn slot_requests_are_refused_with_prosodys_errors() {
    let (s, _) = server(
        "http_file_share_size_limit = 100\nhttp_file_share_daily_quota = 150\nhttp_file_share_allowed_file_types = { \"image/*\", \"text/plain\" }",
    )
    .await;
    let mut a = login(&s, "alice").await;
    let r = iq(&mut a, "e1", &request("big.png", "101", Some("image/png"))).await;
    assert!(
        r.contains("<not-acceptable") && r.contains("File too large"),
        "{r}"
    );
    assert!(
        r.contains(
            "<file-too-large xmlns='urn:xmpp:http:upload:0'><max-file-size>100</max-file-size>"
        ),
        "{r}"
    );
    let r = iq(&mut a, "e2", &request("a/b.png", "1", None)).await;
    assert!(
        r.contains("type='modify'") && r.contains("<bad-request") && r.contains("Invalid filename"),
        "{r}"
    );
    let r = iq(
        &mut a,
        "e3",
        "<request xmlns='urn:xmpp:http:upload:0' filename='x.png'/>",
    )
    .await;
    assert!(r.contains("File size must be positive integer"), "{r}");
    let r = iq(&mut a, "e4", &request("x.png", "1.5", None)).await;
    assert!(r.contains("File size must be positive integer"), "{r}");
    let r = iq(
        &mut a,
        "e5",
        &request("x.zip", "10", Some("application/zip")),
    )
    .await;
    assert!(
        r.contains("<not-acceptable") && r.contains("File type not allowed"),
        "{r}"
    );
    let r = iq(&mut a, "q1", &request("x.png", "100", Some("image/png"))).await;
    assert!(r.contains("<slot"), "{r}");
    let r = iq(&mut a, "q2", &request("y.png", "60", Some("image/png"))).await;
    assert!(
        r.contains("type='wait'")
            && r.contains("<resource-constraint")
            && r.contains("Daily quota reached"),
        "{r}"
    );
    // The quota is per uploader.
    let mut b = login(&s, "bob").await;
    let r = iq(&mut b, "q3", &request("y.png", "60", Some("image/png"))).await;
    assert!(r.contains("<slot"), "{r}");
}

#[tokio::test]
async fn the_global_quota_is_shared_by_everyone() {
    let (s, _) = server("http_file_share_global_quota = 100").await;
    let mut a = login(&s, "alice").await;
    let mut b = login(&s, "bob").await;
    assert!(iq(&mut a, "g1", &request("a", "70", None))
        .await
        .contains("<slot"));
    let r = iq(&mut b, "g2", &request("b", "40", None)).await;
    assert!(r.contains("Server global storage quota reached"), "{r}");
}

#[tokio::test]
async fn only_listed_uploaders_get_slots_when_access_is_set() {
    let (s, _) = server("http_file_share_access = { \"bob@example.test\" }").await;
    let mut a = login(&s, "alice").await;
    let r = iq(&mut a, "a1", &request("a", "1", None)).await;
    assert!(r.contains("type='auth'") && r.contains("<forbidden"), "{r}");
    let mut b = login(&s, "bob").await;
    assert!(iq(&mut b, "a2", &request("a", "1", None))
        .await
        .contains("<slot"));
}

#[tokio::test]
async fn hostile_puts_are_refused_and_leave_nothing_served() {
    let (s, port) = server("").await;
    let mut a = login(&s, "alice").await;
    let r = iq(&mut a, "h1", &request("f.txt", "10", Some("text/plain"))).await;
    let (path, token) = slot_of(&r, port);
    let body = b"0123456789";

    let (st, head, _) = http(s.addr, &put_head(port, &path, None, 10), body).await;
    assert_eq!(st, 401);
    assert_eq!(header(&head, "www-authenticate"), Some("Bearer"));
    let forged = format!("{}x", token);
    assert_eq!(
        http(s.addr, &put_head(port, &path, Some(&forged), 10), body)
            .await
            .0,
        401
    );
    assert_eq!(
        http(s.addr, &put_head(port, &path, Some("not.a.jwt"), 10), body)
            .await
            .0,
        401
    );
    let other = path.replacen("/file_share/", "/file_share/x", 1);
    assert_eq!(
        http(s.addr, &put_head(port, &other, Some(&token), 10), body)
            .await
            .0,
        400
    );
    assert_eq!(
        http(
            s.addr,
            &put_head(port, &path, Some(&token), 11),
            b"01234567890"
        )
        .await
        .0,
        413
    );

    // Half a body, then the client goes away.
    {
        let mut c = TcpStream::connect(s.addr).await.expect("connect");
        c.write_all(put_head(port, &path, Some(&token), 10).as_bytes())
            .await
            .expect("head");
        c.write_all(b"01234").await.expect("half");
        c.flush().await.expect("flush");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A chunked body shorter than the slot.
    let chunked = format!(
        "PUT {path} HTTP/1.1\r\nHost: {UPLOAD}:{port}\r\nAuthorization: Bearer {token}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(
        http(s.addr, &chunked, b"3\r\nabc\r\n0\r\n\r\n").await.0,
        413
    );
    // Give the aborted request's task a moment to notice the closed socket.
    let mut leftovers = Vec::new();
    for _ in 0..50 {
        leftovers = std::fs::read_dir(upload_dir(&s))
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        if leftovers.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(leftovers.is_empty(), "no partial file stays: {leftovers:?}");
    assert_eq!(
        http(s.addr, &get_head("GET", port, &path, ""), b"").await.0,
        410,
        "never uploaded"
    );

    // Retry after the failures succeeds.
    assert_eq!(
        http(s.addr, &put_head(port, &path, Some(&token), 10), body)
            .await
            .0,
        201
    );
    let (st, _, got) = http(s.addr, &get_head("GET", port, &path, ""), b"").await;
    assert_eq!((st, got.as_slice()), (200, &body[..]));
}

#[tokio::test]
async fn path_tricks_and_unknown_slots_find_nothing() {
    let (s, port) = server("").await;
    for p in [
        "/file_share/../../../etc/passwd",
        "/file_share/%2e%2e/%2e%2e/etc/passwd",
        "/file_share/..%2f..%2fetc%2fpasswd/x",
        "/file_share/nosuchslot/x.png",
    ] {
        let (st, head, _) = http(s.addr, &get_head("GET", port, p, ""), b"").await;
        assert!(st == 404 || st == 400, "{p}: {head}");
    }
    let (st, _, body) = http(s.addr, &get_head("GET", port, "/file_share/", ""), b"").await;
    assert_eq!(st, 200);
    assert!(
        String::from_utf8_lossy(&body).contains("uploaded"),
        "the endpoint page"
    );
    // A huge header block is refused before any route runs.
    let big = format!("X-Junk: {}\r\n", "a".repeat(64 * 1024));
    let (st, _, _) = http(s.addr, &get_head("GET", port, "/file_share/x/y", &big), b"").await;
    assert!(st == 431 || st == 400 || st == 0, "{st}");
}

#[tokio::test]
async fn expired_files_are_gone_after_cleanup() {
    let (s, port) = server("http_file_share_expires_after = 60").await;
    let mut a = login(&s, "alice").await;
    let r = iq(&mut a, "x1", &request("old.txt", "3", Some("text/plain"))).await;
    let (path, token) = slot_of(&r, port);
    assert_eq!(
        http(s.addr, &put_head(port, &path, Some(&token), 3), b"old")
            .await
            .0,
        201
    );
    let r = iq(&mut a, "x2", &request("new.txt", "3", Some("text/plain"))).await;
    let (new_path, new_token) = slot_of(&r, port);
    assert_eq!(
        http(
            s.addr,
            &put_head(port, &new_path, Some(&new_token), 3),
            b"new"
        )
        .await
        .0,
        201
    );

    let cfg = lilt::config::Config::load(&s.dir.path().join("prosody.cfg.lua")).expect("config");
    let settings = lilt::modules::http_file_share::Settings::from_config(&cfg, UPLOAD);
    let total = std::sync::Arc::new(std::sync::Mutex::new(6));
    // Nothing is old enough yet.
    let now = lilt::modules::http_file_share::now();
    let p =
        lilt::modules::http_file_share::cleanup::prune_now(&s.shared.store, &settings, &total, now)
            .expect("prune");
    assert_eq!(p.expired, 0);
    // A virtual clock past the expiry: both go.
    let p = lilt::modules::http_file_share::cleanup::prune_now(
        &s.shared.store,
        &settings,
        &total,
        now + 61,
    )
    .expect("prune");
    assert_eq!((p.expired, p.removed, p.bytes), (2, 2, 6));
    assert_eq!(*total.lock().expect("total"), 0);
    assert_eq!(
        http(s.addr, &get_head("GET", port, &path, ""), b"").await.0,
        404
    );
    assert_eq!(
        http(s.addr, &get_head("GET", port, &new_path, ""), b"")
            .await
            .0,
        404
    );
    let left: Vec<_> = std::fs::read_dir(upload_dir(&s))
        .expect("dir")
        .flatten()
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let stats = std::fs::read_to_string(
        s.dir
            .path()
            .join("data/upload%2eexample%2etest/upload_stats.dat"),
    )
    .expect("upload_stats");
    assert!(stats.contains("total") && stats.contains('0'), "{stats}");
}

/// The expiry job runs on the core's timers: nothing is pruned before its first run, and
/// when the core's clock reaches it (fired here as of a minute after start, on the core
/// thread) the expired upload is gone.
#[tokio::test]
async fn the_expiry_job_on_the_core_timers_removes_an_expired_upload() {
    use lilt::core::session::CoreTask;
    let (s, port) = server("http_file_share_expires_after = 1").await;
    let mut a = login(&s, "alice").await;
    let r = iq(&mut a, "e1", &request("gone.txt", "3", Some("text/plain"))).await;
    let (path, token) = slot_of(&r, port);
    let put = put_head(port, &path, Some(&token), 3);
    assert_eq!(http(s.addr, &put, b"bye").await.0, 201);
    // Old enough to expire (slot times are whole seconds), but the job has not run.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let get = get_head("GET", port, &path, "");
    assert_eq!(http(s.addr, &get, b"").await.0, 200);
    let (tx, rx) = tokio::sync::oneshot::channel();
    let fire = CoreTask(Box::new(move |core: &mut lilt::core::Core| {
        let pending = core.timers.len();
        let at = std::time::Instant::now() + lilt::modules::http_file_share::cleanup::FIRST_RUN;
        lilt::core::timers::run_due(core, at);
        let _ = tx.send(pending);
    }));
    s.shared
        .core_tx
        .send(lilt::core::CoreMsg::Task(fire))
        .expect("core");
    // The daily prune and the weekly recount.
    assert!(rx.await.expect("core ran the task") >= 2);
    // The prune itself runs on the storage executor.
    let mut status = 0;
    for _ in 0..100 {
        status = http(s.addr, &get, b"").await.0;
        if status == 404 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, 404);
    let left: Vec<_> = std::fs::read_dir(upload_dir(&s))
        .expect("dir")
        .flatten()
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn cors_preflight_allows_the_authorization_header() {
    let (s, port) = server("").await;
    let h = format!(
        "OPTIONS /file_share/x/y HTTP/1.1\r\nHost: {UPLOAD}:{port}\r\nOrigin: http://example.test\r\nAccess-Control-Request-Method: PUT\r\nConnection: close\r\n\r\n"
    );
    let (st, head, _) = http(s.addr, &h, b"").await;
    assert_eq!(st, 200);
    assert_eq!(
        header(&head, "access-control-allow-origin"),
        Some("http://example.test")
    );
    assert_eq!(
        header(&head, "access-control-allow-credentials"),
        Some("true")
    );
    assert!(
        header(&head, "access-control-allow-headers")
            .unwrap_or("")
            .contains("Authorization"),
        "{head}"
    );
    assert!(
        header(&head, "access-control-allow-methods")
            .unwrap_or("")
            .contains("PUT"),
        "{head}"
    );
}

#[test]
fn the_example_proxies_let_uploads_of_the_size_limit_through() {
    use lilt::modules::proxycheck::{check_files, LiltSide, Severity};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/proxy");
    let cfg = lilt::config::Config::load(&root.join("lilt.cfg.lua")).expect("example config");
    let side = LiltSide::from_config(&cfg);
    let upload = side.upload.clone().expect("the example serves uploads");
    assert_eq!(
        (upload.path.as_str(), upload.size_limit),
        ("/file_share", 10 * 1024 * 1024)
    );
    for f in ["nginx/lilt-websocket.conf", "apache/lilt-websocket.conf"] {
        let r = check_files(&[root.join(f)], &side);
        assert_eq!(r.exit_code(), 0, "{f}: {r:#?}");
        assert!(r.messages(Severity::Warning).is_empty(), "{f}: {r:#?}");
    }
    // The same proxies in front of a 100 MiB limit are too tight.
    let mut big = side.clone();
    big.upload = Some(lilt::modules::proxycheck::upload::UploadSide {
        size_limit: 100 * 1024 * 1024,
        ..upload
    });
    for f in ["nginx/lilt-websocket.conf", "apache/lilt-websocket.conf"] {
        let r = check_files(&[root.join(f)], &big);
        let w = r.messages(Severity::Warning);
        assert!(
            w.iter().any(|m| m.contains("http_file_share_size_limit")),
            "{f}: {w:?}"
        );
    }
}

#[tokio::test]
async fn expect_100_continue_is_answered_before_the_body() {
    let (s, port) = server("").await;
    let mut a = login(&s, "alice").await;
    let r = iq(&mut a, "c1", &request("c.txt", "4", Some("text/plain"))).await;
    let (path, token) = slot_of(&r, port);
    let mut c = TcpStream::connect(s.addr).await.expect("connect");
    let head = put_head(port, &path, Some(&token), 4)
        .replace("\r\n\r\n", "\r\nExpect: 100-continue\r\n\r\n");
    c.write_all(head.as_bytes()).await.expect("head");
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf))
        .await
        .expect("100 in time")
        .expect("read");
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 100 Continue"),
        "{:?}",
        &buf[..n]
    );
    c.write_all(b"abcd").await.expect("body");
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), c.read_to_end(&mut rest))
        .await
        .expect("response in time")
        .expect("read");
    assert!(
        String::from_utf8_lossy(&rest).starts_with("HTTP/1.1 201"),
        "{}",
        String::from_utf8_lossy(&rest)
    );
}

/// An upload and its download through Debian's nginx and apache2 running the guide's
/// examples/proxy configs (HTTPS, the `/file_share/` locations): the bytes come back as
/// they went in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_and_its_download_pass_through_nginx() {
    upload_through_proxy("nginx").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_and_its_download_pass_through_apache() {
    upload_through_proxy("apache2").await;
}

async fn upload_through_proxy(which: &str) {
    use crate::proxy;
    if crate::common::skip_interop() {
        return;
    }
    let Some(binary) = proxy::runners::require(which) else {
        return;
    };
    let host = HOST;
    let upload = proxy::runners::UPLOAD_NAME;
    let lilt = proxy::start_lilt(&format!(
        r#"
http_ports = {{ 0 }}
c2s_ports = {{ }}
s2s_ports = {{ }}
http_interfaces = {{ "127.0.0.1" }}
https_ports = {{ }}
data_path = "DATA"
trusted_proxies = {{ "127.0.0.1" }}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
VirtualHost "{host}"
    modules_enabled = {{ "websocket", "roster", "disco" }}
Component "{upload}" "http_file_share"
"#
    ))
    .await;
    lilt.add_user(host, "alice", "pw");
    let prefix = tempfile::tempdir().expect("prefix");
    let (cert, key, der) = proxy::runners::certificate(prefix.path());
    let setup = proxy::runners::Setup {
        tls_port: proxy::free_port(),
        plain_port: proxy::free_port(),
        lilt_port: lilt.addr.port(),
        cert,
        key,
    };
    let running = proxy::runners::start(which, &binary, prefix.path(), &setup).await;
    // The slot, asked for directly.
    let mut c = WsClient::connect(lilt.addr).await;
    c.login("alice", "pw", "up").await;
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    c.send_text(&format!(
        "<iq xmlns='jabber:client' type='get' id='s1' to='{upload}'>{}</iq>",
        request("p.png", &body.len().to_string(), Some("image/png"))
    ))
    .await;
    let reply = loop {
        let t = c.next_text().await;
        if t.contains("id='s1'") {
            break t;
        }
    };
    let url_start = reply.find("<put url='").expect("put url") + 10;
    let url = &reply[url_start..url_start + reply[url_start..].find('\'').expect("url end")];
    let path = &url[url.find("/file_share/").unwrap_or_else(|| panic!("{url}"))..];
    let tok_start = reply.find("Bearer ").expect("token") + 7;
    let token = &reply[tok_start..tok_start + reply[tok_start..].find('<').expect("token end")];
    let proxy_addr: SocketAddr = format!("127.0.0.1:{}", setup.tls_port)
        .parse()
        .expect("addr");
    let connector = proxy::runners::connector(&der);
    // PUT through the proxy.
    let mut tls = proxy::runners::tls_connect(&connector, "127.0.0.1", proxy_addr, upload).await;
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {upload}\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\nContent-Type: image/png\r\nConnection: close\r\n\r\n",
        body.len()
    );
    tls.write_all(head.as_bytes()).await.expect("head");
    tls.write_all(&body).await.expect("body");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), tls.read_to_end(&mut answer))
        .await
        .expect("PUT answered in time")
        .ok();
    let answer = String::from_utf8_lossy(&answer).to_string();
    assert!(
        answer.starts_with("HTTP/1.1 201"),
        "{which}: {answer}\n{}",
        std::fs::read_to_string(prefix.path().join("proxy.log")).unwrap_or_default()
    );
    // GET through the proxy: the same bytes.
    let mut tls = proxy::runners::tls_connect(&connector, "127.0.0.1", proxy_addr, upload).await;
    let head = format!("GET {path} HTTP/1.1\r\nHost: {upload}\r\nConnection: close\r\n\r\n");
    tls.write_all(head.as_bytes()).await.expect("head");
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), tls.read_to_end(&mut got))
        .await
        .expect("GET answered in time")
        .ok();
    let split = got
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of head")
        + 4;
    let head = String::from_utf8_lossy(&got[..split]).to_string();
    assert!(head.starts_with("HTTP/1.1 200"), "{which}: {head}");
    let mut content = got[split..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        content = dechunk(&content);
    }
    assert_eq!(content.len(), body.len(), "{which}: {head}");
    assert!(content == body, "{which}: the bytes differ");
    drop(running);
}

/// The body of a chunked HTTP/1.1 response.
fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = std::str::from_utf8(&data[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = eol + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
}
