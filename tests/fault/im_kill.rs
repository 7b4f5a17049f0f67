//! SIGKILL during a burst of roster writes and offline-message stores (the real `lilt`
//! binary). A client pipelines roster sets/removes and messages to an offline user, each
//! batch followed by a ping; the server is killed at a different moment each round and
//! restarted on the same data directory. Then every file parses, every acknowledged write
//! is there and nothing is there twice:
//! - a roster change is acknowledged by its iq result (or, for removing a contact that is
//!   not there, its item-not-found error); the contact's state after the restart is the
//!   last acknowledged one or one of the changes sent after it;
//! - a message is acknowledged by the result of a ping sent after it on the same stream
//!   (the core handles one session's stanzas in order, and stores synchronously); every
//!   acknowledged message is delivered exactly once when the user comes online, unacknowledged
//!   ones at most once.

use crate::common;
use crate::support;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use lilt::storage::serialization::{parse_list_source, parse_lua_source};
use rand::Rng;

use common::{minimal_config, ServerDir, TestServer};
use support::{WsClient, WsFrame};

const ROUNDS: usize = 6;
const CONTACTS: usize = 12;

/// A roster change: `Some(name)` sets the contact with that name, `None` removes it.
type Value = Option<String>;

#[derive(Default)]
struct Model {
    /// Contact -> state known before this round (after the last verification).
    roster: BTreeMap<String, Value>,
    /// This round's roster changes in sending order: (contact, value, acknowledged).
    ops: Vec<(String, Value, bool)>,
    /// Offline messages sent since the last verification -> acknowledged.
    messages: BTreeMap<u64, bool>,
    next: u64,
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {name}='"))? + name.len() + 3;
    let len = tag[start..].find('\'')?;
    Some(&tag[start..start + len])
}

fn all_files_parse(dir: &Path, round: usize) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            all_files_parse(&p, round);
            continue;
        }
        let text = std::fs::read_to_string(&p).expect("utf-8 data file");
        let parsed = match p.extension().and_then(|e| e.to_str()) {
            Some("dat") => parse_lua_source(&text).map(|_| ()),
            Some("list") => parse_list_source(&text).map(|_| ()),
            _ => Ok(()),
        };
        if let Err(e) = parsed {
            panic!("round {round}: {} does not parse: {e}", p.display());
        }
    }
}

async fn login(addr: SocketAddr, user: &str) -> WsClient {
    let mut ws = WsClient::connect(addr).await;
    ws.login(user, "pw", "r").await;
    ws
}

/// Texts received until the result of a ping with `id` (excluded).
async fn until_ping(ws: &mut WsClient, id: &str) -> Vec<String> {
    ws.send_text(&format!(
        "<iq xmlns='jabber:client' type='get' id='{id}'><ping xmlns='urn:xmpp:ping'/></iq>"
    ))
    .await;
    let mut seen = Vec::new();
    loop {
        let t = ws.next_text().await;
        if t.contains(&format!("id='{id}'")) {
            return seen;
        }
        seen.push(t);
    }
}

/// After a restart: alice's roster and bob's offline messages match what was acknowledged.
async fn verify(addr: SocketAddr, model: &mut Model, round: usize) {
    let mut alice = login(addr, "alice").await;
    let frames = until_ping(&mut alice, "p0").await;
    assert!(frames.is_empty(), "{frames:?}");
    alice
        .send_text(
            "<iq xmlns='jabber:client' type='get' id='g'><query xmlns='jabber:iq:roster'/></iq>",
        )
        .await;
    let reply = alice.next_text().await;
    let mut actual: HashMap<String, Value> = HashMap::new();
    for item in reply.split("<item").skip(1) {
        let jid = attr(item, "jid")
            .unwrap_or_else(|| panic!("jid in {reply}"))
            .to_owned();
        actual.insert(jid, attr(item, "name").map(str::to_owned));
    }
    let acked_ops = model.ops.iter().filter(|o| o.2).count();
    let acked_msgs = model.messages.values().filter(|a| **a).count();
    eprintln!(
        "round {round}: {} roster changes ({acked_ops} acknowledged), {} messages ({acked_msgs} acknowledged)",
        model.ops.len(),
        model.messages.len()
    );
    for c in 0..CONTACTS {
        let contact = format!("c{c}@example.test");
        let got = actual.get(&contact).cloned().unwrap_or(None);
        let ops: Vec<_> = model.ops.iter().filter(|o| o.0 == contact).collect();
        let last_acked = ops.iter().rposition(|o| o.2);
        let mut allowed: Vec<Value> = match last_acked {
            Some(i) => vec![ops[i].1.clone()],
            None => vec![model.roster.get(&contact).cloned().unwrap_or(None)],
        };
        let after = last_acked.map_or(0, |i| i + 1);
        allowed.extend(ops[after..].iter().map(|o| o.1.clone()));
        assert!(
            allowed.contains(&got),
            "round {round}: {contact} is {got:?}, acknowledged/in flight: {allowed:?}"
        );
        model.roster.insert(contact, got);
    }
    model.ops.clear();

    let mut bob = login(addr, "bob").await;
    bob.send_text("<presence xmlns='jabber:client'/>").await;
    let frames = until_ping(&mut bob, "p1").await;
    let mut seen = HashSet::new();
    for f in frames.iter().filter(|f| f.starts_with("<message")) {
        let n: u64 = attr(f, "id")
            .and_then(|id| id.strip_prefix('m'))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("round {round}: unexpected {f}"));
        assert!(seen.insert(n), "round {round}: message {n} delivered twice");
        assert!(
            model.messages.contains_key(&n),
            "round {round}: message {n} was not sent since the last check"
        );
    }
    for (n, acked) in &model.messages {
        assert!(
            !acked || seen.contains(n),
            "round {round}: acknowledged message {n} lost"
        );
    }
    eprintln!(
        "round {round}: {} messages delivered ({} unacknowledged ones among them)",
        seen.len(),
        seen.len() - acked_msgs
    );
    model.messages.clear();
    // Offline again before the next burst, and nothing more for bob.
    bob.send_text("<presence xmlns='jabber:client' type='unavailable'/>")
        .await;
    let rest = until_ping(&mut bob, "p2").await;
    assert!(
        rest.iter().all(|f| !f.starts_with("<message")),
        "round {round}: {rest:?}"
    );
}

