//! A resumable session whose connection dropped: kept in its connection task, socket
//! gone, the core still holding it bound (presence and roster state stay). Stanzas the
//! core sends meanwhile are queued; a resuming connection takes the whole session over;
//! `smacks_hibernation_time` without one destroys it ("Hibernating too long") and
//! records its final `h` for a late `<resume/>`.

use std::sync::Arc;
use std::time::Instant;

use super::registry::{self, Handover};
use super::state::SmState;
use super::{destroy, events};
use crate::core::outbound::OutboundRx;
use crate::core::{Outbound, SessionId, Shared};
use crate::net::c2s_session::unix_now;

/// Everything a hibernating session keeps.
pub struct Hibernating {
    pub shared: Arc<Shared>,
    pub id: SessionId,
    pub full_jid: Arc<str>,
    pub sm: Box<SmState>,
    pub rx: OutboundRx,
}

/// How a hibernation ended.
#[derive(Debug, PartialEq, Eq)]
pub enum End {
    Resumed,
    Expired,
    /// The core closed the session (replaced, shut down).
    Closed,
}

impl Hibernating {
    fn bare(&self) -> &str {
        self.full_jid.split('/').next().unwrap_or(&self.full_jid)
    }

    fn host(&self) -> &str {
        self.bare().split('@').nth(1).unwrap_or_default()
    }

    /// A stanza from the core while asleep: kept for the next connection.
    fn queue(&mut self, stanza: Arc<crate::xml::Element>) {
        self.sm.on_outgoing(stanza.clone(), unix_now());
        let snapshot: Vec<_> = self.sm.queue.unacked().cloned().collect();
        let bare = self.bare().to_owned();
        events::fire(
            &self.shared,
            self.host(),
            "smacks-hibernation-stanza-queued",
            self.id,
            move || destroy::queue_copies(&snapshot, &bare),
            Some(stanza),
        );
    }

    /// Destroys the session: token recorded (expiry) or revoked, unacked stanzas handled,
    /// then unbound.
    fn destroy(mut self, expired: bool) {
        if let Some(token) = self.sm.token.take() {
            let bare = self.bare().to_owned();
            if expired {
                let keep = self.sm.settings.max_old_sessions;
                registry::record_expired(
                    &self.shared,
                    &bare,
                    &token,
                    self.sm.handled,
                    unix_now(),
                    keep,
                );
            } else {
                registry::revoke(&self.shared, &bare, &token);
            }
        }
        let reason = expired.then(|| "Hibernating too long".to_owned());
        let unacked = self.sm.queue.drain();
        destroy::unbind_with_unacked(
            &self.shared,
            self.id,
            Some(self.full_jid.clone()),
            unacked,
            reason,
        );
    }
}

/// Runs the hibernation to its end.
pub async fn run(mut h: Hibernating) -> End {
    let snapshot: Vec<_> = h.sm.queue.unacked().cloned().collect();
    let bare = h.bare().to_owned();
    events::fire(
        &h.shared,
        h.host(),
        "smacks-hibernation-start",
        h.id,
        move || destroy::queue_copies(&snapshot, &bare),
        None,
    );
    let until = Instant::now() + h.sm.settings.hibernation_time;
    let sleep = tokio::time::sleep_until(tokio::time::Instant::from_std(until));
    tokio::pin!(sleep);
    let Some(mut takeover) = h.sm.takeover.take() else {
        h.destroy(false);
        return End::Closed;
    };
    loop {
        tokio::select! {
            batch = h.rx.recv_all() => {
                let Some(batch) = batch else {
                    h.destroy(false);
                    return End::Closed;
                };
                for msg in batch {
                    match msg {
                        Outbound::Stanza(el) => h.queue(el),
                        Outbound::Shared(el, to) => h.queue(Arc::new(el.addressed(&to))),
                        Outbound::Close(_) => {
                            h.destroy(false);
                            return End::Closed;
                        }
                    }
                }
            }
            req = takeover.recv() => {
                let Some(req) = req else {
                    h.destroy(false);
                    return End::Closed;
                };
                let Hibernating { shared, id, full_jid, mut sm, rx } = h;
                sm.takeover = Some(takeover);
                let handover = Handover { id, full_jid, sm, rx: Some(rx) };
                match req.reply.send(handover) {
                    Ok(()) => return End::Resumed,
                    // The resuming connection went away first: sleep on.
                    Err(back) => {
                        let Handover { id, full_jid, mut sm, rx, .. } = back;
                        let (Some(rx), Some(t)) = (rx, sm.takeover.take()) else {
                            return End::Closed;
                        };
                        takeover = t;
                        h = Hibernating { shared, id, full_jid, sm, rx };
                    }
                }
            }
            () = &mut sleep => {
                h.destroy(true);
                return End::Expired;
            }
        }
    }
}
