//! `nonreader`: the c2s issue's hostile probe. Session 0 logs in and never reads again;
//! sessions 2.. send it 8 KiB messages as fast as the server takes them, for the run's
//! duration; session 1 is a bystander pinging the server every 10 ms. Reported: the
//! bystander's round trips (the latency figures), the server's RSS before, at its peak
//! (sampled every 50 ms) and 2 s after the senders stopped. A server that bounds what a
//! non-reading client costs keeps the peak near the baseline; one that queues for it grows
//! with the flood.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use super::{begin_measure, close_all, connect_all, end_measure, ping, RunOpts, Tally};
use crate::stats::Outcome;
use crate::xmpp::{Ctx, Session};

/// The body of each flood message (the probe used 8 KiB).
const BODY: usize = 8 * 1024;

pub async fn run(ctx: Arc<Ctx>, opts: &RunOpts) -> Outcome {
    let mut out = Outcome {
        scenario: "nonreader".into(),
        unit: "bystander pings",
        sessions: opts.users,
        ..Default::default()
    };
    if opts.users < 3 {
        out.errors
            .push("nonreader needs --users 3 or more (receiver, bystander, senders)");
        return out;
    }
    let base = opts.server.sample().rss_kib;
    let mut sessions = connect_all(&ctx, opts, true, &mut out).await;
    let (Some(receiver), Some(mut bystander)) = (sessions[0].take(), sessions[1].take()) else {
        out.errors.push("receiver or bystander failed to log in");
        close_all(sessions).await;
        return out;
    };
    let to = ctx.full_jid(0);
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(base));
    let sampler = {
        let (stop, peak, server) = (stop.clone(), peak.clone(), opts.server.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(server.sample().rss_kib, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let window = begin_measure(opts, &mut out);
    let mut senders = JoinSet::new();
    let body = "x".repeat(BODY);
    for s in sessions.iter_mut().skip(2) {
        let Some(mut s) = s.take() else { continue };
        let (stop, to) = (stop.clone(), to.clone());
        let stanza = format!(
            "<message xmlns='jabber:client' type='chat' to='{to}'><body>{body}</body></message>"
        );
        senders.spawn(async move {
            let mut sent = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // The server may push back (its read side waits): bounded so `stop` is seen.
                match tokio::time::timeout(Duration::from_millis(200), s.ws.send_text(&stanza))
                    .await
                {
                    Ok(Ok(())) => sent += 1,
                    Ok(Err(_)) => break,
                    Err(_) => {}
                }
            }
            (sent, s)
        });
    }
    let deadline = tokio::time::Instant::now() + opts.duration;
    let mut tally = Tally::default();
    let mut n = 0u64;
    while tokio::time::Instant::now() < deadline {
        n += 1;
        tally.sent += 1;
        tally.ops += 1;
        match ping(&ctx, &mut bystander, &format!("b{n}")).await {
            Ok(rtt) => {
                tally.received += 1;
                tally.latency.record(rtt);
            }
            Err(e) => {
                tally.error = Some(format!("bystander ping during the flood: {e}"));
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut flood_messages = 0u64;
    let mut left = Vec::new();
    while let Some(joined) = senders.join_next().await {
        if let Ok((sent, s)) = joined {
            flood_messages += sent;
            left.push(Some(s));
        }
    }
    end_measure(opts, &mut out, window);
    tally.merge_into(&mut out);
    let _ = sampler.await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = opts.server.sample().rss_kib;
    let mib = |kib: u64| ((kib as f64 / 1024.0) * 10.0).round() / 10.0;
    out.extra.insert("rss_base_mib".into(), mib(base).into());
    out.extra.insert(
        "rss_peak_mib".into(),
        mib(peak.load(Ordering::Relaxed)).into(),
    );
    out.extra.insert("rss_after_mib".into(), mib(after).into());
    out.extra
        .insert("flood_messages_sent".into(), flood_messages.into());
    left.push(Some(bystander));
    close_all(left).await;
    // The receiver's socket may be dead (the server cut it) or full; drop it unread.
    drop::<Session>(receiver);
    close_all(sessions).await;
    out
}
