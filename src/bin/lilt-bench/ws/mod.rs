//! A minimal WebSocket client over a tokio `TcpStream` (RFC 6455, `xmpp` subprotocol).
//!
//! One frame per `send_text`; pings are answered inline while reading. Just enough for a
//! load tool: no TLS, no fragmentation, no extensions.

pub mod frame;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::error::BenchError;

/// Largest frame the bench accepts from a server (Prosody's default stanza limit × 2).
const MAX_PAYLOAD: usize = 512 * 1024;

/// Where to connect: parsed from `ws://HOST:PORT/PATH`.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub host_header: String,
    pub path: String,
}

impl Target {
    pub fn parse(url: &str) -> Result<Self, BenchError> {
        let bad = || BenchError::Url(url.to_string());
        let rest = url.strip_prefix("ws://").ok_or_else(bad)?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = authority.rsplit_once(':').ok_or_else(bad)?;
        let port: u16 = port.parse().map_err(|_| bad())?;
        let ip: IpAddr = if host == "localhost" {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            host.parse().map_err(|_| bad())?
        };
        Ok(Target {
            addr: SocketAddr::new(ip, port),
            host_header: authority.to_string(),
            path: path.to_string(),
        })
    }
}

/// An open client WebSocket.
pub struct WsClient {
    stream: TcpStream,
    rbuf: Vec<u8>,
    rpos: usize,
    wbuf: Vec<u8>,
    rng: u64,
}

/// Connects from `source` (a loopback alias, to spread ephemeral ports) when given.
async fn tcp_connect(addr: SocketAddr, source: Option<Ipv4Addr>) -> Result<TcpStream, BenchError> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let (Some(src), true) = (source, addr.is_ipv4()) {
        no_port_reservation(&socket);
        socket.bind(SocketAddr::new(IpAddr::V4(src), 0))?;
    }
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// IP_BIND_ADDRESS_NO_PORT: pick the source port at connect() time, so one source address
/// serves ~28k connections per destination instead of ~28k overall.
fn no_port_reservation(socket: &TcpSocket) {
    use std::os::fd::AsRawFd;
    const IP_BIND_ADDRESS_NO_PORT: libc::c_int = 24;
    let one: libc::c_int = 1;
    // SAFETY: valid fd owned by `socket`, option value is a live c_int of the right size.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            IP_BIND_ADDRESS_NO_PORT,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

impl WsClient {
    /// TCP connect + HTTP/1.1 upgrade; `protocol` is the offered subprotocol (e.g. `xmpp`).
    pub async fn connect(
        target: &Target,
        source: Option<Ipv4Addr>,
        protocol: Option<&str>,
    ) -> Result<Self, BenchError> {
        let mut stream = tcp_connect(target.addr, source).await?;
        let mut rng = rand::random::<u64>() | 1;
        let key_bytes: [u8; 16] = rand::random();
        let key = {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(key_bytes)
        };
        let mut req = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\n",
            target.path, target.host_header, key
        );
        if let Some(p) = protocol {
            req.push_str(&format!("Sec-WebSocket-Protocol: {p}\r\n"));
        }
        req.push_str("\r\n");
        stream.write_all(req.as_bytes()).await?;
        let mut rbuf = Vec::with_capacity(4096);
        let head_end = loop {
            if let Some(i) = find(&rbuf, b"\r\n\r\n") {
                break i + 4;
            }
            if rbuf.len() > 16 * 1024 {
                return Err(BenchError::Handshake("response head too large".into()));
            }
            if stream.read_buf(&mut rbuf).await? == 0 {
                return Err(BenchError::Handshake("EOF before response".into()));
            }
        };
        let head = String::from_utf8_lossy(&rbuf[..head_end]).to_string();
        let status_ok = head.starts_with("HTTP/1.1 101");
        let want = frame::accept_key(&key);
        let accept_ok = head.lines().any(|l| {
            l.split_once(':').is_some_and(|(k, v)| {
                k.eq_ignore_ascii_case("sec-websocket-accept") && v.trim() == want
            })
        });
        if !status_ok || !accept_ok {
            let first = head.lines().next().unwrap_or_default().to_string();
            return Err(BenchError::Handshake(first));
        }
        rng ^= key_bytes[0] as u64;
        Ok(WsClient {
            stream,
            rbuf,
            rpos: head_end,
            wbuf: Vec::with_capacity(1024),
            rng,
        })
    }

    /// Cheap per-frame masking key (xorshift): masking is mandatory, secrecy is not a goal here.
    fn next_mask(&mut self) -> [u8; 4] {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng as u32).to_le_bytes()
    }

    /// Sends each payload as one text frame, all in a single write.
    pub async fn send_texts(&mut self, payloads: &[&str]) -> Result<(), BenchError> {
        self.wbuf.clear();
        let mut wbuf = std::mem::take(&mut self.wbuf);
        for p in payloads {
            let mask = self.next_mask();
            frame::encode(frame::OP_TEXT, p.as_bytes(), Some(mask), &mut wbuf);
        }
        let res = self.stream.write_all(&wbuf).await;
        self.wbuf = wbuf;
        Ok(res?)
    }

    pub async fn send_text(&mut self, payload: &str) -> Result<(), BenchError> {
        self.send_texts(&[payload]).await
    }

    /// Next text or binary message; answers pings, ignores pongs, errors on close/EOF.
    pub async fn recv(&mut self) -> Result<Vec<u8>, BenchError> {
        loop {
            if let Some((f, used)) = frame::decode(&self.rbuf[self.rpos..], MAX_PAYLOAD)? {
                self.rpos += used;
                if self.rpos == self.rbuf.len() {
                    self.rbuf.clear();
                    self.rpos = 0;
                }
                match f.opcode {
                    frame::OP_TEXT | frame::OP_BINARY => return Ok(f.payload),
                    frame::OP_PING => {
                        let mask = self.next_mask();
                        let mut out = Vec::new();
                        frame::encode(frame::OP_PONG, &f.payload, Some(mask), &mut out);
                        self.stream.write_all(&out).await?;
                    }
                    frame::OP_CLOSE => return Err(BenchError::Closed),
                    _ => {}
                }
                continue;
            }
            if self.rpos > 0 {
                self.rbuf.drain(..self.rpos);
                self.rpos = 0;
            }
            self.rbuf.reserve(8192);
            if self.stream.read_buf(&mut self.rbuf).await? == 0 {
                return Err(BenchError::Closed);
            }
        }
    }

    /// Next message as text (lossy: the bench only inspects ASCII markup it generated).
    pub async fn recv_text(&mut self) -> Result<String, BenchError> {
        let bytes = self.recv().await?;
        Ok(String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }

    /// Sends a close frame (1000) and waits briefly for the peer to close the TCP connection.
    pub async fn close(mut self) {
        let mut out = Vec::new();
        let mask = self.next_mask();
        frame::encode(
            frame::OP_CLOSE,
            &1000u16.to_be_bytes(),
            Some(mask),
            &mut out,
        );
        let _ = self.stream.write_all(&out).await;
        let mut sink = [0u8; 4096];
        let wait = async {
            while let Ok(n) = self.stream.read(&mut sink).await {
                if n == 0 {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), wait).await;
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
