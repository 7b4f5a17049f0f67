//! The soak's stable sessions, which stay online the whole run, receive the numbered
//! messages and change their rosters and presence (subscription cycles between pairs,
//! roster sets and removes, status broadcasts), each change checked by the pushes and
//! presences it must cause; and what all clients share: login from a spread of loopback
//! sources, counters, and the expected-stanza bookkeeping.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

pub const HOST: &str = "example.test";
/// How long a push or presence a change must cause may take to arrive.
pub const EXPECT_WITHIN: Duration = Duration::from_secs(30);
/// Loopback source addresses the clients spread over (127.0.0.1 ..= 127.0.0.N), so that
/// thousands of connections and their TIME_WAIT states do not exhaust one address's ports.
const SOURCES: usize = 16;

pub type Ws = WebSocketStream<TcpStream>;

/// (sender, sequence number) -> times received.
pub type Ledger = Arc<Mutex<HashMap<(String, u64), u32>>>;

#[derive(Default)]
pub struct Counters {
    pub sent: AtomicU64,
    pub logins: AtomicU64,
    pub presences: AtomicU64,
    pub failures: AtomicU64,
    pub roster_changes: AtomicU64,
    pub subscriptions: AtomicU64,
    pub pushes: AtomicU64,
    /// Checked pushes/presences/results that did not come within EXPECT_WITHIN.
    pub missing: AtomicU64,
    pub missing_examples: Mutex<Vec<String>>,
}

impl Counters {
    fn missed(&self, what: String) {
        self.missing.fetch_add(1, Ordering::Relaxed);
        let mut ex = self.missing_examples.lock().expect("examples");
        if ex.len() < 10 {
            ex.push(what);
        }
    }
}

pub fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {name}='"))? + name.len() + 3;
    let len = tag[start..].find('\'')?;
    Some(&tag[start..start + len])
}

pub async fn next_text(ws: &mut Ws) -> Option<String> {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return Some(t),
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) | Err(_) => return None,
            Ok(Some(Ok(_))) => continue,
        }
    }
}

pub async fn send(ws: &mut Ws, text: String) -> Option<()> {
    ws.send(Message::Text(text)).await.ok()
}

fn source(idx: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + (idx % SOURCES) as u8))
}

/// Connects from the client's loopback source, logs in with PLAIN, binds `resource` and
/// sends initial presence; None on any failure.
pub async fn login(addr: SocketAddr, idx: usize, user: &str, resource: &str) -> Option<Ws> {
    let sock = TcpSocket::new_v4().ok()?;
    sock.bind(SocketAddr::new(source(idx), 0)).ok()?;
    let tcp = sock.connect(addr).await.ok()?;
    let mut req = format!("ws://{addr}/xmpp-websocket")
        .into_client_request()
        .ok()?;
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", "xmpp".parse().ok()?);
    let (mut ws, _) = tokio_tungstenite::client_async(req, tcp).await.ok()?;
    let open =
        format!("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='{HOST}' version='1.0'/>");
    send(&mut ws, open.clone()).await?;
    next_text(&mut ws).await?;
    next_text(&mut ws).await?;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0pw"));
    send(
        &mut ws,
        format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{auth}</auth>"),
    )
    .await?;
    if !next_text(&mut ws).await?.contains("<success") {
        return None;
    }
    send(&mut ws, open).await?;
    next_text(&mut ws).await?;
    next_text(&mut ws).await?;
    send(&mut ws, format!("<iq xmlns='jabber:client' type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{resource}</resource></bind></iq>")).await?;
    if !next_text(&mut ws).await?.contains("type='result'") {
        return None;
    }
    send(&mut ws, "<presence xmlns='jabber:client'/>".into()).await?;
    Some(ws)
}

/// Pulls `from` and `n` out of `<body>from:n</body>`.
fn numbered(text: &str) -> Option<(String, u64)> {
    let start = text.find("<body>")? + 6;
    let end = text[start..].find("</body>")? + start;
    let (from, n) = text[start..end].split_once(':')?;
    Some((from.to_owned(), n.parse().ok()?))
}

/// A stanza that a change must cause: all `needles` in one frame.
struct Expect {
    needles: Vec<String>,
    since: Instant,
}

#[derive(Default)]
pub struct Expectations(Vec<Expect>);

impl Expectations {
    pub fn add(&mut self, needles: &[&str]) {
        self.0.push(Expect {
            needles: needles.iter().map(|n| (*n).to_owned()).collect(),
            since: Instant::now(),
        });
    }

