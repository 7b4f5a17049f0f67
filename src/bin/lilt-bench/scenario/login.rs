//! `login`: `concurrency` workers each loop connect → SASL → bind → close as fast as the
//! server allows. Reports logins/s and logins per server CPU second.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tokio::task::JoinSet;

use super::{begin_measure, end_measure, join_tallies, RunOpts, Tally};
use crate::stats::Outcome;
use crate::xmpp::{login, Ctx};

pub async fn run(ctx: Arc<Ctx>, opts: &RunOpts) -> Outcome {
    let workers = opts.concurrency.min(opts.users).max(1);
    let mut out = Outcome {
        scenario: "login".into(),
        unit: "logins",
        sessions: workers,
        ..Default::default()
    };
    // Warm-up login: derives the SCRAM keys once, outside the measured window.
    match login(&ctx, 0, false).await {
        Ok(s) => s.close().await,
        Err(e) => {
            out.errors.push(format!("warm-up login: {e}"));
            return out;
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mark = begin_measure(opts, &mut out);
    let mut set = JoinSet::new();
    for w in 0..workers {
        let (ctx, stop) = (ctx.clone(), stop.clone());
        set.spawn(async move {
            let mut t = Tally::default();
            while !stop.load(Ordering::Relaxed) {
                t.sent += 1;
                let t0 = Instant::now();
                match login(&ctx, w, false).await {
                    Ok(s) => {
                        t.latency.record(t0.elapsed());
                        t.received += 1;
                        t.ops += 1;
                        s.close().await;
                    }
                    Err(e) => {
                        t.error = Some(format!("login: {e}"));
                        break;
                    }
                }
            }
            (t, None)
        });
    }
    tokio::time::sleep(opts.duration).await;
    stop.store(true, Ordering::Relaxed);
    join_tallies(set, &mut out).await;
    end_measure(opts, &mut out, mark);
    // Here the logins are the measured operation; mirror them into the connect figures so
    // "logins/s" reads the same in every scenario's row.
    out.connect.ok = out.ops;
    out.connect.secs = out.secs;
    out.connect.server_cpu_s = out.server_cpu_s();
    out.connect.latency.merge(&out.latency);
    out
}
