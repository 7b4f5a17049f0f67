//! The expiry job (reference §19.5): daily, the files of slots older than
//! `http_file_share_expires_after` are removed with their records and the total is
//! lowered; weekly, the total is recomputed. Both are timers on the core thread
//! ([`crate::core::timers`]), which only queue the storage work on the executor, so it
//! never blocks the core nor interleaves with slot requests.

use std::sync::Arc;
use std::time::Duration;

use crate::core::{Core, Shared};

use super::{now, store, store_key, Settings, Total};

const DAY: Duration = Duration::from_secs(86400);
const WEEK: Duration = Duration::from_secs(7 * 86400);
/// The first prune runs this long after start (Prosody's cron runs overdue jobs soon
/// after start, and a fresh server has never pruned).
pub const FIRST_RUN: Duration = Duration::from_secs(60);

/// Schedules the job for one host on the core's timers.
pub fn start(core: &mut Core, settings: Arc<Settings>, total: Total) {
    let (s, t) = (settings.clone(), total.clone());
    core.add_timer(
        FIRST_RUN,
        Box::new(move |core, _| {
            run_prune(&core.shared, s.clone(), t.clone(), now());
            Some(DAY)
        }),
    );
    core.add_timer(
        WEEK,
        Box::new(move |core, _| {
            run_recount(&core.shared, settings.clone(), total.clone());
            Some(WEEK)
        }),
    );
}

/// Queues one prune as of `now` on the executor; `done` is told what went.
pub fn run_prune(shared: &Shared, settings: Arc<Settings>, total: Total, now: i64) {
    shared.store_exec.run(store_key(&settings.host), move |st| {
        prune_now(st, &settings, &total, now);
    });
}

/// One prune, blocking (the executor's thread, or a test).
pub fn prune_now(
    st: &crate::storage::Storage,
    settings: &Settings,
    total: &Total,
    now: i64,
) -> Option<store::Pruned> {
    match store::prune(st, settings, now) {
        Ok(p) => {
            let mut t = total.lock().unwrap_or_else(|e| e.into_inner());
            *t = t.saturating_sub(p.bytes);
            if let Err(e) = store::store_total(st, &settings.host, *t) {
                tracing::warn!(host = %settings.host, %e, "could not store upload_stats");
            }
            tracing::info!(host = %settings.host, expired = p.expired, removed = p.removed, "pruned expired uploads");
            Some(p)
        }
        Err(e) => {
            tracing::error!(host = %settings.host, %e, "pruning expired uploads failed");
            None
        }
    }
}

fn run_recount(shared: &Shared, settings: Arc<Settings>, total: Total) {
    shared.store_exec.run(store_key(&settings.host), move |st| {
        match store::recount(st, &settings.host) {
            Ok(sum) => *total.lock().unwrap_or_else(|e| e.into_inner()) = sum,
            Err(e) => tracing::warn!(host = %settings.host, %e, "recounting uploads failed"),
        }
    });
}
