//! Server-side WebSocket keepalive as a sans-IO state machine: when to send a ping, whether
//! a pong answers it (and its round-trip time), and when an unanswered ping ends the session.
//! The driver passes `now` in, so tests run on a virtual clock.
//!
//! Without `websocket_ping_interval` this is Prosody's behaviour (§5.6): an empty-ish ping
//! after `read_timeout` of silence, re-armed. With it, pings go out on a fixed timer whatever
//! the traffic. `websocket_pong_timeout` (either mode) closes a session whose oldest
//! outstanding ping has had no pong for that long; without it pongs are never required.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// At most this many unanswered pings are remembered (older ones are forgotten, which only
/// loses their round-trip time).
const MAX_OUTSTANDING: usize = 8;

/// Keepalive timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepaliveConfig {
    /// `network_settings.read_timeout`: idle time before a ping when there is no interval.
    pub read_timeout: Duration,
    /// `websocket_ping_interval`.
    pub ping_interval: Option<Duration>,
    /// `websocket_pong_timeout`.
    pub pong_timeout: Option<Duration>,
}

/// What the driver must do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeepaliveAction {
    /// Send a ping frame with this payload.
    Ping(Vec<u8>),
    /// A ping went unanswered for `pong_timeout`: close the session.
    TimedOut,
}

/// Keepalive state of one connection.
#[derive(Debug, Clone)]
pub struct Keepalive {
    config: KeepaliveConfig,
    next_ping: Instant,
    seq: u64,
    /// Unanswered pings, oldest first: (sequence number, time sent).
    outstanding: VecDeque<(u64, Instant)>,
    /// The latest round-trip time in microseconds (saturating; `u32` keeps every
    /// session's keepalive state a word smaller).
    last_rtt_us: Option<u32>,
}

impl Keepalive {
    pub fn new(config: KeepaliveConfig, now: Instant) -> Keepalive {
        let first = config.ping_interval.unwrap_or(config.read_timeout);
        Keepalive {
            config,
            next_ping: now + first,
            seq: 0,
            outstanding: VecDeque::new(),
            last_rtt_us: None,
        }
    }

    /// Bytes arrived: in idle mode this postpones the next ping.
    pub fn on_receive(&mut self, now: Instant) {
        if self.config.ping_interval.is_none() {
            self.next_ping = now + self.config.read_timeout;
        }
    }

    /// The ping [`Keepalive::poll`] just asked for was not sent (stream management sent
    /// an `<r/>` instead): no pong is awaited for it.
    pub fn withdraw_ping(&mut self) {
        self.outstanding.pop_back();
    }

    /// A pong arrived. Returns the round-trip time when it answers one of our pings (it also
    /// answers every older one); unsolicited pongs (RFC 6455 §5.5.3) are ignored.
    pub fn on_pong(&mut self, payload: &[u8], now: Instant) -> Option<Duration> {
        // Prosody-mode pings are empty, so an empty pong answers the newest ping.
        let pos = if payload.is_empty() {
            self.outstanding.len().checked_sub(1)?
        } else {
            let seq = parse_payload(payload)?;
            self.outstanding.iter().position(|&(s, _)| s == seq)?
        };
        let sent = self.outstanding[pos].1;
        self.outstanding.drain(..=pos);
        let rtt = now.saturating_duration_since(sent);
        self.last_rtt_us = Some(u32::try_from(rtt.as_micros()).unwrap_or(u32::MAX));
        Some(rtt)
    }

    /// The latest measured round-trip time.
    pub fn last_rtt(&self) -> Option<Duration> {
        self.last_rtt_us.map(|us| Duration::from_micros(us.into()))
    }

    /// The next instant [`Keepalive::poll`] has something to do.
    pub fn deadline(&self) -> Instant {
        match self.pong_deadline() {
            Some(d) => d.min(self.next_ping),
            None => self.next_ping,
        }
    }

    fn pong_deadline(&self) -> Option<Instant> {
        let timeout = self.config.pong_timeout?;
        self.outstanding.front().map(|&(_, sent)| sent + timeout)
    }

    /// What is due at `now`: a timeout wins over a ping.
    pub fn poll(&mut self, now: Instant) -> Option<KeepaliveAction> {
        if self.pong_deadline().is_some_and(|d| now >= d) {
            return Some(KeepaliveAction::TimedOut);
        }
        if now < self.next_ping {
            return None;
        }
        let period = self
            .config
            .ping_interval
            .unwrap_or(self.config.read_timeout);
        self.next_ping = now + period;
        self.seq += 1;
        if self.outstanding.len() == MAX_OUTSTANDING {
            // Keep the oldest: it is the one the pong timeout is measured from.
            self.outstanding.remove(1);
        }
        self.outstanding.push_back((self.seq, now));
        // Without the guide's options, ping exactly as Prosody does: an empty ping.
        let prosody = self.config.ping_interval.is_none() && self.config.pong_timeout.is_none();
        let body = if prosody {
            Vec::new()
        } else {
            payload(self.seq)
        };
        Some(KeepaliveAction::Ping(body))
    }
}

