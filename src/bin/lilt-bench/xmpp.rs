//! A tiny XMPP-over-WebSocket client: open, SASL (SCRAM-SHA-1 or PLAIN), restart, bind.
//!
//! RFC 7395 puts exactly one top-level element in each frame, so the bench inspects frames
//! with string scans instead of a full XML parser; it only ever parses markup of known shape.

use std::net::Ipv4Addr;
use std::time::Duration;

use base64::Engine;

use crate::error::BenchError;
use crate::scram::{verify_success, KeyCache, ScramClient};
use crate::ws::{Target, WsClient};

pub const FRAMING_NS: &str = "urn:ietf:params:xml:ns:xmpp-framing";
pub const SASL_NS: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Which SASL mechanism sessions use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mechanism {
    #[value(name = "SCRAM-SHA-1")]
    ScramSha1,
    #[value(name = "PLAIN")]
    Plain,
}

/// Everything a session needs to log in; shared by all sessions of a run.
pub struct Ctx {
    pub target: Target,
    pub domain: String,
    pub keys: KeyCache,
    pub mechanism: Mechanism,
    pub source_addrs: u8,
    pub timeout: Duration,
}

impl Ctx {
    /// Bench user names: `bench0000`, `bench0001`, ...
    pub fn username(index: usize) -> String {
        format!("bench{index:04}")
    }

    pub fn full_jid(&self, index: usize) -> String {
        format!("{}@{}/bench", Ctx::username(index), self.domain)
    }

    pub fn bare_jid(&self, index: usize) -> String {
        format!("{}@{}", Ctx::username(index), self.domain)
    }

    /// Spreads sessions over 127.0.0.1..=127.0.0.k when the server is on 127.0.0.1.
    pub fn source_for(&self, index: usize) -> Option<Ipv4Addr> {
        let loopback = self.target.addr.ip() == std::net::IpAddr::V4(Ipv4Addr::LOCALHOST);
        (loopback && self.source_addrs > 1).then(|| {
            Ipv4Addr::new(
                127,
                0,
                0,
                1 + (index % usize::from(self.source_addrs)) as u8,
            )
        })
    }
}

/// A bound session.
pub struct Session {
    pub ws: WsClient,
    pub index: usize,
}

/// Name of the first element of a frame (`iq`, `message`, `stream:features`, ...).
pub fn tag_name(frame: &str) -> &str {
    let s = frame.trim_start();
    let s = s.strip_prefix('<').unwrap_or(s);
    let end = s
        .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
        .unwrap_or(s.len());
    &s[..end]
}

/// Value of attribute `name` on the frame's first start tag (no entity decoding).
pub fn attr<'a>(frame: &'a str, name: &str) -> Option<&'a str> {
    let head = &frame[..frame.find('>').unwrap_or(frame.len())];
    let mut from = 0;
    while let Some(i) = head[from..].find(name) {
        let at = from + i;
        from = at + name.len();
        let before_ok = at > 0 && head.as_bytes()[at - 1].is_ascii_whitespace();
        let rest = &head[from..];
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let quote = rest[1..].chars().next()?;
        let value = &rest[2..];
        return value.find(quote).map(|end| &value[..end]);
    }
    None
}

/// Text content of the first `<tag ...>text</tag>` in the frame.
pub fn child_text<'a>(frame: &'a str, tag: &str) -> Option<&'a str> {
    let open = frame.find(&format!("<{tag}"))?;
    let after = &frame[open + tag.len() + 1..];
    if !after.starts_with(['>', ' ', '\t', '\n', '/']) {
        return None;
    }
    let gt = after.find('>')?;
    if after[..gt].ends_with('/') {
        return Some("");
    }
    let body = &after[gt + 1..];
    body.find(&format!("</{tag}>")).map(|end| &body[..end])
}

async fn recv(
    ws: &mut WsClient,
    timeout: Duration,
    what: &'static str,
) -> Result<String, BenchError> {
    match tokio::time::timeout(timeout, ws.recv_text()).await {
        Ok(r) => r,
        Err(_) => Err(BenchError::Timeout(what)),
    }
}

/// Opens the stream and returns the features frame.
async fn open_stream(ctx: &Ctx, ws: &mut WsClient) -> Result<String, BenchError> {
    let open = format!(
        "<open xmlns='{FRAMING_NS}' to='{}' version='1.0'/>",
        ctx.domain
    );
    ws.send_text(&open).await?;
    let reply = recv(ws, ctx.timeout, "stream open").await?;
    if tag_name(&reply) != "open" {
        return Err(BenchError::protocol("opening the stream", &reply));
    }
    let features = recv(ws, ctx.timeout, "stream features").await?;
    if !tag_name(&features).ends_with("features") {
        return Err(BenchError::protocol("waiting for features", &features));
    }
    Ok(features)
}

