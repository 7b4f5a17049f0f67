//! In-process server and a raw RFC 6455 client for WebSocket tests: the server runs on
//! port 0 from a config written to a temp dir; the client speaks frames byte by byte so
//! tests can send exactly the malformed input they mean to.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use lilt::config::Config;
use lilt::core::{CoreMsg, Shared};

pub const HOST: &str = "example.test";

pub struct Server {
    pub addr: SocketAddr,
    pub https_addr: Option<SocketAddr>,
    pub shared: Arc<Shared>,
    pub dir: tempfile::TempDir,
    _listeners: lilt::net::Listeners,
}

/// Base config for tests: plain ws:// with PLAIN and SCRAM allowed.
pub fn base_config(extra_global: &str) -> String {
    format!(
        r#"
http_ports = {{ 0 }}
s2s_ports = {{ }} -- mod_s2s is autoloaded and would bind 5269
https_ports = {{ }}
c2s_ports = {{ }}
data_path = "data"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
modules_enabled = {{ "websocket", "http", "ping", "disco" }}
{extra_global}
VirtualHost "{HOST}"
VirtualHost "other.test"
"#
    )
}

impl Server {
    pub async fn start(config_text: &str) -> Server {
        Self::start_with(config_text, |_| {}).await
    }

    /// Like `start`, after `setup` has prepared the config directory (certificates...).
    pub async fn start_with(config_text: &str, setup: impl FnOnce(&std::path::Path)) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        setup(dir.path());
        let cfg_path: PathBuf = dir.path().join("prosody.cfg.lua");
        let data = dir.path().join("data");
        let text = config_text.replace(
            "data_path = \"data\"",
            &format!("data_path = {:?}", data.display().to_string()),
        );
        std::fs::write(&cfg_path, text).expect("write config");
        let config = Config::load(&cfg_path).expect("config loads");
        let (shared, rx) = lilt::core::server::build(config);
        lilt::core::server::spawn_core(shared.clone(), rx);
        let listeners = lilt::net::start(shared.clone())
            .await
            .expect("listeners start");
        let addr = listeners.http_addrs()[0];
        let https_addr = listeners.https_addrs().first().copied();
        Server {
            addr,
            https_addr,
            shared,
            dir,
            _listeners: listeners,
        }
    }

    pub fn add_user(&self, user: &str, password: &str) {
        self.shared
            .accounts
            .create(HOST, user, password)
            .expect("create account");
    }

    pub async fn shutdown_sessions(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let _ = self.shared.core_tx.send(CoreMsg::Shutdown {
            reason: None,
            done: tx,
        });
        let _ = rx.await;
    }
}

/// A decoded server frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsFrame {
    Text(String),
    Close(Option<u16>, String),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Other(u8, Vec<u8>),
}

/// Any byte stream a test client runs over (plain TCP or TLS).
pub trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

pub struct WsClient {
    pub stream: Box<dyn Io>,
    pub response_head: String,
    buf: Vec<u8>,
}

pub const WS_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

pub async fn http_request(addr: SocketAddr, request: &str) -> (String, Vec<u8>, TcpStream) {
    let s = TcpStream::connect(addr).await.expect("connect");
    http_request_on(s, request).await
}

/// Sends an HTTP request on an open stream and reads the response head.
pub async fn http_request_on<S: Io>(mut s: S, request: &str) -> (String, Vec<u8>, S) {
    s.write_all(request.as_bytes())
        .await
        .expect("write request");
    let mut buf = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut chunk))
            .await
            .expect("response in time")
            .expect("read");
        if n == 0 {
            break buf.len();
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let rest = buf[head_end..].to_vec();
    (head, rest, s)
}

/// Reads an HTTP response with a Content-Length body.
pub async fn http_get(addr: SocketAddr, request: &str) -> (String, String) {
    let (head, mut rest, mut s) = http_request(addr, request).await;
    let len = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    while rest.len() < len {
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut chunk))
            .await
            .expect("body in time")
            .expect("read");
        if n == 0 {
            break;
        }
        rest.extend_from_slice(&chunk[..n]);
    }
    (head, String::from_utf8_lossy(&rest).to_string())
}

