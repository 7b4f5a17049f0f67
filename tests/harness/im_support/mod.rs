//! Helpers for the IM tests: a server with roster, carbons and blocklist loaded, and a
//! logged-in client that can send stanzas and collect what arrives up to a sync point
//! (a ping answered by the core thread after everything queued before it).
#![allow(dead_code)]

use std::path::Path;

use super::support::{base_config, Server, WsClient};

pub const MODULES_LINE: &str = r#"modules_enabled = { "websocket", "http", "ping", "disco" }"#;

/// The test config with the IM modules enabled.
pub fn im_config() -> String {
    base_config("").replace(
        MODULES_LINE,
        r#"modules_enabled = { "websocket", "http", "ping", "disco", "roster", "carbons", "blocklist" }"#,
    )
}

/// The IM config storing data under `data` (an existing directory).
pub fn im_config_at(data: &Path) -> String {
    im_config().replace(
        "data_path = \"data\"",
        &format!("data_path = {:?}", data.display().to_string()),
    )
}

pub async fn im_server() -> Server {
    let s = Server::start(&im_config()).await;
    s.add_user("alice", "pw");
    s.add_user("bob", "pw");
    s
}

pub struct Client {
    pub ws: WsClient,
    pub jid: String,
    seq: u32,
}

impl Client {
    pub async fn login(server: &Server, user: &str, resource: &str) -> Client {
        Self::login_with(server, user, "pw", resource).await
    }

    pub async fn login_with(server: &Server, user: &str, pw: &str, resource: &str) -> Client {
        let mut ws = WsClient::connect(server.addr).await;
        let jid = ws.login(user, pw, resource).await;
        Client { ws, jid, seq: 0 }
    }

    pub async fn send(&mut self, xml: &str) {
        let xml = if xml.contains("xmlns='jabber:client'") {
            xml.to_owned()
        } else {
            // Stanzas over WebSocket must carry the client namespace themselves.
            let end = xml.find([' ', '>', '/']).unwrap_or(xml.len());
            format!("{} xmlns='jabber:client'{}", &xml[..end], &xml[end..])
        };
        self.ws.send_text(&xml).await;
    }

    /// Everything that arrives before the answer to a fresh ping (the ping's own answer
    /// is left out).
    pub async fn sync(&mut self) -> Vec<String> {
        self.seq += 1;
        let id = format!("sync-{}", self.seq);
        self.send(&format!(
            "<iq type='get' id='{id}' to='example.test'><ping xmlns='urn:xmpp:ping'/></iq>"
        ))
        .await;
        let mut seen = Vec::new();
        loop {
            let t = self.ws.next_text().await;
            // An error counts too (e.g. when the user blocked the server's domain).
            if t.contains(&format!("id='{id}'")) {
                return seen;
            }
            seen.push(t);
        }
    }

    /// Sends and collects what arrives up to the sync point. An IQ's own answer is
    /// waited for too: a store-backed answer (a roster set) may come after the ping's.
    pub async fn exchange(&mut self, xml: &str) -> Vec<String> {
        self.send(xml).await;
        let mut seen = self.sync().await;
        let iq_id = xml
            .starts_with("<iq")
            .then(|| xml.split("id='").nth(1).and_then(|r| r.split('\'').next()))
            .flatten()
            .map(|id| format!("id='{id}'"));
        if let Some(id) = iq_id {
            while !seen.iter().any(|f| f.contains(&id)) {
                seen.push(self.ws.next_text().await);
            }
        }
        seen
    }

    /// Reads until a frame containing all `needles` arrives (others are skipped).
    pub async fn expect(&mut self, needles: &[&str]) -> String {
        for _ in 0..50 {
            let t = self.ws.next_text().await;
            if needles.iter().all(|n| t.contains(n)) {
                return t;
            }
        }
        panic!("no frame with {needles:?}");
    }
}

/// The one frame among `frames` containing all `needles`.
pub fn find<'a>(frames: &'a [String], needles: &[&str]) -> Option<&'a String> {
    frames
        .iter()
        .find(|f| needles.iter().all(|n| f.contains(n)))
}

pub fn must_find<'a>(frames: &'a [String], needles: &[&str]) -> &'a String {
    find(frames, needles).unwrap_or_else(|| panic!("no frame with {needles:?} in {frames:#?}"))
}
