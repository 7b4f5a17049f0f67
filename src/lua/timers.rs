//! Lua timers (`util.timer`, `module:add_timer`): a deadline queue the core loop sleeps
//! on. The Lua side keeps the callbacks by id; this side only knows when each is due.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Sleeps until `deadline`; never wakes without one.
pub async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// Pending timer ids by deadline.
#[derive(Default)]
pub struct Timers {
    queue: BTreeSet<(Instant, u64)>,
    next_id: u64,
}

impl Timers {
    /// Schedules a new timer `delay` seconds after `now`; returns its id.
    pub fn add(&mut self, now: Instant, delay: f64) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        let delay = Duration::from_secs_f64(if delay.is_nan() {
            0.0
        } else {
            delay.clamp(0.0, 1e9)
        });
        self.queue.insert((now + delay, id));
        id
    }

    /// Removes a timer; unknown ids are ignored.
    pub fn cancel(&mut self, id: u64) {
        self.queue.retain(|(_, i)| *i != id);
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.queue.first().map(|(t, _)| *t)
    }

    /// Takes the earliest timer due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<u64> {
        let first = *self.queue.first()?;
        if first.0 <= now {
            self.queue.remove(&first);
            Some(first.1)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_come_due_in_deadline_order_and_cancelled_ones_never() {
        let mut t = Timers::default();
        let now = Instant::now();
        let a = t.add(now, 2.0);
        let b = t.add(now, 1.0);
        let c = t.add(now, 1.5);
        t.cancel(c);
        assert_eq!(t.pop_due(now), None);
        assert_eq!(t.next_deadline(), Some(now + Duration::from_secs(1)));
        let later = now + Duration::from_secs(3);
        assert_eq!(t.pop_due(later), Some(b));
        assert_eq!(t.pop_due(later), Some(a));
        assert_eq!(t.pop_due(later), None);
    }
}
