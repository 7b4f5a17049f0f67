//! `bosh-pingpong`: `pingpong` over BOSH (XEP-0206) at `/http-bind` of the `--url`'s
//! server. Each session keeps one HTTP/1.1 keep-alive connection and one request in
//! flight: the initiator's request carries its message and is held until the echo comes
//! back; the responder's request is held until a message arrives, and the next carries
//! the echo. Logins use PLAIN. Measures delivered messages/s and the round trip.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use super::{begin_measure, end_measure, micros_since, RunOpts, Tally};
use crate::error::BenchError;
use crate::stats::Outcome;
use crate::xmpp::Ctx;

const NS: &str = "http://jabber.org/protocol/httpbind";

/// One BOSH session over one keep-alive connection.
struct Bosh {
    stream: TcpStream,
    buf: Vec<u8>,
    host: String,
    sid: String,
    rid: u64,
}

impl Bosh {
    async fn post(&mut self, body: &str, timeout: Duration) -> Result<String, BenchError> {
        let req = format!(
            "POST /http-bind HTTP/1.1\r\nHost: {}\r\nContent-Type: text/xml; charset=utf-8\r\n\
             Content-Length: {}\r\n\r\n{body}",
            self.host,
            body.len()
        );
        self.stream.write_all(req.as_bytes()).await?;
        tokio::time::timeout(timeout, self.read_response())
            .await
            .map_err(|_| BenchError::Timeout("bosh response"))?
    }