    /// Crosses off the first expectation `frame` meets.
    pub fn seen(&mut self, frame: &str) {
        if let Some(i) = self
            .0
            .iter()
            .position(|e| e.needles.iter().all(|n| frame.contains(n.as_str())))
        {
            self.0.remove(i);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Drops the expectations with a needle containing `part`.
    pub fn forget(&mut self, part: &str) {
        self.0
            .retain(|e| !e.needles.iter().any(|n| n.contains(part)));
    }

    /// Reports (and forgets) expectations older than `within`.
    pub fn overdue(&mut self, user: &str, within: Duration, c: &Counters) {
        self.0.retain(|e| {
            let late = e.since.elapsed() > within;
            if late {
                c.missed(format!("{user}: {:?}", e.needles));
            }
            !late
        });
    }
}

pub fn roster_set(id: &str, jid: &str, name: &str) -> String {
    format!("<iq xmlns='jabber:client' type='set' id='{id}'><query xmlns='jabber:iq:roster'><item jid='{jid}' name='{name}'><group>soak</group></item></query></iq>")
}

pub fn roster_remove(id: &str, jid: &str) -> String {
    format!("<iq xmlns='jabber:client' type='set' id='{id}'><query xmlns='jabber:iq:roster'><item jid='{jid}' subscription='remove'/></query></iq>")
}

fn presence_to(ptype: &str, to: &str) -> String {
    format!("<presence xmlns='jabber:client' type='{ptype}' to='{to}'/>")
}

/// A stable session's next change and the stanzas it must cause.
async fn stable_step(
    ws: &mut Ws,
    me: &str,
    idx: usize,
    partner: Option<&str>,
    step: u64,
    exp: &mut Expectations,
    c: &Counters,
) -> Option<()> {
    let item = format!("x{idx}@{HOST}");
    match (step % 4, partner) {
        (0, Some(p)) => {
            send(ws, presence_to("subscribe", p)).await?;
            exp.add(&["<iq", &format!("jid='{p}'"), "ask='subscribe'"]);
            exp.add(&["<iq", &format!("jid='{p}'"), "subscription='to'"]);
            exp.add(&["<presence", &format!("from='{p}/stable'")]);
            c.subscriptions.fetch_add(1, Ordering::Relaxed);
        }
        (2, Some(p)) => {
            send(ws, presence_to("unsubscribe", p)).await?;
            exp.add(&["<iq", &format!("jid='{p}'"), "subscription='none'"]);
            c.subscriptions.fetch_add(1, Ordering::Relaxed);
        }
        (0 | 1, _) => {
            let (id, name) = (format!("rs{step}"), format!("n{step}"));
            send(ws, roster_set(&id, &item, &name)).await?;
            exp.add(&[&format!("id='{id}'"), "type='result'"]);
            exp.add(&["<iq", &format!("jid='{item}'"), &format!("name='{name}'")]);
            // A status change: reflected to the sender (and to subscribers).
            send(
                ws,
                format!("<presence xmlns='jabber:client'><status>{name}</status></presence>"),
            )
            .await?;
            exp.add(&[
                "<presence",
                &format!("from='{me}/stable'"),
                &format!("<status>{name}</status>"),
            ]);
            c.roster_changes.fetch_add(1, Ordering::Relaxed);
        }
        _ => {
            let id = format!("rr{step}");
            send(ws, roster_remove(&id, &item)).await?;
            exp.add(&[&format!("id='{id}'"), "type='result'"]);
            exp.add(&["<iq", &format!("jid='{item}'"), "subscription='remove'"]);
            c.roster_changes.fetch_add(1, Ordering::Relaxed);
        }
    }
    Some(())
}

/// A session that stays online: counts the numbered messages it receives into `ledger`,
/// approves subscription requests, and every 5–20 s makes its next change once the
/// previous one's stanzas have all arrived. Even-numbered stables subscribe to and
/// unsubscribe from the next one in turns.
pub async fn stable(
    addr: SocketAddr,
    idx: usize,
    n_stable: usize,
    ledger: Ledger,
    stop: Arc<AtomicBool>,
    c: Arc<Counters>,
) {
    let user = format!("s{idx}");
    let me = format!("{user}@{HOST}");
    let Some(mut ws) = login(addr, idx, &user, "stable").await else {
        c.failures.fetch_add(1, Ordering::Relaxed);
        panic!("stable session {user} could not log in");
    };
    c.logins.fetch_add(1, Ordering::Relaxed);
    // A roster get makes this resource "interested": it gets roster pushes.
    let _ = send(
        &mut ws,
        "<iq xmlns='jabber:client' type='get' id='rg'><query xmlns='jabber:iq:roster'/></iq>"
            .into(),
    )
    .await;
    let partner =
        (idx.is_multiple_of(2) && idx + 1 < n_stable).then(|| format!("s{}@{HOST}", idx + 1));
    let mut exp = Expectations::default();
    let mut step = if partner.is_some() { 0 } else { 1 };
    let pause = || Duration::from_millis(rand::thread_rng().gen_range(5_000..20_000));
    let mut next_step = Instant::now() + pause();
    let mut stopped_at: Option<Instant> = None;
    loop {
        match tokio::time::timeout(Duration::from_millis(500), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                if t.starts_with("<message") {
                    if let Some(key) = numbered(&t) {
                        *ledger.lock().expect("ledger").entry(key).or_insert(0) += 1;
                    }
                } else if t.starts_with("<presence") {
                    c.presences.fetch_add(1, Ordering::Relaxed);
                    if t.contains("type='subscribe'") {
                        if let Some(from) = attr(&t, "from").map(str::to_owned) {
                            let _ = send(&mut ws, presence_to("subscribed", &from)).await;
                            exp.add(&["<iq", &format!("jid='{from}'"), "subscription='from'"]);
                        }
                    }
                } else if t.starts_with("<iq") && t.contains("type='set'") {
                    c.pushes.fetch_add(1, Ordering::Relaxed);
                }
                exp.seen(&t);
            }
            Ok(Some(Ok(_))) => {}
            Ok(_) => panic!("stable session {user} was disconnected"),
            Err(_) => {}
        }
        if stop.load(Ordering::Relaxed) {
            // No new changes; let the last one's stanzas arrive.
            let since = *stopped_at.get_or_insert_with(Instant::now);
            if exp.is_empty() || since.elapsed() > EXPECT_WITHIN {
                exp.overdue(&user, Duration::ZERO, &c);
                break;
            }
            continue;
        }
        exp.overdue(&user, EXPECT_WITHIN, &c);
        if Instant::now() >= next_step && exp.is_empty() {
            if stable_step(&mut ws, &me, idx, partner.as_deref(), step, &mut exp, &c)
                .await
                .is_none()
            {
                panic!("stable session {user} could not send");
            }
            step += if partner.is_some() { 1 } else { 2 };
            next_step = Instant::now() + pause();
        }
    }
    let _ = send(
        &mut ws,
        "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>".into(),
    )
    .await;
}
