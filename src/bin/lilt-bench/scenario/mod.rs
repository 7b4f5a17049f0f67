//! Scenarios and what they share: the login phase, liveness pings and the close phase.
//!
//! Every scenario is closed-loop (a session sends its next stanza when the previous reply
//! arrived), counts what it sent against what arrived, and fails the run on any loss.

pub mod bosh;
pub mod echo;
pub mod idle;
pub mod iq;
pub mod login;
pub mod muc;
pub mod nonreader;
pub mod pep;
pub mod pingpong;
pub mod presence;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::error::BenchError;
use crate::procstat::Proc;
use crate::stats::{Latency, Outcome};
use crate::xmpp::{attr, login, tag_name, Ctx, Session};

/// Knobs shared by the scenarios.
#[derive(Debug, Clone)]
pub struct RunOpts {
    pub users: usize,
    pub duration: Duration,
    /// Logins in flight at once during the connect phase (and workers in `login`).
    pub concurrency: usize,
    /// Messages in flight per pair (`pingpong`) or per session (`echo`).
    pub window: usize,
    /// Roster group size for `presence`.
    pub roster_size: usize,
    /// Target total send rate (ops/s) for `iq`, `pingpong` and `echo`; 0 = as fast as
    /// replies come. Paced runs show latency at a fixed load instead of at saturation.
    pub rate: f64,
    /// The server process whose CPU and RSS are sampled.
    pub server: Proc,
}

/// Spaces one sender's requests so that `senders` of them together send `rate` per second.
/// Falling behind does not cause a burst: the schedule restarts from now.
pub struct Pacer {
    interval: Option<Duration>,
    next: tokio::time::Instant,
}

impl Pacer {
    pub fn new(rate: f64, senders: usize, index: usize) -> Self {
        let interval = (rate > 0.0).then(|| Duration::from_secs_f64(senders.max(1) as f64 / rate));
        // Senders start staggered across one interval instead of all at once.
        let offset = interval
            .map(|iv| iv.mul_f64(index as f64 / senders.max(1) as f64))
            .unwrap_or_default();
        Pacer {
            interval,
            next: tokio::time::Instant::now() + offset,
        }
    }

    pub async fn wait(&mut self) {
        if let Some(iv) = self.interval {
            tokio::time::sleep_until(self.next).await;
            let now = tokio::time::Instant::now();
            self.next = (self.next + iv).max(now);
        }
    }
}

/// Logs in users `0..n` with at most `concurrency` logins in flight; failures go to
/// `out.errors`. The result is indexed by user.
pub async fn connect_all(
    ctx: &Arc<Ctx>,
    opts: &RunOpts,
    presence: bool,
    out: &mut Outcome,
) -> Vec<Option<Session>> {
    let n = opts.users;
    let permits = Arc::new(Semaphore::new(opts.concurrency.max(1)));
    let cpu0 = opts.server.sample().cpu_s;
    let started = Instant::now();
    let mut set = JoinSet::new();
    for index in 0..n {
        let ctx = ctx.clone();
        let permits = permits.clone();
        set.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let t0 = Instant::now();
            let res = login(&ctx, index, presence).await;
            (index, t0.elapsed(), res)
        });
    }
    let mut sessions: Vec<Option<Session>> = (0..n).map(|_| None).collect();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((index, took, Ok(session))) => {
                out.connect.ok += 1;
                out.connect.latency.record(took);
                sessions[index] = Some(session);
            }
            Ok((index, _, Err(e))) => {
                out.connect.failed += 1;
                out.errors
                    .push(format!("login {}: {e}", Ctx::username(index)));
            }
            Err(e) => {
                out.connect.failed += 1;
                out.errors.push(format!("login task: {e}"));
            }
        }
    }
    out.connect.secs = started.elapsed().as_secs_f64();
    out.connect.server_cpu_s = opts.server.sample().cpu_s - cpu0;
    sessions
}

