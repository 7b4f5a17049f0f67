//! `idle`: connect N sessions (with initial presence), hold them, and report the server's
//! RSS growth per session. Ends with one ping per session to prove each is still alive.

use std::sync::Arc;

use tokio::task::JoinSet;

use super::{close_all, connect_all, join_tallies, ping, RunOpts, Tally};
use crate::procstat::Proc;
use crate::stats::Outcome;
use crate::xmpp::Ctx;

pub async fn run(ctx: Arc<Ctx>, opts: &RunOpts) -> Outcome {
    let mut out = Outcome {
        scenario: "idle".into(),
        unit: "sessions held",
        sessions: opts.users,
        ..Default::default()
    };
    // The baseline is taken before any session exists, so the delta includes all
    // per-session state (connection, stream, roster, presence).
    out.server_before = opts.server.sample();
    let client0 = Proc::this().sample().cpu_s;
    let sessions = connect_all(&ctx, opts, true, &mut out).await;
    let held_from = std::time::Instant::now();
    tokio::time::sleep(opts.duration).await;
    out.secs = held_from.elapsed().as_secs_f64();
    out.server_after = opts.server.sample();
    let cpu_during_hold = out.server_cpu_s() - out.connect.server_cpu_s;
    let mut set = JoinSet::new();
    for mut s in sessions.into_iter().flatten() {
        let ctx = ctx.clone();
        set.spawn(async move {
            let mut t = Tally {
                sent: 1,
                ops: 1,
                ..Default::default()
            };
            match ping(&ctx, &mut s, "alive").await {
                Ok(rtt) => {
                    t.received = 1;
                    t.latency.record(rtt);
                    (t, Some(s))
                }
                Err(e) => {
                    t.error = Some(format!("liveness ping after hold: {e}"));
                    (t, None)
                }
            }
        });
    }
    let done = join_tallies(set, &mut out).await;
    out.client_cpu_s = Proc::this().sample().cpu_s - client0;
    close_all(done).await;
    let delta_kib = out.server_after.rss_kib as f64 - out.server_before.rss_kib as f64;
    let per_session = if out.connect.ok > 0 {
        delta_kib * 1024.0 / out.connect.ok as f64
    } else {
        0.0
    };
    out.extra.insert(
        "rss_per_session_bytes".into(),
        (per_session.round() as i64).into(),
    );
    out.extra.insert(
        "server_cpu_s_while_idle".into(),
        ((cpu_during_hold * 1000.0).round() / 1000.0).into(),
    );
    out
}
