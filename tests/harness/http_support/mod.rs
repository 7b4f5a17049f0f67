//! Shared harness for the HTTP integration tests: a hyper server on 127.0.0.1:0 with the
//! websocket app and a few probe apps, and a raw HTTP/1.1 client that shows the exact bytes.

#![allow(dead_code)]

use std::sync::Arc;

use lilt::modules::http::{App, Handler, HttpSettings, Reply, Response, Router, Scope};
use lilt::modules::websocket::route::{self, WebSocketSettings};
use lilt::net::http::{serve_listener, HttpApp, WebSocketCallback, WsRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

pub struct Server {
    pub addr: std::net::SocketAddr,
    /// Every upgraded request, in order.
    pub upgrades: mpsc::UnboundedReceiver<WsRequest>,
}

/// An app at `/probe` that reports what the server made of the request.
fn probe_app() -> App {
    App::new("probe")
        .route(
            "GET",
            Handler::new(|req, _| {
                let body = format!("ip={} secure={}", req.ip, req.secure);
                Reply::Response(Response::new(200).with_body(body))
            }),
        )
        .route(
            "POST",
            Handler::new(|req, _| {
                Reply::Response(
                    Response::new(200).with_body(format!("got {} bytes", req.body.len())),
                )
            }),
        )
}

/// Starts a server: websocket + probe + `files` (route `GET /`) on host `example.com`.
/// `on_upgrade` gets each upgraded socket.
pub async fn start(
    settings: HttpSettings,
    ws: WebSocketSettings,
    on_upgrade: impl Fn(Box<dyn lilt::net::http::AsyncReadWrite>) + Send + Sync + 'static,
) -> Server {
    let mut router = Router::new();
    let host = Scope::host("example.com");
    let ws = Arc::new(ws);
    for app in [
        route::app(Arc::clone(&ws)),
        probe_app(),
        App::new("files").route(
            "GET /",
            Handler::Static(Response::new(200).with_body("index")),
        ),
    ] {
        assert!(router.add_app(&host, app, &settings).is_empty());
    }
    let (tx, upgrades) = mpsc::unbounded_channel();
    let callback: WebSocketCallback = Arc::new(move |io, request| {
        let _ = tx.send(request);
        on_upgrade(io.into_boxed());
    });
    let app = Arc::new(HttpApp::new(router, settings, callback));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(serve_listener(listener, app));
    Server { addr, upgrades }
}

pub async fn start_default() -> Server {
    start(
        HttpSettings::default(),
        WebSocketSettings::default(),
        |_| {},
    )
    .await
}

/// A response as it came off the wire.
#[derive(Debug)]
pub struct Wire {
    pub head: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Wire {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Reads one response; the body by Content-Length unless `head_only`.
pub async fn read_response(stream: &mut TcpStream, head_only: bool) -> Wire {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        let n = stream.read(&mut byte).await.expect("read head");
        assert!(
            n == 1,
            "connection closed mid-head: {:?}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).expect("ascii head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_owned(), v.trim().to_owned()))
        .collect();
    let mut wire = Wire {
        head: head.clone(),
        status,
        headers,
        body: Vec::new(),
    };
    if !head_only {
        if let Some(len) = wire
            .header("content-length")
            .and_then(|v| v.parse::<usize>().ok())
        {
            let mut body = vec![0u8; len];
            stream.read_exact(&mut body).await.expect("read body");
            wire.body = body;
        }
    }
    wire
}

/// Opens a connection, sends `raw`, reads one response.
pub async fn exchange(server: &Server, raw: &str) -> Wire {
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream
        .write_all(raw.as_bytes())
        .await
        .expect("write request");
    read_response(&mut stream, raw.starts_with("HEAD ")).await
}

/// `GET <path>` with `Host: example.com` plus extra header lines.
pub fn get(path: &str, extra: &[&str]) -> String {
    request("GET", path, "example.com", extra)
}

pub fn request(method: &str, path: &str, host: &str, extra: &[&str]) -> String {
    let mut raw = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n");
    for line in extra {
        raw.push_str(line);
        raw.push_str("\r\n");
    }
    raw.push_str("\r\n");
    raw
}

pub const WS_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
pub const WS_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
