//! `muc` and `muc-join`: one room (`bench@conference.<domain>`, created by session 0; the
//! servers run with `muc_room_locking = false`) and every session an occupant.
//!
//! `muc`, the fan-out: after everyone joined, each occupant sends groupchat messages, the
//! next one after the room echoed its previous one back (closed loop), spaced by `--rate`
//! (total messages/s of the room; 0 = as fast as echoes come). Every occupant counts every
//! message and records its one-way delivery latency from the timestamp in the body; the
//! rate is deliveries (messages × occupants) per second, and after the stop every occupant
//! must have received every message sent.
//!
//! `muc-join`, the join storm: session 0 creates the room, then every other session joins
//! at once. Each records its join latency (join presence → its own status-110 presence)
//! and the storm lasts until every occupant has seen every other one. The server's RSS
//! before the storm and after it (idle occupants, 2 s settle) gives memory per occupant.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::{
    begin_measure, close_all, connect_all, end_measure, join_tallies, micros_since, Pacer,
    Rendezvous, RunOpts, Tally,
};
use crate::error::BenchError;
use crate::stats::Outcome;
use crate::xmpp::{attr, child_text, tag_name, Ctx, Session};

/// How long joining (n² presences on the server) may take.
const SETUP_TIMEOUT: Duration = Duration::from_secs(300);

fn room(ctx: &Ctx) -> String {
    format!("bench@conference.{}", ctx.domain)
}

fn nick(index: usize) -> String {
    format!("u{index}")
}

/// The occupant index of a `from='room@service/uN'`.
fn occupant_index(frame: &str) -> Option<usize> {
    attr(frame, "from")?.rsplit_once("/u")?.1.parse().ok()
}

/// Sends the join presence (no history) and reads until the room's presence for us (110).
/// Presences of other occupants seen on the way are marked in `seen`.
async fn join(
    ctx: &Ctx,
    s: &mut Session,
    seen: &mut [bool],
    limit: Duration,
) -> Result<(), BenchError> {
    s.ws.send_text(&format!(
        "<presence xmlns='jabber:client' to='{}/{}'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>",
        room(ctx),
        nick(s.index)
    ))
    .await?;
    loop {
        let f = s.recv(limit, "own presence from the room").await?;
        if tag_name(&f) != "presence" {
            continue;
        }
        if attr(&f, "type") == Some("error") {
            return Err(BenchError::protocol("joining the room", &f));
        }
        let Some(i) = occupant_index(&f) else {
            continue;
        };
        if let Some(slot) = seen.get_mut(i) {
            *slot = true;
        }
        if i == s.index && f.contains("110") {
            return Ok(());
        }
    }
}

struct Fanout {
    stop: AtomicBool,
    joined: Rendezvous,
    senders_done: Rendezvous,
    /// Messages sent to the room by everyone (each occupant must receive all of them).
    total: AtomicU64,
    epoch: Instant,
}

fn groupchat(ctx: &Ctx, body: &str) -> String {
    format!(
        "<message xmlns='jabber:client' to='{}' type='groupchat'><body>{body}</body></message>",
        room(ctx)
    )
}

/// Counts one frame if it is a bench groupchat message; returns (sender, seq) then.
fn count(f: &str, sh: &Fanout, t: &mut Tally) -> Option<(usize, u64)> {
    if tag_name(f) != "message" || attr(f, "type") != Some("groupchat") {
        return None;
    }
    let mut parts = child_text(f, "body")?.splitn(3, ':');
    let sender = parts.next()?.parse().ok()?;
    let seq = parts.next()?.parse().ok()?;
    let ts: u64 = parts.next()?.parse().ok()?;
    t.latency
        .record_us(micros_since(sh.epoch).saturating_sub(ts));
    t.received += 1;
    if !sh.stop.load(Ordering::Relaxed) {
        t.ops += 1;
    }
    Some((sender, seq))
}

