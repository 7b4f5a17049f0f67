//! A WebSocket test client that works against Lilt and Prosody alike: log in, send,
//! and collect everything up to a ping's answer.
#![allow(dead_code)]

use std::net::SocketAddr;

use crate::support::{WsClient, HOST};

pub struct Client {
    pub ws: WsClient,
    seq: u32,
}

impl Client {
    pub async fn login(addr: SocketAddr, user: &str, pw: &str, resource: &str) -> Client {
        let mut ws = WsClient::connect(addr).await;
        ws.login(user, pw, resource).await;
        let mut c = Client { ws, seq: 0 };
        // Available, so messages to the bare JID are delivered, not stored offline.
        c.exchange("<presence/>").await;
        c
    }

    pub async fn send(&mut self, xml: &str) {
        let end = xml.find([' ', '>', '/']).unwrap_or(xml.len());
        let xml = format!("{} xmlns='jabber:client'{}", &xml[..end], &xml[end..]);
        self.ws.send_text(&xml).await;
    }

    pub async fn sync(&mut self) -> Vec<String> {
        self.seq += 1;
        let id = format!("sync-{}", self.seq);
        self.send(&format!(
            "<iq type='get' id='{id}' to='{HOST}'><ping xmlns='urn:xmpp:ping'/></iq>"
        ))
        .await;
        let mut seen = Vec::new();
        loop {
            let t = self.ws.next_text().await;
            if t.contains(&format!("id='{id}'")) || t.contains(&format!("id=\"{id}\"")) {
                return seen;
            }
            seen.push(t);
        }
    }

    /// Collects frames until one containing `needle` (included) has arrived, then up to
    /// a sync point: for messages delivered once their archive write is durable.
    pub async fn until(&mut self, needle: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let t = self.ws.next_text().await;
            let found = t.contains(needle);
            seen.push(t);
            if found {
                break;
            }
        }
        seen.extend(self.sync().await);
        seen
    }

    /// Sends and collects what arrives up to the sync point, and for an IQ up to its own
    /// answer too: a store-backed answer (an archive query) may come after the ping's.
    pub async fn exchange(&mut self, xml: &str) -> Vec<String> {
        self.send(xml).await;
        let mut seen = self.sync().await;
        let iq_id = xml
            .starts_with("<iq")
            .then(|| xml.split("id='").nth(1).and_then(|r| r.split('\'').next()))
            .flatten();
        if let Some(id) = iq_id {
            let (single, double) = (format!("id='{id}'"), format!("id=\"{id}\""));
            let answered =
                |f: &String| f.starts_with("<iq") && (f.contains(&single) || f.contains(&double));
            while !seen.iter().any(answered) {
                seen.push(self.ws.next_text().await);
            }
        }
        seen
    }
}

pub fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(&s[i..j])
}

/// The bodies of the archived messages among `frames`, in order.
pub fn bodies(frames: &[String]) -> Vec<String> {
    frames
        .iter()
        .filter(|f| f.contains("<result"))
        .filter_map(|f| between(f, "<body>", "</body>").map(str::to_owned))
        .collect()
}
