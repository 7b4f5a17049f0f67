//! `connection_monitoring`'s error rate: the share of recent connections that ended with an
//! error, with a warning when it rises above `max_error_rate` (once per excursion, so a bad
//! spell gives one log line, not one per connection).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use crate::modules::websocket::options::Monitoring;

/// Connections remembered for the rate.
pub const WINDOW: usize = 100;
/// No verdict before this many connections have ended.
pub const MIN_SAMPLES: usize = 10;

/// Sliding window of connection outcomes.
#[derive(Debug, Default)]
pub struct ErrorRate {
    outcomes: VecDeque<bool>,
    errors: usize,
    above: bool,
}

impl ErrorRate {
    pub fn new() -> ErrorRate {
        ErrorRate::default()
    }

    /// Records one ended connection; returns the rate when it has just crossed above `max`.
    pub fn record(&mut self, error: bool, max: f64) -> Option<f64> {
        if self.outcomes.len() == WINDOW && self.outcomes.pop_front() == Some(true) {
            self.errors -= 1;
        }
        self.outcomes.push_back(error);
        if error {
            self.errors += 1;
        }
        let rate = self.rate()?;
        if rate > max {
            if !self.above {
                self.above = true;
                return Some(rate);
            }
        } else {
            self.above = false;
        }
        None
    }

    /// The current rate, once there are enough samples.
    pub fn rate(&self) -> Option<f64> {
        (self.outcomes.len() >= MIN_SAMPLES)
            .then(|| self.errors as f64 / self.outcomes.len() as f64)
    }
}

static GLOBAL: Mutex<ErrorRate> = Mutex::new(ErrorRate {
    outcomes: VecDeque::new(),
    errors: 0,
    above: false,
});

/// Records an ended connection in the process-wide window and logs a warning when the error
/// rate first exceeds `max_error_rate`.
pub fn record_connection_end(error: bool, max_error_rate: f64) {
    let crossed = match GLOBAL.lock() {
        Ok(mut r) => r.record(error, max_error_rate),
        Err(_) => None,
    };
    if let Some(rate) = crossed {
        tracing::warn!(
            "Connection error rate is {:.1}% of recent connections (window {WINDOW}), above \
             max_error_rate {:.1}%",
            rate * 100.0,
            max_error_rate * 100.0
        );
    }
}

/// `connection_monitoring` at the end of one connection: a log line with its ping
/// round-trip time and bytes (as `track_latency` / `track_bandwidth` ask), then the
/// server-wide error rate. Does nothing when monitoring is off.
pub fn connection_ended(
    m: &Monitoring,
    failure: Option<&str>,
    rtt: Option<Duration>,
    bytes_in: u64,
    bytes_out: u64,
) {
    if !m.enabled {
        return;
    }
    let rtt_ms = rtt
        .filter(|_| m.track_latency)
        .map(|d| d.as_secs_f64() * 1000.0);
    let bytes = m.track_bandwidth.then_some((bytes_in, bytes_out));
    tracing::info!(ping_rtt_ms = ?rtt_ms, bytes_in_out = ?bytes, error = ?failure, "connection statistics");
    record_connection_end(failure.is_some(), m.max_error_rate);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_once_when_rate_crosses_the_maximum() {
        let mut r = ErrorRate::new();
        for _ in 0..9 {
            assert_eq!(r.record(true, 0.05), None, "too few samples for a verdict");
        }
        assert_eq!(r.record(false, 0.05), Some(0.9));
        assert_eq!(
            r.record(true, 0.05),
            None,
            "already warned for this excursion"
        );
    }

    #[test]
    fn rate_below_maximum_is_quiet_and_rearms() {
        let mut r = ErrorRate::new();
        for _ in 0..99 {
            assert_eq!(r.record(false, 0.05), None);
        }
        assert_eq!(r.record(true, 0.05), None); // 1%
        for _ in 0..5 {
            r.record(true, 0.05);
        }
        assert!(r.rate().is_some_and(|x| x > 0.05));
        for _ in 0..WINDOW {
            r.record(false, 0.05);
        }
        assert_eq!(r.rate(), Some(0.0));
        let mut warned = false;
        for _ in 0..10 {
            warned |= r.record(true, 0.05).is_some();
        }
        assert!(warned, "a new excursion warns again");
    }
}
