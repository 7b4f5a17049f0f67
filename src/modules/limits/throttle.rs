//! The token bucket behind read limits, and the [`ReadGate`] a connection driver asks
//! after each socket read how long to stop reading. Sans-IO: time comes in as `now`.
//!
//! Throttling is back-pressure: the bytes already read are processed, then the driver
//! does not read the socket for the returned pause, so a flooding peer fills its own
//! kernel buffers and slows itself, and Lilt buffers nothing extra.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::metrics::{Episode, EpisodeHit, LimitCounters};
use super::parse::Rate;

/// Pauses shorter than this are not worth a timer (Prosody's epoll `min_wait`).
const MIN_PAUSE: Duration = Duration::from_millis(1);

/// What to do after consuming bytes from a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Within the limit: read again at once.
    Proceed,
    /// Over the limit: do not read the socket again for this long (always > 0).
    Pause(Duration),
}

/// A token bucket of `burst_bytes`, refilled continuously at `rate` bytes/s, starting
/// full. Bytes are counted after they were read, so the balance may go negative: the
/// debt is what the pause pays back.
///
/// ```
/// # use lilt::modules::limits::{TokenBucket, Decision};
/// # use std::time::{Duration, Instant};
/// let t0 = Instant::now();
/// let mut bucket = TokenBucket::new(10_000.0, 20_000.0, t0);
/// assert_eq!(bucket.consume(20_000, t0), Decision::Proceed); // the burst, at once
/// assert_eq!(bucket.consume(5_000, t0), Decision::Pause(Duration::from_millis(500)));
/// ```
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    capacity: f64,
    balance: f64,
    last: Instant,
    resolution: Duration,
    lifted: bool,
}

impl TokenBucket {
    /// A full bucket. Panics unless `rate` is finite and > 0 and `burst_bytes` finite
    /// and >= 0 (the parser never produces anything else).
    #[track_caller]
    pub fn new(rate: f64, burst_bytes: f64, now: Instant) -> Self {
        assert!(
            rate.is_finite() && rate > 0.0,
            "token bucket rate must be > 0, got {rate}"
        );
        assert!(
            burst_bytes.is_finite() && burst_bytes >= 0.0,
            "token bucket burst must be >= 0, got {burst_bytes}"
        );
        TokenBucket {
            rate,
            capacity: burst_bytes,
            balance: burst_bytes,
            last: now,
            resolution: MIN_PAUSE,
            lifted: false,
        }
    }

    /// A full bucket for a parsed limit.
    pub fn for_rate(rate: &Rate, now: Instant) -> Self {
        Self::new(rate.bytes_per_second, rate.bucket_bytes(), now)
    }

    /// Rounds pauses up to multiples of `resolution` (`limits_resolution`), so a
    /// throttled session wakes at most once per step. The step never exceeds the time
    /// the bucket takes to fill, so the coarseness never costs throughput: what the
    /// peer earns while paused always fits in the bucket.
    pub fn with_resolution(mut self, resolution: Duration) -> Self {
        self.resolution = resolution.max(MIN_PAUSE);
        self
    }

    /// Counts `n` bytes just read and says whether to pause before reading again.
    pub fn consume(&mut self, n: usize, now: Instant) -> Decision {
        if self.lifted {
            return Decision::Proceed;
        }
        self.refill(now);
        self.balance -= n as f64;
        if self.balance >= 0.0 {
            return Decision::Proceed;
        }
        let exact = -self.balance / self.rate;
        let fill_time =
            Duration::try_from_secs_f64(self.capacity / self.rate).unwrap_or(Duration::MAX);
        let step = self.resolution.min(fill_time).max(MIN_PAUSE);
        // The epsilon keeps float noise (2.1 / 0.3 = 7.000000000000001) from adding a step.
        let steps = (exact / step.as_secs_f64() - 1e-9)
            .ceil()
            .clamp(1.0, f64::from(u32::MAX));
        Decision::Pause(step.saturating_mul(steps as u32))
    }