async fn fanout_task(
    ctx: &Ctx,
    sh: &Fanout,
    s: &mut Session,
    pacer: &mut Pacer,
    t: &mut Tally,
) -> Result<(), BenchError> {
    if !sh.joined.wait(SETUP_TIMEOUT).await {
        return Err(BenchError::Timeout("every occupant to join"));
    }
    let me = s.index;
    let mut seq = 0u64;
    while !sh.stop.load(Ordering::Relaxed) {
        // Waiting for our slot, we keep reading: a sleeping reader would add its sleep to
        // the latency of everything queued for it meanwhile.
        {
            let slot = pacer.wait();
            tokio::pin!(slot);
            loop {
                tokio::select! {
                    _ = &mut slot => break,
                    f = s.recv(ctx.timeout, "groupchat message") => {
                        count(&f?, sh, t);
                    }
                }
            }
        }
        if sh.stop.load(Ordering::Relaxed) {
            break;
        }
        let body = format!("{me}:{seq}:{}", micros_since(sh.epoch));
        sh.total.fetch_add(1, Ordering::Relaxed);
        s.ws.send_text(&groupchat(ctx, &body)).await?;
        loop {
            let f = s.recv(ctx.timeout, "groupchat echo").await?;
            if tag_name(&f) == "message" && attr(&f, "type") == Some("error") {
                return Err(BenchError::protocol("sending to the room", &f));
            }
            if count(&f, sh, t) == Some((me, seq)) {
                break;
            }
        }
        seq += 1;
    }
    sh.senders_done.arrive();
    if !sh.senders_done.wait(Duration::from_secs(120)).await {
        return Err(BenchError::Timeout("every sender to stop"));
    }
    let expected = sh.total.load(Ordering::Relaxed);
    while t.received < expected {
        let f = s.recv(ctx.timeout, "remaining groupchat messages").await?;
        count(&f, sh, t);
    }
    t.sent = expected;
    Ok(())
}

/// Session 0 joins (creating the room), then the others, all at once.
async fn join_all(
    ctx: &Arc<Ctx>,
    sessions: &mut [Option<Session>],
    n: usize,
) -> Result<(), BenchError> {
    let mut seen = vec![false; n];
    if let Some(s0) = sessions.get_mut(0).and_then(Option::as_mut) {
        join(ctx, s0, &mut seen, SETUP_TIMEOUT).await?;
    }
    Ok(())
}

pub async fn run(ctx: Arc<Ctx>, opts: &RunOpts) -> Outcome {
    let mut out = Outcome {
        scenario: if opts.rate > 0.0 { "muc-paced" } else { "muc" }.into(),
        unit: "groupchat deliveries",
        sessions: opts.users,
        ..Default::default()
    };
    let mut sessions = connect_all(&ctx, opts, false, &mut out).await;
    let n = sessions.len();
    if let Err(e) = join_all(&ctx, &mut sessions, n).await {
        out.errors.push(format!("creating the room: {e}"));
        close_all(sessions).await;
        return out;
    }
    let live = sessions.iter().flatten().count();
    let joined_at = Instant::now();
    let sh = Arc::new(Fanout {
        stop: AtomicBool::new(false),
        joined: Rendezvous::new(live),
        senders_done: Rendezvous::new(live),
        total: AtomicU64::new(0),
        epoch: Instant::now(),
    });
    let mut set = JoinSet::new();
    for mut s in sessions.into_iter().flatten() {
        let (ctx, sh) = (ctx.clone(), sh.clone());
        let mut pacer = Pacer::new(opts.rate, live, s.index);
        set.spawn(async move {
            let mut t = Tally::default();
            let r = async {
                if s.index != 0 {
                    let mut seen = vec![false; 0];
                    join(&ctx, &mut s, &mut seen, SETUP_TIMEOUT).await?;
                }
                sh.joined.arrive();
                fanout_task(&ctx, &sh, &mut s, &mut pacer, &mut t).await
            }
            .await;
            if let Err(e) = r {
                // A failed join still arrives, so the others do not wait for it.
                sh.joined.arrive();
                sh.senders_done.arrive();
                t.error = Some(format!("muc occupant {}: {e}", s.index));
            }
            (t, Some(s))
        });
    }
    let ready = sh.joined.wait(SETUP_TIMEOUT).await;
    out.extra
        .insert("join_s".into(), joined_at.elapsed().as_secs_f64().into());
    let mark = begin_measure(opts, &mut out);
    tokio::time::sleep(opts.duration).await;
    sh.stop.store(true, Ordering::Relaxed);
    let measured = mark.0.elapsed().as_secs_f64();
    let at_stop = opts.server.sample();
    let done = join_tallies(set, &mut out).await;
    end_measure(opts, &mut out, mark);
    out.secs = measured;
    out.server_after = at_stop;
    close_all(done).await;
    if !ready {
        out.errors
            .push("not every occupant joined within 300 s".to_owned());
    }
    out.extra.insert("occupants".into(), live.into());
    out.extra
        .insert("messages".into(), sh.total.load(Ordering::Relaxed).into());
    if opts.rate > 0.0 {
        out.extra.insert("rate_limit".into(), opts.rate.into());
    }
    out
}

