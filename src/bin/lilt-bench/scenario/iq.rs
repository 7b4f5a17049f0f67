//! `iq`: every session sends XEP-0199 pings to its server, one at a time (closed loop).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::task::JoinSet;

use super::Pacer;
use super::{
    begin_measure, close_all, connect_all, end_measure, join_tallies, ping, RunOpts, Tally,
};
use crate::stats::Outcome;
use crate::xmpp::Ctx;

pub async fn run(ctx: Arc<Ctx>, opts: &RunOpts) -> Outcome {
    let mut out = Outcome {
        scenario: "iq".into(),
        unit: "pings",
        sessions: opts.users,
        ..Default::default()
    };
    let sessions = connect_all(&ctx, opts, true, &mut out).await;
    let stop = Arc::new(AtomicBool::new(false));
    let mark = begin_measure(opts, &mut out);
    let mut set = JoinSet::new();
    let senders = sessions.iter().flatten().count();
    for (i, mut s) in sessions.into_iter().flatten().enumerate() {
        let (ctx, stop) = (ctx.clone(), stop.clone());
        let mut pacer = Pacer::new(opts.rate, senders, i);
        set.spawn(async move {
            let mut t = Tally::default();
            let mut seq = 0u64;
            while !stop.load(Ordering::Relaxed) {
                pacer.wait().await;
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                t.sent += 1;
                match ping(&ctx, &mut s, &format!("p{seq}")).await {
                    Ok(rtt) => {
                        t.received += 1;
                        // The rate counts replies inside the window; later ones only
                        // count towards the loss check.
                        if !stop.load(Ordering::Relaxed) {
                            t.ops += 1;
                        }
                        t.latency.record(rtt);
                    }
                    Err(e) => {
                        t.error = Some(format!("iq ping: {e}"));
                        return (t, None);
                    }
                }
                seq += 1;
            }
            (t, Some(s))
        });
    }
    tokio::time::sleep(opts.duration).await;
    stop.store(true, Ordering::Relaxed);
    // Paced senders may be asleep until their next slot; the window ends at the stop.
    let measured = mark.0.elapsed().as_secs_f64();
    let at_stop = opts.server.sample();
    let done = join_tallies(set, &mut out).await;
    end_measure(opts, &mut out, mark);
    out.secs = measured;
    out.server_after = at_stop;
    close_all(done).await;
    if opts.rate > 0.0 {
        out.extra.insert("rate_limit".into(), opts.rate.into());
    }
    out
}