pub fn upgrade_request(host: &str, extra: &str) -> String {
    format!(
        "GET /xmpp-websocket HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {WS_KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

impl WsClient {
    pub async fn connect(addr: SocketAddr) -> WsClient {
        Self::connect_with(addr, "Sec-WebSocket-Protocol: xmpp\r\n").await
    }

    pub async fn connect_with(addr: SocketAddr, extra: &str) -> WsClient {
        let (head, rest, stream) = http_request(addr, &upgrade_request(HOST, extra)).await;
        assert!(head.starts_with("HTTP/1.1 101"), "expected 101, got {head}");
        WsClient {
            stream: Box::new(stream),
            response_head: head,
            buf: rest,
        }
    }

    /// Connects from a chosen loopback source address (e.g. 127.0.0.2).
    pub async fn connect_from(addr: SocketAddr, source: std::net::IpAddr) -> WsClient {
        let sock = tokio::net::TcpSocket::new_v4().expect("socket");
        sock.bind(SocketAddr::new(source, 0))
            .expect("bind source address");
        let stream = sock.connect(addr).await.expect("connect");
        Self::upgrade_on(stream, HOST).await
    }

    /// Upgrades an already connected stream (e.g. TLS).
    pub async fn upgrade_on<S: Io + 'static>(stream: S, host: &str) -> WsClient {
        let (head, rest, stream) = http_request_on(
            stream,
            &upgrade_request(host, "Sec-WebSocket-Protocol: xmpp\r\n"),
        )
        .await;
        assert!(head.starts_with("HTTP/1.1 101"), "expected 101, got {head}");
        WsClient {
            stream: Box::new(stream),
            response_head: head,
            buf: rest,
        }
    }

    /// Writes one frame; `mask` decides whether the client masks it.
    pub async fn send_frame(&mut self, first_byte: u8, payload: &[u8], mask: bool) {
        let mut f = vec![first_byte];
        let m = if mask { 0x80 } else { 0 };
        if payload.len() < 126 {
            f.push(m | payload.len() as u8);
        } else if payload.len() < 65536 {
            f.push(m | 126);
            f.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        } else {
            f.push(m | 127);
            f.extend_from_slice(&(payload.len() as u64).to_be_bytes());
        }
        if mask {
            let key = [0x12u8, 0x34, 0x56, 0x78];
            f.extend_from_slice(&key);
            f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        } else {
            f.extend_from_slice(payload);
        }
        self.stream.write_all(&f).await.expect("write frame");
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    pub async fn send_text(&mut self, text: &str) {
        self.send_frame(0x81, text.as_bytes(), true).await;
    }

    /// Next frame, or None when the server closed the TCP connection.
    pub async fn next_frame(&mut self) -> Option<WsFrame> {
        loop {
            if let Some((frame, used)) = parse_frame(&self.buf) {
                self.buf.drain(..used);
                return Some(frame);
            }
            let mut chunk = [0u8; 8192];
            let n = tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut chunk))
                .await
                .expect("server answered in time")
                .unwrap_or(0);
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    pub async fn next_text(&mut self) -> String {
        loop {
            match self.next_frame().await {
                Some(WsFrame::Text(t)) => return t,
                Some(WsFrame::Ping(_)) | Some(WsFrame::Pong(_)) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// Reads frames until a close frame; returns the texts seen and the close frame.
    pub async fn until_close(&mut self) -> (Vec<String>, Option<(Option<u16>, String)>) {
        let mut texts = Vec::new();
        loop {
            match self.next_frame().await {
                Some(WsFrame::Text(t)) => texts.push(t),
                Some(WsFrame::Close(c, r)) => return (texts, Some((c, r))),
                Some(_) => continue,
                None => return (texts, None),
            }
        }
    }

    /// Opens the XMPP stream and returns (open reply, features).
    pub async fn open(&mut self, to: &str) -> (String, String) {
        self.send_text(&format!(
            "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='{to}' version='1.0'/>"
        ))
        .await;
        let open = self.next_text().await;
        let features = self.next_text().await;
        (open, features)
    }

    /// Logs in with PLAIN, restarts, binds; returns the full JID.
    pub async fn login(&mut self, user: &str, password: &str, resource: &str) -> String {
        use base64::Engine;
        let (_, features) = self.open(HOST).await;
        assert!(features.contains("PLAIN"), "PLAIN offered: {features}");
        let payload =
            base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
        self.send_text(&format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{payload}</auth>"
        ))
        .await;
        let success = self.next_text().await;
        assert!(success.contains("<success"), "auth succeeded: {success}");
        let (_, features) = self.open(HOST).await;
        assert!(
            features.contains("urn:ietf:params:xml:ns:xmpp-bind"),
            "{features}"
        );
        self.send_text(&format!(
            "<iq xmlns='jabber:client' type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{resource}</resource></bind></iq>"
        ))
        .await;
        let bound = self.next_text().await;
        let start = bound.find("<jid>").expect("jid in bind result") + 5;
        let end = bound.find("</jid>").expect("jid end");
        bound[start..end].to_string()
    }
}

/// Sends the IQ `xml` (the jabber:client namespace added, as RFC 7395 wants on every
/// stanza) and returns the first stanza that answers id `id`.
pub async fn ask(c: &mut WsClient, xml: &str, id: &str) -> String {
    c.send_text(&xml.replacen("<iq ", "<iq xmlns='jabber:client' ", 1))
        .await;
    loop {
        let t = c.next_text().await;
        if t.contains(&format!("id='{id}'")) {
            return t;
        }
    }
}

pub fn parse_frame(buf: &[u8]) -> Option<(WsFrame, usize)> {
    if buf.len() < 2 {
        return None;
    }
    let opcode = buf[0] & 0x0f;
    let mut len = (buf[1] & 0x7f) as usize;
    let mut pos = 2;
    if len == 126 {
        if buf.len() < 4 {
            return None;
        }
        len = u16::from_be_bytes([buf[2], buf[3]]) as usize;
        pos = 4;
    } else if len == 127 {
        if buf.len() < 10 {
            return None;
        }
        len = u64::from_be_bytes(buf[2..10].try_into().ok()?) as usize;
        pos = 10;
    }
    assert_eq!(buf[1] & 0x80, 0, "server frames are never masked");
    if buf.len() < pos + len {
        return None;
    }
    let payload = buf[pos..pos + len].to_vec();
    let frame = match opcode {
        1 => WsFrame::Text(String::from_utf8(payload).expect("server text is UTF-8")),
        8 => {
            if payload.len() >= 2 {
                let code = u16::from_be_bytes([payload[0], payload[1]]);
                WsFrame::Close(
                    Some(code),
                    String::from_utf8_lossy(&payload[2..]).to_string(),
                )
            } else {
                WsFrame::Close(None, String::new())
            }
        }
        9 => WsFrame::Ping(payload),
        10 => WsFrame::Pong(payload),
        o => WsFrame::Other(o, payload),
    };
    Some((frame, pos + len))
}
