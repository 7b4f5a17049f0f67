//! Counters for limit hits, and the episode tracker that keeps logs to one line per
//! throttling episode instead of one per read.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a session must stay unthrottled before its next hit opens a new episode.
pub const DEFAULT_QUIET_PERIOD: Duration = Duration::from_secs(10);

/// Server-wide (or per-gate) counters. Relaxed atomics: these are statistics, nothing
/// is ordered by them.
#[derive(Debug, Default)]
pub struct LimitCounters {
    read_pauses: AtomicU64,
    throttle_episodes: AtomicU64,
    paused_micros: AtomicU64,
    auth_failures: AtomicU64,
    auth_refusals: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CountersSnapshot {
    /// Reads that were followed by a pause.
    pub read_pauses: u64,
    /// Throttling episodes started (each logged once).
    pub throttle_episodes: u64,
    /// Total pause time handed out, in microseconds.
    pub paused_micros: u64,
    /// Failed authentications recorded.
    pub auth_failures: u64,
    /// Authentication attempts refused because of too many failures.
    pub auth_refusals: u64,
}

impl LimitCounters {
    pub const fn new() -> Self {
        LimitCounters {
            read_pauses: AtomicU64::new(0),
            throttle_episodes: AtomicU64::new(0),
            paused_micros: AtomicU64::new(0),
            auth_failures: AtomicU64::new(0),
            auth_refusals: AtomicU64::new(0),
        }
    }

    pub fn record_pause(&self, pause: Duration) {
        self.read_pauses.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(pause.as_micros()).unwrap_or(u64::MAX);
        self.paused_micros.fetch_add(micros, Ordering::Relaxed);
    }

    pub fn record_episode(&self) {
        self.throttle_episodes.fetch_add(1, Ordering::Relaxed);
    }

    pub fn record_auth_failure(&self) {
        self.auth_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub fn record_auth_refusal(&self) {
        self.auth_refusals.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> CountersSnapshot {
        CountersSnapshot {
            read_pauses: self.read_pauses.load(Ordering::Relaxed),
            throttle_episodes: self.throttle_episodes.load(Ordering::Relaxed),
            paused_micros: self.paused_micros.load(Ordering::Relaxed),
            auth_failures: self.auth_failures.load(Ordering::Relaxed),
            auth_refusals: self.auth_refusals.load(Ordering::Relaxed),
        }
    }
}

/// Whether a hit opened an episode (log it) or continues one (stay quiet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpisodeHit {
    Started,
    /// The n-th hit of the current episode (n >= 2).
    Continued(u64),
}

/// Groups hits into episodes: a hit more than `quiet` after the previous one starts a
/// new episode.
#[derive(Debug, Clone)]
pub struct Episode {
    quiet: Duration,
    last_hit: Option<Instant>,
    hits: u64,
}

impl Default for Episode {
    fn default() -> Self {
        Self::new(DEFAULT_QUIET_PERIOD)
    }
}

impl Episode {
    pub fn new(quiet: Duration) -> Self {
        Episode {
            quiet,
            last_hit: None,
            hits: 0,
        }
    }

    /// Records a hit at `now`.
    pub fn hit(&mut self, now: Instant) -> EpisodeHit {
        let continues = self
            .last_hit
            .is_some_and(|last| now.saturating_duration_since(last) <= self.quiet);
        self.last_hit = Some(now);
        if continues {
            self.hits += 1;
            EpisodeHit::Continued(self.hits)
        } else {
            self.hits = 1;
            EpisodeHit::Started
        }
    }

    /// Hits in the current (or last) episode.
    pub fn hits(&self) -> u64 {
        self.hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_within_quiet_period_form_one_episode_and_a_later_hit_starts_another() {
        let t0 = Instant::now();
        let mut ep = Episode::new(Duration::from_secs(10));
        assert_eq!(ep.hit(t0), EpisodeHit::Started);
        assert_eq!(
            ep.hit(t0 + Duration::from_secs(5)),
            EpisodeHit::Continued(2)
        );
        // Measured from the last hit, not the first: a long episode stays one episode.
        assert_eq!(
            ep.hit(t0 + Duration::from_secs(14)),
            EpisodeHit::Continued(3)
        );
        assert_eq!(ep.hit(t0 + Duration::from_secs(25)), EpisodeHit::Started);
        assert_eq!(ep.hits(), 1);
    }

    #[test]
    fn counters_accumulate_and_snapshot() {
        let c = LimitCounters::new();
        c.record_pause(Duration::from_millis(1500));
        c.record_pause(Duration::from_micros(7));
        c.record_episode();
        c.record_auth_failure();
        c.record_auth_refusal();
        c.record_auth_refusal();
        let s = c.snapshot();
        assert_eq!(s.read_pauses, 2);
        assert_eq!(s.paused_micros, 1_500_007);
        assert_eq!(s.throttle_episodes, 1);
        assert_eq!(s.auth_failures, 1);
        assert_eq!(s.auth_refusals, 2);
    }
}