/// Reads presences until every one of the `n` occupants was seen.
async fn see_everyone(
    s: &mut Session,
    seen: &mut [bool],
    limit: Duration,
) -> Result<(), BenchError> {
    while seen.iter().any(|s| !s) {
        let f = s.recv(limit, "the other occupants' presence").await?;
        if tag_name(&f) != "presence" || attr(&f, "type").is_some() {
            continue;
        }
        if let Some(slot) = occupant_index(&f).and_then(|i| seen.get_mut(i)) {
            *slot = true;
        }
    }
    Ok(())
}

pub async fn run_join(ctx: Arc<Ctx>, opts: &RunOpts) -> Outcome {
    let mut out = Outcome {
        scenario: "muc-join".into(),
        unit: "joins",
        sessions: opts.users,
        ..Default::default()
    };
    let mut sessions = connect_all(&ctx, opts, false, &mut out).await;
    let n = sessions.len();
    if let Err(e) = join_all(&ctx, &mut sessions, n).await {
        out.errors.push(format!("creating the room: {e}"));
        close_all(sessions).await;
        return out;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_before = opts.server.sample().rss_kib;
    let mark = begin_measure(opts, &mut out);
    let mut set = JoinSet::new();
    let storm_start = Instant::now();
    for mut s in sessions.into_iter().flatten() {
        let ctx = ctx.clone();
        set.spawn(async move {
            let mut t = Tally::default();
            let mut seen = vec![false; n];
            let r = async {
                if s.index != 0 {
                    let t0 = Instant::now();
                    join(&ctx, &mut s, &mut seen, SETUP_TIMEOUT).await?;
                    t.latency.record(t0.elapsed());
                    t.ops += 1;
                }
                seen[s.index] = true;
                see_everyone(&mut s, &mut seen, SETUP_TIMEOUT).await
            }
            .await;
            t.sent = n as u64;
            t.received = seen.iter().filter(|s| **s).count() as u64;
            t.error = r
                .err()
                .map(|e| format!("muc-join occupant {}: {e}", s.index));
            (storm_start.elapsed(), t, s)
        });
    }
    let mut done = Vec::new();
    let mut storm = Duration::ZERO;
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((took, t, s)) => {
                storm = storm.max(took);
                t.merge_into(&mut out);
                done.push(Some(s));
            }
            Err(e) => out.errors.push(format!("task: {e}")),
        }
    }
    end_measure(opts, &mut out, mark);
    out.secs = storm.as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = opts.server.sample().rss_kib;
    close_all(done).await;
    out.extra.insert("occupants".into(), n.into());
    out.extra.insert("storm_s".into(), out.secs.into());
    out.extra.insert(
        "rss_per_occupant_bytes".into(),
        ((rss_after.saturating_sub(rss_before) * 1024) / n.max(1) as u64).into(),
    );
    out
}
