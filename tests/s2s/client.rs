//! A raw c2s client for the federation tests: plain TCP, SASL PLAIN, bind, and reads until
//! a given text appears.

use std::net::SocketAddr;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct Client {
    sock: TcpStream,
    buf: Vec<u8>,
    pub jid: String,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

impl Client {
    /// Logs `user@domain` in with PLAIN and binds resource `r`.
    pub async fn login(addr: SocketAddr, domain: &str, user: &str, password: &str) -> Client {
        let sock = TcpStream::connect(addr).await.expect("connect c2s");
        let mut c = Client {
            sock,
            buf: Vec::new(),
            jid: String::new(),
        };
        let open = format!("<?xml version='1.0'?><stream:stream to='{domain}' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>");
        c.send(&open).await;
        c.read_until("</stream:features>").await;
        let creds = B64.encode(format!("\0{user}\0{password}"));
        c.send(&format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{creds}</auth>"
        ))
        .await;
        c.read_until("<success").await;
        c.send(&open).await;
        c.read_until("</stream:features>").await;
        c.send("<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r</resource></bind></iq>").await;
        let got = c.read_until("</iq>").await;
        let s = got.find("<jid>").expect("jid") + 5;
        let e = got.find("</jid>").expect("jid end");
        c.jid = got[s..e].to_owned();
        c
    }

    pub async fn send(&mut self, data: &str) {
        self.sock.write_all(data.as_bytes()).await.expect("write");
    }

    /// Everything up to and including `needle` (waits up to 20 s).
    pub async fn read_until(&mut self, needle: &str) -> String {
        self.try_read_until(needle, Duration::from_secs(20))
            .await
            .unwrap_or_else(|got| panic!("no {needle:?} within 20 s; got {got:?}"))
    }

    /// Up to `needle` and on to the end of the tag it is in (attributes come in any order).
    pub async fn read_tag(&mut self, needle: &str) -> String {
        let mut got = self.read_until(needle).await;
        got.push_str(&self.read_until(">").await);
        got
    }

    pub async fn try_read_until(&mut self, needle: &str, wait: Duration) -> Result<String, String> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(p) = find(&self.buf, needle.as_bytes()) {
                let end = p + needle.len();
                let out = String::from_utf8_lossy(&self.buf[..end]).to_string();
                self.buf.drain(..end);
                return Ok(out);
            }
            let mut chunk = [0u8; 8192];
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.sock.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => self.buf.extend_from_slice(&chunk[..n]),
                _ => return Err(String::from_utf8_lossy(&self.buf).to_string()),
            }
        }
    }
}
