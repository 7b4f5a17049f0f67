//! A raw BOSH client for the tests: one HTTP/1.1 POST per request (`Connection: close`),
//! the body read to the end, and a parser for the response `<body>`'s attributes.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const NS: &str = "http://jabber.org/protocol/httpbind";

/// One answer: HTTP status, the raw head and the body text.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Answer {
    /// The attributes of the response's `<body>` tag.
    pub fn attrs(&self) -> BTreeMap<String, String> {
        attrs_of(&self.body)
    }
}

/// Attributes of the first start tag of `xml` (single or double quoted).
pub fn attrs_of(xml: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(start) = xml.find('<') else {
        return out;
    };
    let end = xml[start..].find('>').map_or(xml.len(), |e| start + e);
    let tag = xml[start + 1..end].trim_end_matches('/');
    let mut rest = tag.split_once(char::is_whitespace).map_or("", |(_, r)| r);
    while let Some(eq) = rest.find('=') {
        let name = rest[..eq].trim().to_owned();
        let after = rest[eq + 1..].trim_start();
        let Some(q) = after.chars().next() else { break };
        let Some(close) = after[1..].find(q) else {
            break;
        };
        out.insert(name, after[1..1 + close].to_owned());
        rest = &after[close + 2..];
    }
    out
}

/// POSTs `body` to `path` with `Host: host`.
pub async fn post(addr: SocketAddr, host: &str, path: &str, body: &str) -> Answer {
    post_bytes(addr, host, path, body.as_bytes()).await
}

pub async fn post_bytes(addr: SocketAddr, host: &str, path: &str, body: &[u8]) -> Answer {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/xml; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.expect("write head");
    s.write_all(body).await.expect("write body");
    read_answer(s).await
}

pub async fn read_answer(mut s: TcpStream) -> Answer {
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Answer {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

/// A BOSH session in progress: its sid and next rid.
pub struct Session {
    pub addr: SocketAddr,
    pub host: String,
    pub path: String,
    pub sid: String,
    pub rid: u64,
}

impl Session {
    /// Creates a session for `to` with `wait`; returns it and the creation answer.
    pub async fn create(addr: SocketAddr, host: &str, to: &str, wait: u32) -> (Session, Answer) {
        let rid = 1_000_000;
        let a = post(
            addr,
            host,
            "/http-bind",
            &format!(
                "<body xmlns='{NS}' content='text/xml; charset=utf-8' hold='1' rid='{rid}' \
                 to='{to}' ver='1.6' wait='{wait}' xml:lang='en' xmlns:xmpp='urn:xmpp:xbosh' \
                 xmpp:version='1.0'/>"
            ),
        )
        .await;
        let sid = a.attrs().get("sid").cloned().unwrap_or_default();
        (
            Session {
                addr,
                host: host.to_owned(),
                path: "/http-bind".into(),
                sid,
                rid: rid + 1,
            },
            a,
        )
    }

    /// Sends `payload` in the next request (`extra`: more body attributes).
    pub async fn send(&mut self, extra: &str, payload: &str) -> Answer {
        let rid = self.rid;
        self.rid += 1;
        self.send_rid(rid, extra, payload).await
    }

    pub async fn send_rid(&self, rid: u64, extra: &str, payload: &str) -> Answer {
        post(
            self.addr,
            &self.host,
            &self.path,
            &format!(
                "<body xmlns='{NS}' rid='{rid}' sid='{}' {extra}>{payload}</body>",
                self.sid
            ),
        )
        .await
    }

    /// PLAIN login, restart, bind: returns the full JID.
    pub async fn login(&mut self, user: &str, password: &str, resource: &str) -> String {
        use base64::Engine;
        let creds =
            base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
        let a = self
            .send(
                "",
                &format!(
                    "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{creds}</auth>"
                ),
            )
            .await;
        assert!(a.body.contains("<success"), "auth: {}", a.body);
        let a = self
            .send("xmpp:restart='true' xmlns:xmpp='urn:xmpp:xbosh'", "")
            .await;
        assert!(
            a.body.contains("urn:ietf:params:xml:ns:xmpp-bind"),
            "restart: {}",
            a.body
        );
        let a = self
            .send(
                "",
                &format!(
                    "<iq type='set' id='b1' xmlns='jabber:client'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{resource}</resource></bind></iq>"
                ),
            )
            .await;
        let start = a.body.find("<jid>").expect("jid in bind result") + 5;
        let end = a.body.find("</jid>").expect("jid end");
        a.body[start..end].to_owned()
    }
}
