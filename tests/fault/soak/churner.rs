//! The soak's churning sessions: log in, on one login in five change their roster
//! (checked by the result and the push), send numbered messages to random stable users,
//! close cleanly and come back.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rand::Rng;
use tokio_tungstenite::tungstenite::Message;

use super::clients::{
    login, next_text, roster_remove, roster_set, send, Counters, Expectations, EXPECT_WITHIN, HOST,
};

/// A roster set or remove right after login, checked by its result and its push.
async fn churner_roster_change(
    ws: &mut super::clients::Ws,
    user: &str,
    contact: &str,
    round: u64,
    c: &Counters,
) {
    let mut exp = Expectations::default();
    let _ = send(
        ws,
        "<iq xmlns='jabber:client' type='get' id='rg'><query xmlns='jabber:iq:roster'/></iq>"
            .into(),
    )
    .await;
    exp.add(&["id='rg'", "type='result'"]);
    let id = format!("r{round}");
    let change = if round.is_multiple_of(2) {
        exp.add(&["<iq", &format!("jid='{contact}'"), "subscription='remove'"]);
        roster_remove(&id, contact)
    } else {
        let name = format!("n{round}");
        exp.add(&[
            "<iq",
            &format!("jid='{contact}'"),
            &format!("name='{name}'"),
        ]);
        roster_set(&id, contact, &name)
    };
    if send(ws, change).await.is_none() {
        return;
    }
    // The answer: a result, or item-not-found for a remove with nothing to remove.
    exp.add(&[&format!("id='{id}'")]);
    c.roster_changes.fetch_add(1, Ordering::Relaxed);
    let started = Instant::now();
    while !exp.is_empty() && started.elapsed() < EXPECT_WITHIN {
        match tokio::time::timeout(Duration::from_secs(1), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                if t.starts_with("<iq") && t.contains("type='set'") {
                    c.pushes.fetch_add(1, Ordering::Relaxed);
                }
                if t.contains(&format!("id='{id}'")) && t.contains("type='error'") {
                    // Nothing to remove (the set before it never completed): no push.
                    exp.forget("subscription='remove'");
                }
                exp.seen(&t);
            }
            Ok(Some(Ok(_))) | Err(_) => {}
            Ok(_) => return,
        }
    }
    exp.overdue(user, Duration::ZERO, c);
}

/// Logs in, sometimes changes its roster, sends numbered messages to random stable users,
/// closes, comes back, until `stop`. Returns every (sender, number) it sent.
pub async fn churner(
    addr: SocketAddr,
    idx: usize,
    stables: usize,
    stop: Arc<AtomicBool>,
    c: Arc<Counters>,
) -> Vec<(String, u64)> {
    let user = format!("c{idx}");
    let contact = format!("s{}@{HOST}", idx % stables);
    let mut sent = Vec::new();
    let mut seq = 0u64;
    let mut round = 0u64;
    let mut roster_round = 0u64;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let Some(mut ws) = login(addr, idx, &user, &format!("r{round}")).await else {
            c.failures.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        c.logins.fetch_add(1, Ordering::Relaxed);
        if rand::thread_rng().gen_bool(0.2) {
            roster_round += 1;
            churner_roster_change(&mut ws, &user, &contact, roster_round, &c).await;
        }
        let burst = rand::thread_rng().gen_range(1..20);
        for _ in 0..burst {
            let (to, pause) = {
                let mut r = rand::thread_rng();
                (r.gen_range(0..stables), r.gen_range(10..300))
            };
            seq += 1;
            let key = format!("{user}-{seq}");
            let msg = format!("<message xmlns='jabber:client' to='s{to}@{HOST}' type='chat' id='{key}'><body>{user}:{seq}</body></message>");
            if send(&mut ws, msg).await.is_none() {
                break;
            }
            sent.push((user.clone(), seq));
            c.sent.fetch_add(1, Ordering::Relaxed);
            // Read whatever comes (presence, errors) without blocking the pace.
            let _ = tokio::time::timeout(Duration::from_millis(pause), ws.next()).await;
        }
        // A clean close: <close/>, then wait for the server's close.
        let _ = send(
            &mut ws,
            "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>".into(),
        )
        .await;
        while next_text(&mut ws).await.is_some() {}
        let pause = rand::thread_rng().gen_range(0..500);
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
    sent
}
