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

    pub async fn exchange(&mut self, xml: &str) -> Vec<String> {
        self.send(xml).await;
        self.sync().await
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