/// Request id -> what its answer acknowledges: a roster change (index in `Model::ops`),
/// or every message numbered below n (a ping).
type Pending = HashMap<String, Result<usize, u64>>;

/// Sends four random roster changes or messages to bob, then a ping.
async fn send_batch(alice: &mut WsClient, model: &mut Model, pending: &mut Pending) {
    let mut rng = rand::thread_rng();
    for _ in 0..4 {
        let n = model.next;
        model.next += 1;
        if rng.gen_bool(0.5) {
            let contact = format!("c{}@example.test", rng.gen_range(0..CONTACTS));
            let (item, value) = if rng.gen_bool(0.25) {
                (
                    format!("<item jid='{contact}' subscription='remove'/>"),
                    None,
                )
            } else {
                let name = format!("v{n}");
                (format!("<item jid='{contact}' name='{name}'/>"), Some(name))
            };
            alice
                .send_text(&format!(
                    "<iq xmlns='jabber:client' type='set' id='r{n}'><query xmlns='jabber:iq:roster'>{item}</query></iq>"
                ))
                .await;
            pending.insert(format!("r{n}"), Ok(model.ops.len()));
            model.ops.push((contact, value, false));
        } else {
            alice
                .send_text(&format!(
                    "<message xmlns='jabber:client' to='bob@example.test' type='chat' id='m{n}'><body>{n}</body></message>"
                ))
                .await;
            model.messages.insert(n, false);
        }
    }
    let ping = format!("p{}", model.next);
    alice
        .send_text(&format!(
            "<iq xmlns='jabber:client' type='get' id='{ping}'><ping xmlns='urn:xmpp:ping'/></iq>"
        ))
        .await;
    pending.insert(ping, Err(model.next));
}

/// Reads up to `max` answers, marking what they acknowledge.
async fn read_acks(alice: &mut WsClient, model: &mut Model, pending: &mut Pending, max: usize) {
    let mut read = 0;
    while !pending.is_empty() && read < max {
        let t = match alice.next_frame().await {
            Some(WsFrame::Text(t)) => t,
            Some(WsFrame::Ping(_) | WsFrame::Pong(_)) => continue,
            other => panic!("unexpected {other:?}"),
        };
        read += 1;
        let id = attr(&t, "id").unwrap_or_default().to_owned();
        match pending.remove(&id) {
            Some(Ok(op)) => {
                let not_there = t.contains("<item-not-found") && model.ops[op].1.is_none();
                assert!(t.contains("type='result'") || not_there, "{t}");
                model.ops[op].2 = true;
            }
            Some(Err(upto)) => {
                for (_, acked) in model.messages.range_mut(..upto) {
                    *acked = true;
                }
            }
            None => panic!("unexpected {t}"),
        }
    }
}

/// `batches` batches each answered before the next, then eight sent at once of which
/// only `read_at_end` answers are read: the kill comes while those are being written.
async fn burst(addr: SocketAddr, model: &mut Model, batches: usize, read_at_end: usize) {
    let mut alice = login(addr, "alice").await;
    let mut pending = Pending::new();
    for _ in 0..batches {
        send_batch(&mut alice, model, &mut pending).await;
        read_acks(&mut alice, model, &mut pending, usize::MAX).await;
    }
    for _ in 0..8 {
        send_batch(&mut alice, model, &mut pending).await;
    }
    read_acks(&mut alice, model, &mut pending, read_at_end).await;
}

#[tokio::test]
async fn acknowledged_roster_writes_and_offline_messages_survive_sigkill() {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let data = data_dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let config = minimal_config("example.test").replace(
        "\"@DATA_PATH@\"",
        &format!("{:?}", data.display().to_string()),
    );
    let mut model = Model::default();
    let mut rng = rand::thread_rng();
    for round in 0..=ROUNDS {
        let dir = ServerDir::new(config.as_str());
        if round == 0 {
            dir.register("alice", "example.test", "pw");
            dir.register("bob", "example.test", "pw");
        }
        let mut server: TestServer = dir.start();
        let addr = SocketAddr::from(([127, 0, 0, 1], server.http_port()));
        if round > 0 {
            all_files_parse(&data, round);
            verify(addr, &mut model, round).await;
        }
        if round == ROUNDS {
            break;
        }
        let batches = rng.gen_range(3..40);
        burst(addr, &mut model, batches, rng.gen_range(0..24)).await;
        let status = server.signal_and_wait(libc::SIGKILL, Duration::from_secs(10));
        assert!(status.is_some(), "round {round}: the server died");
    }
}
