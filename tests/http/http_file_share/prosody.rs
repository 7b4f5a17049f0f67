//! Differential: Debian's Prosody and Lilt share one data directory. A file Prosody took
//! is served by Lilt with the headers Prosody sends, and a file Lilt took is served by
//! Prosody: the records (`uploads.list`) and files (`http_file_share/<slot>.bin`) are in
//! the same places and formats.

use std::path::Path;

use super::{get_head, header, http, iq, put_head, request, slot_of, UPLOAD};
use crate::common::{prosody_ready, Prosody};
use crate::support::{Server, WsClient, HOST};

const SECRET: &str = "shared-secret-for-the-differential";

/// Prosody with the upload component on `data`.
fn prosody(data: &Path) -> Prosody {
    let p = Prosody::new(data, HOST);
    let mut cfg = std::fs::read_to_string(&p.config_path).expect("prosody config");
    cfg.push_str(&format!(
        "Component \"{UPLOAD}\" \"http_file_share\"\n    http_file_share_secret = \"{SECRET}\"\n"
    ));
    std::fs::write(&p.config_path, cfg).expect("write prosody config");
    p
}

/// Lilt with the upload component on `data`, HTTP on `port`.
async fn lilt(data: &Path, port: u16) -> Server {
    let config = format!(
        r#"
http_ports = {{ {port} }}
s2s_ports = {{ }}
https_ports = {{ }}
c2s_ports = {{ }}
data_path = {data:?}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
modules_enabled = {{ "websocket", "http", "ping", "disco" }}
VirtualHost "{HOST}"
Component "{UPLOAD}" "http_file_share"
    http_file_share_secret = "{SECRET}"
"#,
        data = data.display().to_string()
    );
    Server::start(&config).await
}

fn addr(port: u16) -> std::net::SocketAddr {
    std::net::SocketAddr::from(([127, 0, 0, 1], port))
}

/// The headers both servers must agree on for a download.
const COMPARED: &[&str] = &[
    "content-type",
    "content-length",
    "content-disposition",
    "last-modified",
    "accept-ranges",
    "cache-control",
    "content-security-policy",
    "strict-transport-security",
    "x-content-type-options",
    "x-frame-options",
    "x-xss-protection",
];

#[tokio::test]
async fn a_file_prosody_took_is_served_by_lilt_as_prosody_serves_it() {
    if !prosody_ready() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let mut p = prosody(&data);
    p.register("alice", HOST, "pw");
    p.start();
    let pport = p.http_port;
    let mut a = WsClient::connect(addr(pport)).await;
    a.login("alice", "pw", "up").await;
    let body = b"shared between two servers".to_vec();
    let r = iq(
        &mut a,
        "p1",
        &request("both ways.txt", &body.len().to_string(), Some("text/plain")),
    )
    .await;
    assert!(r.contains("<slot"), "{r}\n{}", p.log());
    let (path, token) = slot_of(&r, pport);
    let (st, head, _) = http(
        addr(pport),
        &put_head(pport, &path, Some(&token), body.len()),
        &body,
    )
    .await;
    assert_eq!(st, 201, "{head}");
    p.stop();
    // A fresh Prosody serves from its records: right after a PUT it answers from its
    // upload cache, whose Last-Modified is the PUT's time rather than the slot's.
    let mut p = prosody(&data);
    p.start();
    let pport = p.http_port;
    let (st, prosody_head, got) = http(addr(pport), &get_head("GET", pport, &path, ""), b"").await;
    assert_eq!(
        (st, got.as_slice()),
        (200, body.as_slice()),
        "{prosody_head}"
    );
    let (st, prosody_range, _) = http(
        addr(pport),
        &get_head("GET", pport, &path, "Range: bytes=3-\r\n"),
        b"",
    )
    .await;
    assert_eq!(st, 206);
    p.stop();

    let lport = super::free_port();
    let s = lilt(&data, lport).await;
    let (st, lilt_head, got) = http(s.addr, &get_head("GET", lport, &path, ""), b"").await;
    assert_eq!((st, got.as_slice()), (200, body.as_slice()), "{lilt_head}");
    for h in COMPARED {
        assert_eq!(
            header(&lilt_head, h),
            header(&prosody_head, h),
            "{h}:\n{prosody_head}\n{lilt_head}"
        );
    }
    let (st, lilt_range, _) = http(
        s.addr,
        &get_head("GET", lport, &path, "Range: bytes=3-\r\n"),
        b"",
    )
    .await;
    assert_eq!(st, 206);
    assert_eq!(
        header(&lilt_range, "content-range"),
        header(&prosody_range, "content-range")
    );
    // The token Prosody issued is valid for Lilt too (same secret, same format), and the
    // slot is already used.
    let (st, _, _) = http(
        s.addr,
        &put_head(lport, &path, Some(&token), body.len()),
        &body,
    )
    .await;
    assert_eq!(st, 409);
}

#[tokio::test]
async fn a_file_lilt_took_is_served_by_prosody() {
    if !prosody_ready() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let lport = super::free_port();
    let path;
    let body = b"from lilt, served by prosody".to_vec();
    {
        let s = lilt(&data, lport).await;
        s.add_user("alice", "pw");
        let mut a = WsClient::connect(s.addr).await;
        a.login("alice", "pw", "up").await;
        let r = iq(
            &mut a,
            "l1",
            &request(
                "ünïcode name.png",
                &body.len().to_string(),
                Some("image/png"),
            ),
        )
        .await;
        let (p, token) = slot_of(&r, lport);
        let (st, head, _) = http(
            s.addr,
            &put_head(lport, &p, Some(&token), body.len()),
            &body,
        )
        .await;
        assert_eq!(st, 201, "{head}");
        path = p;
    }
    let mut p = prosody(&data);
    p.start();
    let pport = p.http_port;
    let (st, head, got) = http(addr(pport), &get_head("GET", pport, &path, ""), b"").await;
    assert_eq!(
        (st, got.as_slice()),
        (200, body.as_slice()),
        "{head}\n{}",
        p.log()
    );
    assert_eq!(header(&head, "content-type"), Some("image/png"));
    assert_eq!(
        header(&head, "content-disposition"),
        Some("inline; filename*=UTF-8''%c3%bcn%c3%afcode%20name.png")
    );
}