    /// Bytes that can be read right now without pausing (negative while in debt).
    pub fn balance(&mut self, now: Instant) -> f64 {
        self.refill(now);
        self.balance
    }

    /// Removes the limit for good (`unlimited_jids`).
    pub fn lift(&mut self) {
        self.lifted = true;
    }

    /// True once [`lift`](Self::lift) was called.
    pub fn is_lifted(&self) -> bool {
        self.lifted
    }

    fn refill(&mut self, now: Instant) {
        // A clock that steps backwards earns nothing rather than a negative refill.
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.balance = (self.balance + elapsed * self.rate).min(self.capacity);
        if now > self.last {
            self.last = now;
        }
    }
}

/// What a connection driver holds: the session's bucket (if limited), the episode
/// tracker that keeps the log to one line per throttling episode, and the counters.
///
/// Driver loop: read up to N bytes; feed them to the parser; call
/// [`after_read`](Self::after_read)`(n, Instant::now())`; on `Some(d)`,
/// `tokio::time::sleep(d).await` before the next read. Call [`lift`](Self::lift) when
/// `unlimited_jids` matches after authentication.
#[derive(Debug)]
pub struct ReadGate {
    /// Boxed, and absent for unlimited sessions: every session's task holds its gate, and
    /// most sessions have no limit.
    limited: Option<Box<Limited>>,
    counters: Arc<LimitCounters>,
}

/// A limited session's bucket and the episode tracker of its pauses.
#[derive(Debug)]
struct Limited {
    bucket: TokenBucket,
    episode: Episode,
}

impl ReadGate {
    /// A gate for a session whose limit is `rate` (`None` = unlimited).
    pub fn new(rate: Option<Rate>, resolution: Duration, now: Instant) -> Self {
        let limited = rate.map(|r| {
            Box::new(Limited {
                bucket: TokenBucket::for_rate(&r, now).with_resolution(resolution),
                episode: Episode::default(),
            })
        });
        ReadGate {
            limited,
            counters: Arc::new(LimitCounters::new()),
        }
    }

    /// Shares server-wide counters instead of the gate's private ones.
    pub fn with_counters(mut self, counters: Arc<LimitCounters>) -> Self {
        self.counters = counters;
        self
    }

    /// Replaces the episode tracker (e.g. to change the quiet period). An unlimited gate
    /// never pauses, so it has no episodes to track.
    pub fn with_episode(mut self, episode: Episode) -> Self {
        if let Some(limited) = self.limited.as_mut() {
            limited.episode = episode;
        }
        self
    }

    /// `n` bytes were just read: how long to wait before the next read, if at all.
    pub fn after_read(&mut self, n: usize, now: Instant) -> Option<Duration> {
        let Limited { bucket, episode } = self.limited.as_deref_mut()?;
        let Decision::Pause(pause) = bucket.consume(n, now) else {
            return None;
        };
        self.counters.record_pause(pause);
        if let EpisodeHit::Started = episode.hit(now) {
            self.counters.record_episode();
            tracing::info!(
                target: "mod_limits",
                rate = bucket.rate,
                burst = bucket.capacity,
                pause_ms = pause.as_millis() as u64,
                "session over its rate limit; pausing reads"
            );
        }
        Some(pause)
    }

    /// Removes the limit (an `unlimited_jids` match after authentication).
    pub fn lift(&mut self) {
        if let Some(limited) = self.limited.as_mut() {
            limited.bucket.lift();
        }
    }

    /// True when reads are never paused (no limit, or lifted).
    pub fn is_unlimited(&self) -> bool {
        self.limited.as_ref().is_none_or(|l| l.bucket.is_lifted())
    }

    /// The counters this gate reports to.
    pub fn counters(&self) -> &Arc<LimitCounters> {
        &self.counters
    }
}
