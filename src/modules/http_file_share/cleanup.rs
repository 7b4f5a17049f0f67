//! The expiry job (reference §19.5): daily, the files of slots older than
//! `http_file_share_expires_after` are removed with their records and the total is
//! lowered; weekly, the total is recomputed. It runs on a thread of its own that ends
//! with the server, and hands the storage work to the executor so it never interleaves
//! with slot requests.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crate::core::Shared;

use super::{now, store, store_key, Settings, Total};

const DAY: Duration = Duration::from_secs(86400);
const WEEK: Duration = Duration::from_secs(7 * 86400);
/// The first prune runs this long after start (Prosody's cron runs overdue jobs soon
/// after start, and a fresh server has never pruned).
const FIRST_RUN: Duration = Duration::from_secs(60);
/// How often the thread looks whether the server is still there.
const TICK: Duration = Duration::from_secs(5);

/// Starts the job for one host.
pub fn start(shared: Weak<Shared>, settings: Arc<Settings>, total: Total) {
    let name = format!("upload-prune-{}", settings.host);
    let spawned = std::thread::Builder::new().name(name).spawn(move || {
        let mut next_prune = Instant::now() + FIRST_RUN;
        let mut next_count = Instant::now() + WEEK;
        loop {
            std::thread::sleep(TICK);
            let Some(shared) = shared.upgrade() else {
                return;
            };
            let t = Instant::now();
            if t >= next_prune {
                next_prune = t + DAY;
                run_prune(&shared, settings.clone(), total.clone(), now());
            }
            if t >= next_count {
                next_count = t + WEEK;
                run_recount(&shared, settings.clone(), total.clone());
            }
        }
    });
    if let Err(e) = spawned {
        tracing::error!(%e, "could not start the upload expiry job");
    }
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
