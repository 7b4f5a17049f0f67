//! Helpers for the edge tests: an in-process Lilt with its listeners, a log capture, a
//! WebSocket client over any byte stream (plain or TLS), and the nginx/Apache runners.
#![allow(dead_code)]

pub mod runners;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use lilt::config::Config;
use lilt::core::Shared;

pub struct Lilt {
    pub addr: SocketAddr,
    pub shared: Arc<Shared>,
    pub listeners: lilt::net::Listeners,
    pub dir: tempfile::TempDir,
}

/// Starts Lilt from `config` (a `DATA` placeholder becomes a temp data dir).
pub async fn start_lilt(config: &str) -> Lilt {
    capture_logs();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("lilt.cfg.lua");
    let data = dir.path().join("data");
    std::fs::write(&path, config.replace("DATA", &data.display().to_string())).expect("write");
    let config = Config::load(&path).expect("config loads");
    let (shared, rx) = lilt::core::server::build(config);
    lilt::core::server::spawn_core(shared.clone(), rx);
    let listeners = lilt::net::start(shared.clone()).await.expect("listeners");
    let addr = listeners.http_addrs()[0];
    Lilt {
        addr,
        shared,
        listeners,
        dir,
    }
}

impl Lilt {
    pub fn add_user(&self, host: &str, user: &str, password: &str) {
        self.shared
            .accounts
            .create(host, user, password)
            .expect("create account");
    }
}

/// Everything logged in this test process (ANSI off, spans with their fields).
pub fn logs() -> String {
    let buf = capture_logs();
    let text = buf.lock().map(|b| String::from_utf8_lossy(&b).to_string());
    text.unwrap_or_default()
}

#[derive(Clone)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(data);
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> Arc<Mutex<Vec<u8>>> {
    static BUF: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUF.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = Sink(buf.clone());
        let _ = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || sink.clone())
            .try_init();
        buf
    })
    .clone()
}

/// A TCP connection from a chosen loopback source address (127.0.0.0/8 all work on Linux).
pub async fn connect_from(source: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    let src: IpAddr = source.parse().expect("source ip");
    socket.bind(SocketAddr::new(src, 0)).expect("bind source");
    socket.connect(to).await.expect("connect")
}

/// A free loopback port (bound then released; fine for a test's own daemons).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// A decoded server frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Text(String),
    Close(Option<u16>, String),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
}

/// A raw RFC 6455 client over any stream.
pub struct Ws<S> {
    pub stream: S,
    pub head: String,
    buf: Vec<u8>,
}

/// Sends an HTTP request and reads the response head; returns (head, bytes after it, stream).
pub async fn request<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    text: &str,
) -> (String, Vec<u8>, S) {
    s.write_all(text.as_bytes()).await.expect("write request");
    let mut buf = Vec::new();
    loop {
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut chunk))
            .await
            .expect("response in time")
            .unwrap_or(0);
        if n == 0 {
            let head = String::from_utf8_lossy(&buf).to_string();
            return (head, Vec::new(), s);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..p + 4]).to_string();
            return (head, buf[p + 4..].to_vec(), s);
        }
    }
}

pub fn upgrade(host: &str, path: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: xmpp\r\n{extra}\r\n"
    )
}

impl<S: AsyncRead + AsyncWrite + Unpin> Ws<S> {
    /// Upgrades `stream`; panics unless the answer is 101.
    pub async fn open(stream: S, host: &str, extra: &str) -> Ws<S> {
        let (head, buf, stream) = request(stream, &upgrade(host, "/xmpp-websocket", extra)).await;
        assert!(
            head.starts_with("HTTP/1.1 101"),
            "expected 101, got {head:?}"
        );
        Ws { stream, head, buf }
    }

    pub async fn send_frame(&mut self, opcode: u8, payload: &[u8]) {
        let mut f = vec![0x80 | opcode];
        if payload.len() < 126 {
            f.push(0x80 | payload.len() as u8);
        } else if payload.len() < 65536 {
            f.push(0x80 | 126);
            f.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        } else {
            f.push(0x80 | 127);
            f.extend_from_slice(&(payload.len() as u64).to_be_bytes());
        }
        let key = [7u8, 1, 9, 3];
        f.extend_from_slice(&key);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        self.stream.write_all(&f).await.expect("write frame");
        self.stream.flush().await.expect("flush");
    }

    pub async fn send_text(&mut self, text: &str) {
        self.send_frame(1, text.as_bytes()).await;
    }

    /// Next frame; `None` when the connection ended.
    pub async fn next_frame(&mut self, wait: Duration) -> Option<Frame> {
        loop {
            if let Some((f, used)) = parse(&self.buf) {
                self.buf.drain(..used);
                return Some(f);
            }
            let mut chunk = [0u8; 8192];
            let n = tokio::time::timeout(wait, self.stream.read(&mut chunk))
                .await
                .expect("server answered in time")
                .unwrap_or(0);
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Next text frame, answering pings on the way.
    pub async fn next_text(&mut self) -> String {
        loop {
            match self.next_frame(Duration::from_secs(10)).await {
                Some(Frame::Text(t)) => return t,
                Some(Frame::Ping(p)) => self.send_frame(10, &p).await,
                Some(Frame::Pong(_)) => {}
                other => panic!("expected text, got {other:?}"),
            }
        }
    }

    /// `<open/>` to `host`, PLAIN login, bind; returns the bound JID.
    pub async fn login(&mut self, host: &str, user: &str, password: &str) -> String {
        use base64::Engine;
        let open = format!(
            "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='{host}' version='1.0'/>"
        );
        self.send_text(&open).await;
        let _ = self.next_text().await;
        let features = self.next_text().await;
        assert!(features.contains("PLAIN"), "PLAIN offered: {features}");
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
        self.send_text(&format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{b64}</auth>"
        ))
        .await;
        let success = self.next_text().await;
        assert!(success.contains("<success"), "{success}");
        self.send_text(&open).await;
        let _ = self.next_text().await;
        let _ = self.next_text().await;
        self.send_text("<iq xmlns='jabber:client' type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>edge</resource></bind></iq>")
            .await;
        let bound = self.next_text().await;
        let start = bound
            .find("<jid>")
            .unwrap_or_else(|| panic!("no jid in {bound}"))
            + 5;
        let end = bound.find("</jid>").expect("jid end");
        bound[start..end].to_owned()
    }
}

fn parse(buf: &[u8]) -> Option<(Frame, usize)> {
    if buf.len() < 2 {
        return None;
    }
    let opcode = buf[0] & 0x0f;
    let mut len = (buf[1] & 0x7f) as usize;
    let mut pos = 2;
    if len == 126 {
        len = u16::from_be_bytes([*buf.get(2)?, *buf.get(3)?]) as usize;
        pos = 4;
    } else if len == 127 {
        len = u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?) as usize;
        pos = 10;
    }
    let payload = buf.get(pos..pos + len)?.to_vec();
    let frame = match opcode {
        1 => Frame::Text(String::from_utf8_lossy(&payload).to_string()),
        8 if payload.len() >= 2 => Frame::Close(
            Some(u16::from_be_bytes([payload[0], payload[1]])),
            String::from_utf8_lossy(&payload[2..]).to_string(),
        ),
        8 => Frame::Close(None, String::new()),
        9 => Frame::Ping(payload),
        _ => Frame::Pong(payload),
    };
    Some((frame, pos + len))
}