    async fn read_response(&mut self) -> Result<String, BenchError> {
        loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).to_ascii_lowercase();
                let len = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .ok_or_else(|| BenchError::protocol("bosh http", &head))?;
                if self.buf.len() >= end + 4 + len {
                    let body =
                        String::from_utf8_lossy(&self.buf[end + 4..end + 4 + len]).into_owned();
                    self.buf.drain(..end + 4 + len);
                    return Ok(body);
                }
            }
            let mut chunk = [0u8; 8192];
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(BenchError::Closed);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn send(&mut self, payload: &str, timeout: Duration) -> Result<String, BenchError> {
        let rid = self.rid;
        self.rid += 1;
        let body = format!(
            "<body xmlns='{NS}' rid='{rid}' sid='{}'>{payload}</body>",
            self.sid
        );
        self.post(&body, timeout).await
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn attr_of(xml: &str, name: &str) -> Option<String> {
    let at = xml.find(&format!(" {name}="))? + name.len() + 2;
    let q = xml[at..].chars().next()?;
    let rest = &xml[at + 1..];
    Some(rest[..rest.find(q)?].to_owned())
}

async fn login(ctx: &Ctx, index: usize, password: &str) -> Result<Bosh, BenchError> {
    let stream = TcpStream::connect(ctx.target.addr).await?;
    stream.set_nodelay(true)?;
    let mut b = Bosh {
        stream,
        buf: Vec::new(),
        host: ctx.target.host_header.clone(),
        sid: String::new(),
        rid: 1000 + index as u64 * 7,
    };
    let t = ctx.timeout;
    let create = format!(
        "<body xmlns='{NS}' rid='{}' to='{}' wait='60' hold='1' ver='1.6' \
         xmlns:xmpp='urn:xmpp:xbosh' xmpp:version='1.0'/>",
        b.rid, ctx.domain
    );
    b.rid += 1;
    let mut features = b.post(&create, t).await?;
    b.sid =
        attr_of(&features, "sid").ok_or_else(|| BenchError::protocol("bosh create", &features))?;
    if !features.contains("mechanism") {
        features = b.send("", t).await?;
    }
    if !features.contains("PLAIN") {
        return Err(BenchError::Auth(format!("PLAIN not offered: {features}")));
    }
    let user = Ctx::username(index);
    let creds = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
    let auth =
        format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{creds}</auth>");
    let r = b.send(&auth, t).await?;
    if !r.contains("<success") {
        return Err(BenchError::Auth(r));
    }
    let rid = b.rid;
    b.rid += 1;
    let restart = format!(
        "<body xmlns='{NS}' rid='{rid}' sid='{}' xmpp:restart='true' xmlns:xmpp='urn:xmpp:xbosh'/>",
        b.sid
    );
    let mut r = b.post(&restart, t).await?;
    if !r.contains("xmpp-bind") {
        r = b.send("", t).await?;
    }
    if !r.contains("xmpp-bind") {
        return Err(BenchError::protocol("bosh restart", &r));
    }
    let bind = "<iq type='set' id='b' xmlns='jabber:client'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>bench</resource></bind></iq>";
    let mut r = b.send(bind, t).await?;
    if !r.contains("<jid>") {
        r = b.send("", t).await?;
    }
    if !r.contains("<jid>") {
        return Err(BenchError::protocol("bosh bind", &r));
    }
    Ok(b)
}

fn message(to: &str, body: &str) -> String {
    format!("<message to='{to}' type='chat' xmlns='jabber:client'><body>{body}</body></message>")
}

/// The bodies of the messages in one response.
fn bodies(resp: &str) -> Vec<&str> {
    resp.split("<body>")
        .skip(1)
        .filter_map(|s| s.split_once("</body>").map(|p| p.0))
        .collect()
}

async fn initiator(
    ctx: &Ctx,
    b: &mut Bosh,
    to: &str,
    stop: &AtomicBool,
    epoch: Instant,
    t: &mut Tally,
) -> Result<(), BenchError> {
    let mut payload = message(to, &format!("0:{}", micros_since(epoch)));
    t.sent += 1;
    let mut seq = 1u64;
    loop {
        let resp = b.send(&payload, ctx.timeout).await?;
        payload = String::new();
        for body in bodies(&resp) {
            if let Some((_, ts)) = body.split_once(':') {
                if let Ok(ts) = ts.parse::<u64>() {
                    t.latency.record_us(micros_since(epoch).saturating_sub(ts));
                }
                t.received += 1;
                if !stop.load(Ordering::Relaxed) {
                    t.ops += 1;
                    payload = message(to, &format!("{seq}:{}", micros_since(epoch)));
                    seq += 1;
                    t.sent += 1;
                }
            }
        }
        if payload.is_empty() && t.received == t.sent {
            b.send(&message(to, "end"), Duration::from_millis(200))
                .await
                .ok();
            return Ok(());
        }
    }
}

async fn responder(
    ctx: &Ctx,
    b: &mut Bosh,
    to: &str,
    stop: &AtomicBool,
    t: &mut Tally,
) -> Result<(), BenchError> {
    let mut payload = String::new();
    loop {
        let resp = b.send(&payload, ctx.timeout).await?;
        payload.clear();
        for body in bodies(&resp) {
            if body == "end" {
                return Ok(());
            }
            t.received += 1;
            if !stop.load(Ordering::Relaxed) {
                t.ops += 1;
            }
            payload.push_str(&message(to, body));
            t.sent += 1;
        }
    }
}

pub async fn run(ctx: Arc<Ctx>, opts: &RunOpts, password: &str) -> Outcome {
    let mut out = Outcome {
        scenario: "bosh-pingpong".into(),
        unit: "messages",
        sessions: opts.users,
        ..Default::default()
    };
    let started = Instant::now();
    let mut sessions = Vec::with_capacity(opts.users);
    for i in 0..opts.users {
        match login(&ctx, i, password).await {
            Ok(b) => {
                out.connect.ok += 1;
                sessions.push(Some(b));
            }
            Err(e) => {
                out.connect.failed += 1;
                out.errors.push(format!("bosh login: {e}"));
                sessions.push(None);
            }
        }
    }
    out.connect.secs = started.elapsed().as_secs_f64();
    let stop = Arc::new(AtomicBool::new(false));
    let mark = begin_measure(opts, &mut out);
    let epoch = mark.0;
    let mut set = JoinSet::new();
    for pair in 0..sessions.len() / 2 {
        let (a, b) = (2 * pair, 2 * pair + 1);
        let (Some(mut sa), Some(mut sb)) = (sessions[a].take(), sessions[b].take()) else {
            continue;
        };
        let (ctx_a, stop_a, to_b) = (ctx.clone(), stop.clone(), ctx.full_jid(b));
        set.spawn(async move {
            let mut t = Tally::default();
            let r = initiator(&ctx_a, &mut sa, &to_b, &stop_a, epoch, &mut t).await;
            t.error = r.err().map(|e| format!("bosh pingpong sender: {e}"));
            t
        });
        let (ctx_b, stop_b, to_a) = (ctx.clone(), stop.clone(), ctx.full_jid(a));
        set.spawn(async move {
            let mut t = Tally::default();
            let r = responder(&ctx_b, &mut sb, &to_a, &stop_b, &mut t).await;
            t.error = r.err().map(|e| format!("bosh pingpong echoer: {e}"));
            t
        });
    }
    tokio::time::sleep(opts.duration).await;
    stop.store(true, Ordering::Relaxed);
    let measured = mark.0.elapsed().as_secs_f64();
    let at_stop = opts.server.sample();
    while let Some(joined) = set.join_next().await {
        if let Ok(t) = joined {
            t.merge_into(&mut out);
        }
    }
    end_measure(opts, &mut out, mark);
    out.secs = measured;
    out.server_after = at_stop;
    out.extra.insert("pairs".into(), (opts.users / 2).into());
    out
}