fn payload(seq: u64) -> Vec<u8> {
    format!("lilt-{seq}").into_bytes()
}

fn parse_payload(p: &[u8]) -> Option<u64> {
    std::str::from_utf8(p)
        .ok()?
        .strip_prefix("lilt-")?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn cfg(interval: Option<u64>, pong: Option<u64>) -> KeepaliveConfig {
        KeepaliveConfig {
            read_timeout: S(840),
            ping_interval: interval.map(S),
            pong_timeout: pong.map(S),
        }
    }

    #[test]
    fn without_interval_pings_after_read_timeout_of_silence_only() {
        let t0 = Instant::now();
        let mut k = Keepalive::new(cfg(None, None), t0);
        assert_eq!(k.poll(t0 + S(839)), None);
        k.on_receive(t0 + S(500));
        assert_eq!(k.poll(t0 + S(1000)), None);
        assert_eq!(k.deadline(), t0 + S(1340));
        assert!(matches!(
            k.poll(t0 + S(1340)),
            Some(KeepaliveAction::Ping(_))
        ));
        // No pong timeout configured: unanswered pings never end the session.
        assert!(matches!(
            k.poll(t0 + S(2180)),
            Some(KeepaliveAction::Ping(_))
        ));
        assert_eq!(k.poll(t0 + S(2181)), None);
    }

    #[test]
    fn prosody_mode_pings_are_empty_and_an_empty_pong_answers_them() {
        let t0 = Instant::now();
        let mut k = Keepalive::new(cfg(None, None), t0);
        assert_eq!(k.poll(t0 + S(840)), Some(KeepaliveAction::Ping(Vec::new())));
        assert_eq!(k.on_pong(b"", t0 + S(841)), Some(S(1)));
        assert_eq!(k.on_pong(b"", t0 + S(842)), None, "nothing outstanding");
    }

    #[test]
    fn interval_pings_on_a_timer_despite_traffic() {
        let t0 = Instant::now();
        let mut k = Keepalive::new(cfg(Some(30), None), t0);
        k.on_receive(t0 + S(29));
        assert_eq!(k.deadline(), t0 + S(30));
        assert!(matches!(k.poll(t0 + S(30)), Some(KeepaliveAction::Ping(_))));
        assert_eq!(k.poll(t0 + S(59)), None);
        assert!(matches!(k.poll(t0 + S(60)), Some(KeepaliveAction::Ping(_))));
    }

    #[test]
    fn unanswered_ping_times_out_after_pong_timeout() {
        let t0 = Instant::now();
        let mut k = Keepalive::new(cfg(Some(30), Some(10)), t0);
        assert!(matches!(k.poll(t0 + S(30)), Some(KeepaliveAction::Ping(_))));
        assert_eq!(k.deadline(), t0 + S(40));
        assert_eq!(k.poll(t0 + S(39)), None);
        assert_eq!(k.poll(t0 + S(40)), Some(KeepaliveAction::TimedOut));
    }

    #[test]
    fn matching_pong_clears_the_timeout_and_measures_rtt() {
        let t0 = Instant::now();
        let mut k = Keepalive::new(cfg(Some(30), Some(10)), t0);
        let Some(KeepaliveAction::Ping(p)) = k.poll(t0 + S(30)) else {
            panic!("expected a ping")
        };
        assert_eq!(k.on_pong(b"someone else's", t0 + S(31)), None);
        assert_eq!(k.on_pong(&p, t0 + S(32)), Some(S(2)));
        assert_eq!(k.last_rtt(), Some(S(2)));
        assert_eq!(k.poll(t0 + S(45)), None);
        assert_eq!(k.deadline(), t0 + S(60));
    }

    #[test]
    fn pong_to_a_later_ping_answers_older_ones_too() {
        let t0 = Instant::now();
        let mut k = Keepalive::new(cfg(Some(5), Some(20)), t0);
        let _first = k.poll(t0 + S(5));
        let Some(KeepaliveAction::Ping(second)) = k.poll(t0 + S(10)) else {
            panic!("expected a ping")
        };
        assert_eq!(k.on_pong(&second, t0 + S(11)), Some(S(1)));
        // The first ping's timeout (t0+25) no longer applies.
        assert!(matches!(k.poll(t0 + S(15)), Some(KeepaliveAction::Ping(_))));
        assert_ne!(k.poll(t0 + S(26)), Some(KeepaliveAction::TimedOut));
    }

    #[test]
    fn timeout_is_measured_from_the_oldest_unanswered_ping() {
        let t0 = Instant::now();
        let mut k = Keepalive::new(cfg(Some(1), Some(100)), t0);
        for i in 1..=20 {
            assert!(matches!(k.poll(t0 + S(i)), Some(KeepaliveAction::Ping(_))));
        }
        assert_eq!(k.deadline(), t0 + S(21));
        assert_eq!(k.poll(t0 + S(101)), Some(KeepaliveAction::TimedOut));
    }
}
