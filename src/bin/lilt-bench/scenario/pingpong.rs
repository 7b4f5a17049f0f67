//! `pingpong`: session 2k sends chat messages to session 2k+1's full JID, which echoes each
//! back; `window` messages are in flight per pair. Measures delivered messages/s and the
//! round trip (two server hops) from the timestamp carried in the body.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tokio::task::JoinSet;

use super::{
    begin_measure, close_all, connect_all, end_measure, join_tallies, micros_since, RunOpts, Tally,
};
use crate::error::BenchError;
use crate::stats::Outcome;
use crate::xmpp::{attr, child_text, tag_name, Ctx, Session};

fn message(to: &str, body: &str) -> String {
    format!("<message to='{to}' type='chat' xmlns='jabber:client'><body>{body}</body></message>")
}

async fn initiator(
    ctx: &Ctx,
    s: &mut Session,
    peer: usize,
    window: usize,
    stop: &AtomicBool,
    epoch: Instant,
    t: &mut Tally,
) -> Result<(), BenchError> {
    let to = ctx.full_jid(peer);
    let mut seq = 0u64;
    let mut outstanding = 0usize;
    for _ in 0..window.max(1) {
        s.ws.send_text(&message(&to, &format!("{seq}:{}", micros_since(epoch))))
            .await?;
        seq += 1;
        outstanding += 1;
        t.sent += 1;
    }
    while outstanding > 0 {
        let f = s.recv(ctx.timeout, "pingpong reply").await?;
        if tag_name(&f) != "message" {
            continue;
        }
        let Some(ts) = child_text(&f, "body").and_then(|b| b.split_once(':')) else {
            return Err(BenchError::protocol("pingpong", &f));
        };
        if let Ok(ts) = ts.1.parse::<u64>() {
            t.latency.record_us(micros_since(epoch).saturating_sub(ts));
        }
        t.received += 1;
        t.ops += 1;
        outstanding -= 1;
        if !stop.load(Ordering::Relaxed) {
            s.ws.send_text(&message(&to, &format!("{seq}:{}", micros_since(epoch))))
                .await?;
            seq += 1;
            outstanding += 1;
            t.sent += 1;
        }
    }
    s.ws.send_text(&message(&to, "end")).await
}

async fn responder(
    ctx: &Ctx,
    s: &mut Session,
    peer: usize,
    t: &mut Tally,
) -> Result<(), BenchError> {
    let to = ctx.full_jid(peer);
    loop {
        let f = s.recv(ctx.timeout, "pingpong message").await?;
        if tag_name(&f) != "message" || attr(&f, "type") == Some("error") {
            if tag_name(&f) == "message" {
                return Err(BenchError::protocol("pingpong", &f));
            }
            continue;
        }
        let body = child_text(&f, "body").unwrap_or_default();
        if body == "end" {
            return Ok(());
        }
        t.received += 1;
        t.ops += 1;
        s.ws.send_text(&message(&to, body)).await?;
        t.sent += 1;
    }
}

pub async fn run(ctx: Arc<Ctx>, opts: &RunOpts) -> Outcome {
    let mut out = Outcome {
        scenario: "pingpong".into(),
        unit: "messages",
        sessions: opts.users,
        ..Default::default()
    };
    let mut sessions = connect_all(&ctx, opts, true, &mut out).await;
    let stop = Arc::new(AtomicBool::new(false));
    let window = opts.window;
    let mark = begin_measure(opts, &mut out);
    let epoch = mark.0;
    let mut set = JoinSet::new();
    let mut leftovers = Vec::new();
    for pair in 0..sessions.len() / 2 {
        let (a, b) = (2 * pair, 2 * pair + 1);
        match (sessions[a].take(), sessions[b].take()) {
            (Some(mut sa), Some(mut sb)) => {
                let (ctx_a, stop_a) = (ctx.clone(), stop.clone());
                set.spawn(async move {
                    let mut t = Tally::default();
                    let r = initiator(&ctx_a, &mut sa, b, window, &stop_a, epoch, &mut t).await;
                    t.error = r.err().map(|e| format!("pingpong sender: {e}"));
                    (t, Some(sa))
                });
                let ctx_b = ctx.clone();
                set.spawn(async move {
                    let mut t = Tally::default();
                    let r = responder(&ctx_b, &mut sb, a, &mut t).await;
                    t.error = r.err().map(|e| format!("pingpong echoer: {e}"));
                    (t, Some(sb))
                });
            }
            (sa, sb) => leftovers.extend([sa, sb]),
        }
    }
    tokio::time::sleep(opts.duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut done = join_tallies(set, &mut out).await;
    end_measure(opts, &mut out, mark);
    done.extend(leftovers);
    done.extend(sessions);
    close_all(done).await;
    out.extra.insert("pairs".into(), (opts.users / 2).into());
    out
}