async fn authenticate(
    ctx: &Ctx,
    ws: &mut WsClient,
    user: &str,
    features: &str,
) -> Result<(), BenchError> {
    let mech_name = match ctx.mechanism {
        Mechanism::ScramSha1 => "SCRAM-SHA-1",
        Mechanism::Plain => "PLAIN",
    };
    if !features.contains(&format!(">{mech_name}<")) {
        return Err(BenchError::Auth(format!(
            "{mech_name} not offered: {features}"
        )));
    }
    match ctx.mechanism {
        Mechanism::Plain => {
            let msg = B64.encode(format!("\0{user}\0{}", ctx.keys.password()));
            ws.send_text(&format!(
                "<auth xmlns='{SASL_NS}' mechanism='PLAIN'>{msg}</auth>"
            ))
            .await?;
            let reply = recv(ws, ctx.timeout, "SASL outcome").await?;
            if tag_name(&reply) != "success" {
                return Err(BenchError::Auth(reply));
            }
            Ok(())
        }
        Mechanism::ScramSha1 => {
            let (client, first) = ScramClient::start(user);
            ws.send_text(&format!(
                "<auth xmlns='{SASL_NS}' mechanism='SCRAM-SHA-1'>{first}</auth>"
            ))
            .await?;
            let challenge = recv(ws, ctx.timeout, "SASL challenge").await?;
            if tag_name(&challenge) != "challenge" {
                return Err(BenchError::Auth(challenge));
            }
            let data = child_text(&challenge, "challenge").unwrap_or_default();
            let (response, server_sig) = client.finish(data, &ctx.keys)?;
            ws.send_text(&format!(
                "<response xmlns='{SASL_NS}'>{response}</response>"
            ))
            .await?;
            let reply = recv(ws, ctx.timeout, "SASL outcome").await?;
            if tag_name(&reply) != "success" {
                return Err(BenchError::Auth(reply));
            }
            verify_success(
                child_text(&reply, "success").unwrap_or_default(),
                &server_sig,
            )
        }
    }
}

/// Connects session `index` and authenticates, restarts and binds resource `bench`;
/// sends initial presence when `presence` is set.
pub async fn login(ctx: &Ctx, index: usize, presence: bool) -> Result<Session, BenchError> {
    let user = Ctx::username(index);
    let mut ws = WsClient::connect(&ctx.target, ctx.source_for(index), Some("xmpp")).await?;
    let features = open_stream(ctx, &mut ws).await?;
    authenticate(ctx, &mut ws, &user, &features).await?;
    let features = open_stream(ctx, &mut ws).await?;
    if !features.contains("urn:ietf:params:xml:ns:xmpp-bind") {
        return Err(BenchError::protocol("expecting bind feature", &features));
    }
    ws.send_text(
        "<iq type='set' id='bind1' xmlns='jabber:client'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
         <resource>bench</resource></bind></iq>",
    )
    .await?;
    loop {
        let reply = recv(&mut ws, ctx.timeout, "bind result").await?;
        if tag_name(&reply) == "iq" && attr(&reply, "id") == Some("bind1") {
            if attr(&reply, "type") != Some("result") {
                return Err(BenchError::protocol("binding", &reply));
            }
            break;
        }
    }
    if presence {
        ws.send_text("<presence xmlns='jabber:client'/>").await?;
    }
    Ok(Session { ws, index })
}

impl Session {
    /// Next frame, failing after `timeout`.
    pub async fn recv(
        &mut self,
        timeout: Duration,
        what: &'static str,
    ) -> Result<String, BenchError> {
        recv(&mut self.ws, timeout, what).await
    }

    /// Sends `<close/>` and waits (bounded) for the server to close its side.
    pub async fn close(mut self) {
        let _ = self
            .ws
            .send_text(&format!("<close xmlns='{FRAMING_NS}'/>"))
            .await;
        let wait = async { while self.ws.recv().await.is_ok() {} };
        let _ = tokio::time::timeout(Duration::from_secs(3), wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_reads_either_quote_and_skips_name_suffixes() {
        let f = "<iq xmlns='jabber:client' xid='x' id=\"b1\" type='result'><bind/></iq>";
        assert_eq!(attr(f, "id"), Some("b1"));
        assert_eq!(attr(f, "type"), Some("result"));
        assert_eq!(attr(f, "to"), None);
        assert_eq!(tag_name(f), "iq");
    }

    #[test]
    fn child_text_handles_empty_and_prefixed_elements() {
        assert_eq!(child_text("<success xmlns='x'/>", "success"), Some(""));
        assert_eq!(
            child_text("<message><body>7:99</body></message>", "body"),
            Some("7:99")
        );
        assert_eq!(
            child_text("<message><bodyx>1</bodyx></message>", "body"),
            None
        );
        assert_eq!(
            tag_name("<stream:features xmlns:stream='s'>"),
            "stream:features"
        );
    }
}