/// Closes every session (stream close, then wait for the server's close), in parallel.
pub async fn close_all(sessions: Vec<Option<Session>>) {
    let mut set = JoinSet::new();
    for s in sessions.into_iter().flatten() {
        set.spawn(s.close());
    }
    while set.join_next().await.is_some() {}
}

/// One XEP-0199 ping to the server; skips unrelated stanzas until the reply arrives.
pub async fn ping(ctx: &Ctx, s: &mut Session, id: &str) -> Result<Duration, BenchError> {
    let t0 = Instant::now();
    s.ws.send_text(&format!(
        "<iq type='get' id='{id}' to='{}' xmlns='jabber:client'><ping xmlns='urn:xmpp:ping'/></iq>",
        ctx.domain
    ))
    .await?;
    loop {
        let f = s.recv(ctx.timeout, "ping reply").await?;
        if tag_name(&f) == "iq" && attr(&f, "id") == Some(id) {
            if attr(&f, "type") != Some("result") {
                return Err(BenchError::protocol("pinging", &f));
            }
            return Ok(t0.elapsed());
        }
    }
}

/// Microseconds since the run's epoch: stamped into payloads so the receiver computes the
/// one-way or round-trip latency without a lookup table.
pub fn micros_since(epoch: Instant) -> u64 {
    epoch.elapsed().as_micros() as u64
}

/// Per-task tallies merged after the join.
#[derive(Default)]
pub struct Tally {
    pub ops: u64,
    pub sent: u64,
    pub received: u64,
    pub latency: Latency,
    pub error: Option<String>,
}

impl Tally {
    pub fn merge_into(self, out: &mut Outcome) {
        out.ops += self.ops;
        out.sent += self.sent;
        out.received += self.received;
        out.latency.merge(&self.latency);
        if let Some(e) = self.error {
            out.errors.push(e);
        }
    }
}

/// Joins the measured tasks: merges their tallies into `out` and hands back the sessions
/// still open, so closing them stays out of the measured window.
pub async fn join_tallies(
    mut set: JoinSet<(Tally, Option<Session>)>,
    out: &mut Outcome,
) -> Vec<Option<Session>> {
    let mut sessions = Vec::new();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((t, s)) => {
                t.merge_into(out);
                sessions.push(s);
            }
            Err(e) => out.errors.push(format!("task: {e}")),
        }
    }
    sessions
}

/// Marks the start of the measured window.
pub fn begin_measure(opts: &RunOpts, out: &mut Outcome) -> (Instant, f64) {
    out.server_before = opts.server.sample();
    (Instant::now(), Proc::this().sample().cpu_s)
}

/// Marks the end of the measured window.
pub fn end_measure(opts: &RunOpts, out: &mut Outcome, start: (Instant, f64)) {
    out.secs = start.0.elapsed().as_secs_f64();
    out.server_after = opts.server.sample();
    out.client_cpu_s = Proc::this().sample().cpu_s - start.1;
}

/// A countdown all session tasks reach; waiting is bounded so one stuck task cannot hang
/// the run (it shows up as an error or a loss instead).
pub struct Rendezvous {
    n: usize,
    count: std::sync::atomic::AtomicUsize,
    notify: tokio::sync::Notify,
}

impl Rendezvous {
    pub fn new(n: usize) -> Self {
        Rendezvous {
            n,
            count: std::sync::atomic::AtomicUsize::new(0),
            notify: tokio::sync::Notify::new(),
        }
    }

    pub fn arrive(&self) {
        use std::sync::atomic::Ordering;
        if self.count.fetch_add(1, Ordering::AcqRel) + 1 >= self.n {
            self.notify.notify_waiters();
        }
    }

    /// True when everyone arrived before `limit`.
    pub async fn wait(&self, limit: Duration) -> bool {
        use std::sync::atomic::Ordering;
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.count.load(Ordering::Acquire) >= self.n {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.count.load(Ordering::Acquire) >= self.n;
            }
        }
    }
}
