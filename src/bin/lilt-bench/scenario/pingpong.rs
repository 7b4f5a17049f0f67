//! `pingpong`: session 2k sends chat messages to session 2k+1's full JID, which echoes each
//! back; `window` messages are in flight per pair. Measures delivered messages/s and the
//! round trip (two server hops) from the timestamp carried in the body. `pingpong-bare`
//! addresses the bare JIDs instead, so the server runs its `message/bare` path (and any
//! hook on it) for every message.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tokio::task::JoinSet;

use super::Pacer;
use super::{
    begin_measure, close_all, connect_all, end_measure, join_tallies, micros_since, RunOpts, Tally,
};
use crate::error::BenchError;
use crate::stats::Outcome;
use crate::xmpp::{attr, child_text, tag_name, Ctx, Session};

fn message(to: &str, body: &str) -> String {
    format!("<message to='{to}' type='chat' xmlns='jabber:client'><body>{body}</body></message>")
}

/// What one sender of a pair needs besides its session.
struct Plan {
    /// The peer's address (full or bare JID).
    to: String,
    window: usize,
    stop: Arc<AtomicBool>,
    epoch: Instant,
}

async fn initiator(
    ctx: &Ctx,
    s: &mut Session,
    plan: &Plan,
    pacer: &mut Pacer,
    t: &mut Tally,
) -> Result<(), BenchError> {
    let (window, epoch) = (plan.window, plan.epoch);
    let to = &plan.to;
    let mut seq = 0u64;
    let mut outstanding = 0usize;
    for _ in 0..window.max(1) {
        s.ws.send_text(&message(to, &format!("{seq}:{}", micros_since(epoch))))
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
        if !plan.stop.load(Ordering::Relaxed) {
            t.ops += 1;
        }
        outstanding -= 1;
        if !plan.stop.load(Ordering::Relaxed) {
            pacer.wait().await;
        }
        if !plan.stop.load(Ordering::Relaxed) {
            s.ws.send_text(&message(to, &format!("{seq}:{}", micros_since(epoch))))
                .await?;
            seq += 1;
            outstanding += 1;
            t.sent += 1;
        }
    }
    s.ws.send_text(&message(to, "end")).await
}

async fn responder(
    ctx: &Ctx,
    s: &mut Session,
    to: &str,
    stop: &AtomicBool,
    t: &mut Tally,
) -> Result<(), BenchError> {
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
        if !stop.load(Ordering::Relaxed) {
            t.ops += 1;
        }
        s.ws.send_text(&message(to, body)).await?;
        t.sent += 1;
    }
}

/// Runs the scenario; `bare` addresses every message to the peer's bare JID.
pub async fn run(ctx: Arc<Ctx>, opts: &RunOpts, bare: bool) -> Outcome {
    let jid = |i: usize| {
        if bare {
            ctx.bare_jid(i)
        } else {
            ctx.full_jid(i)
        }
    };
    let mut out = Outcome {
        scenario: if bare { "pingpong-bare" } else { "pingpong" }.into(),
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
                let (to_a, to_b) = (jid(a), jid(b));
                let mut pacer = Pacer::new(opts.rate, sessions.len() / 2, pair);
                set.spawn(async move {
                    let mut t = Tally::default();
                    let plan = Plan {
                        to: to_b,
                        window,
                        stop: stop_a,
                        epoch,
                    };
                    let r = initiator(&ctx_a, &mut sa, &plan, &mut pacer, &mut t).await;
                    t.error = r.err().map(|e| format!("pingpong sender: {e}"));
                    (t, Some(sa))
                });
                let (ctx_b, stop_b) = (ctx.clone(), stop.clone());
                set.spawn(async move {
                    let mut t = Tally::default();
                    let r = responder(&ctx_b, &mut sb, &to_a, &stop_b, &mut t).await;
                    t.error = r.err().map(|e| format!("pingpong echoer: {e}"));
                    (t, Some(sb))
                });
            }
            (sa, sb) => leftovers.extend([sa, sb]),
        }
    }
    tokio::time::sleep(opts.duration).await;
    stop.store(true, Ordering::Relaxed);
    // Paced senders may be asleep until their next slot; the window ends at the stop.
    let measured = mark.0.elapsed().as_secs_f64();
    let at_stop = opts.server.sample();
    let mut done = join_tallies(set, &mut out).await;
    end_measure(opts, &mut out, mark);
    out.secs = measured;
    out.server_after = at_stop;
    done.extend(leftovers);
    done.extend(sessions);
    close_all(done).await;
    out.extra.insert("pairs".into(), (opts.users / 2).into());
    if opts.rate > 0.0 {
        out.extra.insert("rate_limit".into(), opts.rate.into());
    }
    out
}
