//! Resumption tokens of the running server: which live or hibernating session a token
//! names (`user@host/token`, so another account's token is simply unknown), and the
//! records of expired tokens (`h` and time, the newest `smacks_max_old_sessions` per
//! account) that let a late `<resume/>` learn the final `h`.
//!
//! The session itself stays in its connection task (live or hibernating); a resuming
//! connection asks that task, through the token's channel, to hand the session over.
//! Servers in one process (tests) are told apart by their `Shared`.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use tokio::sync::{mpsc, oneshot};

use super::state::SmState;
use crate::core::outbound::OutboundRx;
use crate::core::{SessionId, Shared};

/// A session handed from its old connection task to the one that resumes it.
pub struct Handover {
    pub id: SessionId,
    pub full_jid: Arc<str>,
    pub sm: Box<SmState>,
    /// The core's queue to the session (taken by the new driver).
    pub rx: Option<OutboundRx>,
}

impl std::fmt::Debug for Handover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handover")
            .field("id", &self.id)
            .field("full_jid", &self.full_jid)
            .finish_non_exhaustive()
    }
}

/// A resuming connection's request.
#[derive(Debug)]
pub struct Takeover {
    pub reply: oneshot::Sender<Handover>,
}

pub type TakeoverTx = mpsc::UnboundedSender<Takeover>;
pub type TakeoverRx = mpsc::UnboundedReceiver<Takeover>;

/// The next takeover request for a live session (pending while it has no token).
pub fn poll_takeover(
    sm: &mut Option<Box<SmState>>,
    cx: &mut std::task::Context<'_>,
) -> std::task::Poll<Option<Takeover>> {
    match sm.as_mut().and_then(|s| s.takeover.as_mut()) {
        Some(rx) => rx.poll_recv(cx),
        None => std::task::Poll::Pending,
    }
}

/// Why a resumption found no session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotFound {
    /// The token expired: its final `h` (the record is removed as it is read).
    Expired(u64),
    Unknown,
}

/// An expired token: the token, its final `h`, when (unix seconds).
type OldRecord = (Box<str>, u64, f64);

#[derive(Default)]
struct Registry {
    live: HashMap<(usize, String), TakeoverTx>,
    /// Per server and account: (token, h, unix time), newest last.
    old: HashMap<(usize, String), Vec<OldRecord>>,
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(Mutex::default);

fn registry() -> MutexGuard<'static, Registry> {
    // Every update is a single insert or remove: a panic elsewhere leaves it consistent.
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

fn server(shared: &Shared) -> usize {
    shared as *const Shared as usize
}

fn key(shared: &Shared, bare: &str, token: &str) -> (usize, String) {
    (server(shared), format!("{bare}/{token}"))
}

/// A new resumable session: its token names the channel its task listens on.
pub fn register(shared: &Shared, bare: &str, token: &str) -> TakeoverRx {
    let (tx, rx) = mpsc::unbounded_channel();
    registry().live.insert(key(shared, bare, token), tx);
    rx
}

/// The token no longer names a session (closed, replaced or expired).
pub fn revoke(shared: &Shared, bare: &str, token: &str) {
    registry().live.remove(&key(shared, bare, token));
}

/// The token expired with the session's final `h`; at most `keep` records per account
/// are kept (the newest).
pub fn record_expired(shared: &Shared, bare: &str, token: &str, h: u64, now: f64, keep: usize) {
    let mut reg = registry();
    reg.live.remove(&key(shared, bare, token));
    let list = reg
        .old
        .entry((server(shared), bare.to_owned()))
        .or_default();
    list.push((token.into(), h, now));
    prune(list, keep);
}

/// Keeps the newest `keep` expired-token records of an account (done on `<enable/>`).
pub fn prune_old(shared: &Shared, bare: &str, keep: usize) {
    let mut reg = registry();
    let k = (server(shared), bare.to_owned());
    if let Some(list) = reg.old.get_mut(&k) {
        prune(list, keep);
        if list.is_empty() {
            reg.old.remove(&k);
        }
    }
}

fn prune(list: &mut Vec<OldRecord>, keep: usize) {
    list.sort_by(|a, b| a.2.total_cmp(&b.2));
    let extra = list.len().saturating_sub(keep);
    list.drain(..extra);
}

/// Asks the session named by `token` to hand itself over.
pub async fn take(shared: &Shared, bare: &str, token: &str) -> Result<Handover, NotFound> {
    let tx = registry().live.get(&key(shared, bare, token)).cloned();
    if let Some(tx) = tx {
        let (reply, answer) = oneshot::channel();
        if tx.send(Takeover { reply }).is_ok() {
            if let Ok(h) = answer.await {
                return Ok(h);
            }
        }
    }
    let mut reg = registry();
    let k = (server(shared), bare.to_owned());
    if let Some(list) = reg.old.get_mut(&k) {
        if let Some(i) = list.iter().position(|(t, _, _)| &**t == token) {
            let (_, h, _) = list.remove(i);
            return Err(NotFound::Expired(h));
        }
    }
    Err(NotFound::Unknown)
}

/// Expired-token records kept for an account (tests, the memory figure).
pub fn old_count(shared: &Shared, bare: &str) -> usize {
    registry()
        .old
        .get(&(server(shared), bare.to_owned()))
        .map_or(0, Vec::len)
}
