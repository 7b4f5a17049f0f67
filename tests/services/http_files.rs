//! mod_http_files over a real listener: index files, content types, 404s, directory
//! redirects, path traversal and conditional requests.

use crate::support;

use support::*;

async fn server() -> Server {
    let cfg = base_config("").replace(
        "modules_enabled = { \"websocket\", \"http\", \"ping\", \"disco\" }",
        "modules_enabled = { \"websocket\", \"http\", \"http_files\" }\nhttp_files_dir = \"www\"\nhttp_paths = { files = \"/\" }",
    );
    assert!(cfg.contains("http_files_dir"), "config rewritten");
    let s = Server::start(&cfg).await;
    let www = s.dir.path().join("www");
    std::fs::create_dir_all(www.join("sub")).expect("mkdir");
    std::fs::write(www.join("index.html"), "<h1>hi</h1>").expect("write");
    std::fs::write(www.join("app.js"), "let x = 1;").expect("write");
    std::fs::write(www.join("sub/index.htm"), "sub index").expect("write");
    std::fs::create_dir_all(www.join("empty")).expect("mkdir");
    s
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n")
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[tokio::test]
async fn root_serves_the_index_file_as_html() {
    let s = server().await;
    let (head, body) = http_get(s.addr, &get("/")).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(header(&head, "content-type"), Some("text/html"), "{head}");
    assert_eq!(body, "<h1>hi</h1>");
    assert!(
        header(&head, "etag").is_some() && header(&head, "last-modified").is_some(),
        "{head}"
    );
}

#[tokio::test]
async fn scripts_get_their_content_type_and_subdirectories_their_index() {
    let s = server().await;
    let (head, body) = http_get(s.addr, &get("/app.js")).await;
    assert_eq!(
        header(&head, "content-type"),
        Some("application/javascript"),
        "{head}"
    );
    assert_eq!(body, "let x = 1;");
    let (head, body) = http_get(s.addr, &get("/sub/")).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, "sub index");
    let (head, _) = http_get(s.addr, &get("/sub")).await;
    assert!(head.starts_with("HTTP/1.1 301"), "{head}");
    assert_eq!(header(&head, "location"), Some("/sub/"));
}

#[tokio::test]
async fn missing_files_are_404_and_escapes_are_refused() {
    let s = server().await;
    let (head, _) = http_get(s.addr, &get("/nope.html")).await;
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    let (head, _) = http_get(s.addr, &get("/../prosody.cfg.lua")).await;
    assert!(
        !head.starts_with("HTTP/1.1 200"),
        "no way out of the directory: {head}"
    );
    let (head, _) = http_get(s.addr, &get("/sub/%2e%2e/%2e%2e/prosody.cfg.lua")).await;
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    let (head, _) = http_get(s.addr, &get("/empty/")).await;
    assert!(head.starts_with("HTTP/1.1 403"), "no listing: {head}");
}

#[tokio::test]
async fn matching_etag_is_304_and_websocket_still_works_beside_it() {
    let s = server().await;
    let (head, _) = http_get(s.addr, &get("/app.js")).await;
    let etag = header(&head, "etag").expect("etag").to_owned();
    let req = format!("GET /app.js HTTP/1.1\r\nHost: {HOST}\r\nIf-None-Match: {etag}\r\nConnection: close\r\n\r\n");
    let (head, _) = http_get(s.addr, &req).await;
    assert!(head.starts_with("HTTP/1.1 304"), "{head}");
    let c = WsClient::connect(s.addr).await;
    assert!(c.response_head.starts_with("HTTP/1.1 101"));
}

#[tokio::test]
async fn default_path_is_files_like_prosody() {
    let cfg = base_config("").replace(
        "modules_enabled = { \"websocket\", \"http\", \"ping\", \"disco\" }",
        "modules_enabled = { \"websocket\", \"http\", \"http_files\" }\nhttp_files_dir = \"www\"",
    );
    let s = Server::start(&cfg).await;
    std::fs::create_dir_all(s.dir.path().join("www")).expect("mkdir");
    std::fs::write(s.dir.path().join("www/a.txt"), "A").expect("write");
    let (head, body) = http_get(s.addr, &get("/files/a.txt")).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(header(&head, "content-type"), Some("text/plain"));
    assert_eq!(body, "A");
}
