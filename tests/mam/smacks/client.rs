//! A raw XMPP client over TCP or WebSocket that works against Lilt and Prosody alike:
//! it reads top-level elements one by one (WebSocket frames, or a TCP stream split at
//! depth 1), logs in with PLAIN, and syncs with a ping so a step's answers are complete.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{WsClient, HOST};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    Ws,
}

enum Wire {
    Tcp { s: TcpStream, buf: String },
    Ws(WsClient),
}

pub struct Client {
    wire: Wire,
    seq: u32,
    /// Stanzas received so far (what an `h` acknowledging everything says).
    pub received: u64,
    /// Elements read but not yet taken.
    pending: std::collections::VecDeque<String>,
}

/// Where a server listens.
#[derive(Debug, Clone, Copy)]
pub struct Addrs {
    pub tcp: SocketAddr,
    pub http: SocketAddr,
}

impl Client {
    pub async fn connect(addrs: Addrs, t: Transport) -> Client {
        let wire = match t {
            Transport::Tcp => Wire::Tcp {
                s: TcpStream::connect(addrs.tcp).await.expect("connect c2s"),
                buf: String::new(),
            },
            Transport::Ws => Wire::Ws(WsClient::connect(addrs.http).await),
        };
        Client {
            wire,
            seq: 0,
            received: 0,
            pending: Default::default(),
        }
    }

    pub async fn send(&mut self, xml: &str) {
        match &mut self.wire {
            Wire::Tcp { s, .. } => s.write_all(xml.as_bytes()).await.expect("write"),
            Wire::Ws(ws) => ws.send_text(xml).await,
        }
    }

    /// Sends a stanza, adding `xmlns='jabber:client'` (WebSocket needs it on each).
    pub async fn stanza(&mut self, xml: &str) {
        let end = xml.find([' ', '>', '/']).unwrap_or(xml.len());
        let xml = format!("{} xmlns='jabber:client'{}", &xml[..end], &xml[end..]);
        self.send(&xml).await;
    }

    /// The next top-level element (or stream header), None when the connection ends.
    pub async fn next(&mut self) -> Option<String> {
        let e = self.next_element().await?;
        if ["<iq", "<message", "<presence"]
            .iter()
            .any(|p| e.starts_with(p))
        {
            self.received += 1;
        }
        Some(e)
    }

    async fn next_element(&mut self) -> Option<String> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Some(e);
            }
            match &mut self.wire {
                Wire::Ws(ws) => match ws.next_frame().await? {
                    crate::support::WsFrame::Text(t) => return Some(t),
                    crate::support::WsFrame::Close(..) => return None,
                    _ => continue,
                },
                Wire::Tcp { s, buf } => {
                    if let Some((el, rest)) = split_one(buf) {
                        *buf = rest;
                        return Some(el);
                    }
                    let mut chunk = [0u8; 8192];
                    let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut chunk))
                        .await
                        .expect("read timed out")
                        .ok()?;
                    if n == 0 {
                        return None;
                    }
                    buf.push_str(&String::from_utf8_lossy(&chunk[..n]));
                }
            }
        }
    }

    pub async fn next_containing(&mut self, needle: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let e = self
                .next()
                .await
                .unwrap_or_else(|| panic!("closed before {needle}: {seen:?}"));
            let done = e.contains(needle);
            seen.push(e);
            if done {
                return seen;
            }
        }
    }

    /// Everything up to the answer of a ping (not included).
    pub async fn sync(&mut self) -> Vec<String> {
        self.seq += 1;
        let id = format!("sync{}", self.seq);
        self.stanza(&format!(
            "<iq type='get' id='{id}' to='{HOST}'><ping xmlns='urn:xmpp:ping'/></iq>"
        ))
        .await;
        let mut seen = self.next_containing(&format!("id='{id}'")).await;
        seen.pop();
        seen
    }

    pub async fn exchange(&mut self, xml: &str) -> Vec<String> {
        self.send(xml).await;
        self.sync().await
    }

    async fn open(&mut self) -> String {
        let header = match self.wire {
            Wire::Tcp { .. } => format!("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='{HOST}' version='1.0'>"),
            Wire::Ws(_) => format!("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='{HOST}' version='1.0'/>"),
        };
        self.send(&header).await;
        self.next_containing("features")
            .await
            .pop()
            .expect("features")
    }

    /// Opens, authenticates; returns the features after authentication.
    pub async fn auth(&mut self, user: &str, pw: &str) -> String {
        self.open().await;
        let payload = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{pw}"));
        self.send(&format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{payload}</auth>"
        ))
        .await;
        let ok = self.next().await.expect("auth answer");
        assert!(ok.contains("<success"), "{ok}");
        self.open().await
    }

    pub async fn bind(&mut self, resource: &str) -> String {
        self.stanza(&format!("<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{resource}</resource></bind></iq>")).await;
        self.next_containing("</jid>").await.pop().expect("bound")
    }

    pub async fn login(addrs: Addrs, t: Transport, user: &str, resource: &str) -> Client {
        let mut c = Client::connect(addrs, t).await;
        c.auth(user, "pw").await;
        c.bind(resource).await;
        c
    }

    /// Cuts the connection without closing the stream (a lost network).
    pub fn cut(self) {
        drop(self);
    }
}

/// Splits the first complete top-level element (or the stream header) off `buf`.
fn split_one(buf: &str) -> Option<(String, String)> {
    let start = buf.find('<')?;
    let b = &buf[start..];
    if b.starts_with("<?xml") {
        let end = b.find("?>")? + 2;
        return split_one(&b[end..]);
    }
    if b.starts_with("<stream:stream") {
        let end = b.find('>')? + 1;
        return Some((b[..end].to_owned(), b[end..].to_owned()));
    }
    let mut depth = 0i32;
    let mut i = 0;
    let bytes = b.as_bytes();
    while i < bytes.len() {
        if bytes[i] == b'<' {
            let close = b[i..].find('>')? + i;
            let tag = &b[i..=close];
            if tag.starts_with("</") {
                depth -= 1;
            } else if !tag.ends_with("/>") {
                depth += 1;
            }
            i = close + 1;
            if depth <= 0 {
                return Some((b[..i].to_owned(), b[i..].to_owned()));
            }
        } else {
            i += 1;
        }
    }
    None
}

pub fn attr(xml: &str, name: &str) -> Option<String> {
    for q in ['\'', '"'] {
        if let Some(at) = xml.find(&format!(" {name}={q}")) {
            let rest = &xml[at + name.len() + 3..];
            return Some(rest[..rest.find(q)?].to_owned());
        }
    }
    None
}

pub fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(&s[i..j])
}
