//! Timers on the core thread for native modules (the native side of
//! `module:add_timer`): a deadline queue the core loop sleeps on beside the Lua timers.
//! A callback runs with the core in hand and says when it wants to run again; work that
//! blocks (storage) it hands on to the executor as everything on this thread does.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::Core;

/// A timer's callback: runs at its deadline (`now` is the instant it is run for) and
/// returns the delay until its next run, or `None` when it is done.
pub type TimerFn = Box<dyn FnMut(&mut Core, Instant) -> Option<Duration> + Send>;

/// Pending native timers by deadline.
#[derive(Default)]
pub struct Timers {
    queue: BTreeMap<(Instant, u64), TimerFn>,
    next_id: u64,
}

impl Timers {
    /// Schedules `f` at `at`; returns its id for [`Self::cancel`].
    pub fn add(&mut self, at: Instant, f: TimerFn) -> u64 {
        self.next_id += 1;
        self.queue.insert((at, self.next_id), f);
        self.next_id
    }

    /// Removes a timer; unknown (or finished) ids are ignored.
    pub fn cancel(&mut self, id: u64) {
        self.queue.retain(|(_, i), _| *i != id);
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.queue.keys().next().map(|(t, _)| *t)
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    fn pop_due(&mut self, now: Instant) -> Option<(u64, TimerFn)> {
        let key = *self.queue.keys().next()?;
        if key.0 > now {
            return None;
        }
        self.queue.remove(&key).map(|f| (key.1, f))
    }
}

/// Runs every native timer due at `now`; one that asks to run again is queued `delay`
/// after `now` under the same id. A callback that adds timers due at once sees them run
/// in this same call.
pub fn run_due(core: &mut Core, now: Instant) {
    while let Some((id, mut f)) = core.timers.pop_due(now) {
        if let Some(delay) = f(core, now) {
            core.timers.queue.insert((now + delay, id), f);
        }
    }
}

impl Core {
    /// Runs `f` on the core thread `delay` from now (see [`TimerFn`]).
    pub fn add_timer(&mut self, delay: Duration, f: TimerFn) -> u64 {
        self.timers.add(Instant::now() + delay, f)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;

    fn core() -> Core {
        let text = "VirtualHost \"example.test\"\ns2s_ports = {}\n";
        let path = std::path::Path::new("/nonexistent/prosody.cfg.lua");
        let config = crate::config::Config::load_str(path, text).expect("config parses");
        Core::new(crate::core::server::build(config).0)
    }

    #[test]
    fn a_repeating_timer_runs_at_each_deadline_of_a_virtual_clock_and_stops_when_done() {
        let mut core = core();
        let runs = Arc::new(AtomicUsize::new(0));
        let t0 = Instant::now();
        let r = runs.clone();
        core.timers.add(
            t0 + Duration::from_secs(60),
            Box::new(move |_, _| {
                let n = r.fetch_add(1, Ordering::SeqCst) + 1;
                (n < 3).then_some(Duration::from_secs(86_400))
            }),
        );
        run_due(&mut core, t0 + Duration::from_secs(59));
        assert_eq!(runs.load(Ordering::SeqCst), 0);
        run_due(&mut core, t0 + Duration::from_secs(60));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        let next = core.timers.next_deadline().expect("rescheduled");
        assert_eq!(next, t0 + Duration::from_secs(60 + 86_400));
        run_due(&mut core, next);
        run_due(&mut core, next + Duration::from_secs(86_400));
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        assert!(core.timers.is_empty());
    }

    #[test]
    fn a_cancelled_timer_never_runs() {
        let mut core = core();
        let runs = Arc::new(AtomicUsize::new(0));
        let t0 = Instant::now();
        let r = runs.clone();
        let id = core.timers.add(
            t0,
            Box::new(move |_, _| {
                r.fetch_add(1, Ordering::SeqCst);
                None
            }),
        );
        core.timers.cancel(id);
        run_due(&mut core, t0 + Duration::from_secs(1));
        assert_eq!(runs.load(Ordering::SeqCst), 0);
    }
}
