//! The token bucket and read gate, on a virtual clock: `t0 + offset` instants, no sleeps.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lilt::modules::limits::{
    Burst, Decision, Episode, LimitCounters, LimitValue, LimitsConfig, Rate, ReadGate, SessionKind,
    TokenBucket,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A client that always has data: reads `read_size` bytes whenever allowed, sleeps
/// exactly the pauses it is told. Returns (time of the last wake-up before `end`, bytes
/// read before that wake-up, pauses seen).
fn flood(
    bucket: &mut TokenBucket,
    read_size: usize,
    t0: Instant,
    end: Duration,
) -> (Duration, f64, Vec<Duration>) {
    let mut now = t0;
    let mut read = 0.0;
    let mut last_wake = (Duration::ZERO, 0.0);
    let mut pauses = Vec::new();
    while now < t0 + end {
        read += read_size as f64;
        if let Decision::Pause(d) = bucket.consume(read_size, now) {
            pauses.push(d);
            now += d;
            if now < t0 + end {
                last_wake = (now - t0, read);
            }
        }
    }
    (last_wake.0, last_wake.1, pauses)
}

#[test]
fn burst_is_available_at_once_then_reads_pause() {
    let t0 = Instant::now();
    let mut bucket = TokenBucket::new(10_240.0, 20_480.0, t0);
    for _ in 0..5 {
        assert_eq!(bucket.consume(4096, t0), Decision::Proceed);
    }
    assert_eq!(bucket.balance(t0), 0.0);
    // One byte over: pause until it is paid back (rounded to the 1 ms floor).
    assert_eq!(bucket.consume(1, t0), Decision::Pause(ms(1)));
}

#[test]
fn rate_is_sustained_within_one_percent_after_the_burst() {
    for read_size in [512, 4096] {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(10_240.0, 20_480.0, t0);
        let (wake, read_before_wake, pauses) =
            flood(&mut bucket, read_size, t0, Duration::from_secs(10));
        assert!(wake > Duration::from_secs(9), "last wake {wake:?}");
        let sustained = (read_before_wake - 20_480.0) / wake.as_secs_f64();
        assert!(
            (sustained - 10_240.0).abs() / 10_240.0 < 0.01,
            "read_size {read_size}: sustained {sustained} B/s"
        );
        assert!(pauses.iter().all(|p| *p > Duration::ZERO));
    }
}

#[test]
fn refills_are_fractional_and_capped_at_the_burst() {
    let t0 = Instant::now();
    let mut bucket = TokenBucket::new(1000.0, 10.0, t0);
    assert_eq!(bucket.consume(10, t0), Decision::Proceed);
    let t = t0 + Duration::from_micros(2500);
    assert!((bucket.balance(t) - 2.5).abs() < 1e-9);
    assert_eq!(bucket.consume(2, t), Decision::Proceed);
    // 0.5 left, 1 asked: 0.5 byte of debt = 0.5 ms, rounded up to the 1 ms floor.
    assert_eq!(bucket.consume(1, t), Decision::Pause(ms(1)));
    assert!((bucket.balance(t + Duration::from_micros(500)) - 0.0).abs() < 1e-9);
    assert_eq!(bucket.balance(t0 + Duration::from_secs(3600)), 10.0);
}

#[test]
fn pauses_are_exact_debt_over_rate() {
    let t0 = Instant::now();
    let mut bucket = TokenBucket::new(10_000.0, 20_000.0, t0);
    assert_eq!(bucket.consume(20_000, t0), Decision::Proceed);
    assert_eq!(bucket.consume(5_000, t0), Decision::Pause(ms(500)));
    // Halfway through the pause the peer is still 2500 bytes in debt.
    assert_eq!(bucket.consume(0, t0 + ms(250)), Decision::Pause(ms(250)));
    assert_eq!(bucket.consume(0, t0 + ms(500)), Decision::Proceed);
}

#[test]
fn resolution_rounds_pauses_up_to_whole_steps() {
    let t0 = Instant::now();
    let mut bucket = TokenBucket::new(1000.0, 2000.0, t0).with_resolution(Duration::from_secs(1));
    assert_eq!(bucket.consume(2000, t0), Decision::Proceed);
    assert_eq!(
        bucket.consume(100, t0),
        Decision::Pause(Duration::from_secs(1))
    );
    assert_eq!(
        bucket.consume(1500, t0),
        Decision::Pause(Duration::from_secs(2))
    );
    // 2.1 s of debt is 7 steps of 0.3 s, not 8: in floats 2.1 / 0.3 = 7.000000000000001.
    let mut exact = TokenBucket::new(10.0, 10.0, t0).with_resolution(ms(300));
    assert_eq!(exact.consume(10, t0), Decision::Proceed);
    assert_eq!(exact.consume(21, t0), Decision::Pause(ms(2100)));
}

#[test]
fn resolution_never_exceeds_the_time_the_bucket_takes_to_fill() {
    let t0 = Instant::now();
    // A 0.2 s bucket: waking after 1 s would waste 0.8 s of credit.
    let mut bucket = TokenBucket::new(1000.0, 200.0, t0).with_resolution(Duration::from_secs(1));
    assert_eq!(bucket.consume(200, t0), Decision::Proceed);
    assert_eq!(bucket.consume(100, t0), Decision::Pause(ms(200)));
}

#[test]
fn coarse_resolution_still_sustains_the_rate() {
    let t0 = Instant::now();
    let rate = 10_240.0;
    let burst = 20_480.0;
    let step = Duration::from_secs(1);
    let mut bucket = TokenBucket::new(rate, burst, t0).with_resolution(step);
    let (wake, read_before_wake, pauses) = flood(&mut bucket, 4096, t0, Duration::from_secs(10));
    assert!(
        pauses.iter().all(|p| p.as_nanos() % step.as_nanos() == 0),
        "{pauses:?}"
    );
    // Everything earned by the wake-up was read, less at most one step of credit.
    let earned = burst + rate * wake.as_secs_f64();
    assert!(
        read_before_wake <= earned + 1e-6,
        "{read_before_wake} > {earned}"
    );
    assert!(
        read_before_wake > earned - rate * step.as_secs_f64(),
        "{read_before_wake} vs {earned}"
    );
}

#[test]
fn zero_burst_pauses_every_read_like_prosodys_epoll_path() {
    let t0 = Instant::now();
    let mut bucket = TokenBucket::new(10_240.0, 0.0, t0);
    assert_eq!(bucket.consume(4096, t0), Decision::Pause(ms(400)));
    assert_eq!(bucket.consume(4096, t0 + ms(400)), Decision::Pause(ms(400)));
}

#[test]
fn clock_stepping_back_earns_nothing_and_never_yields_negative_pauses() {
    let t0 = Instant::now() + Duration::from_secs(60);
    let mut bucket = TokenBucket::new(1000.0, 1000.0, t0);
    assert_eq!(bucket.consume(1500, t0), Decision::Pause(ms(500)));
    let earlier = t0 - Duration::from_secs(30);
    assert_eq!(bucket.consume(0, earlier), Decision::Pause(ms(500)));
    assert_eq!(bucket.consume(0, t0 + ms(500)), Decision::Proceed);
}

#[test]
fn lifted_bucket_never_pauses() {
    let t0 = Instant::now();
    let mut bucket = TokenBucket::new(100.0, 100.0, t0);
    assert!(matches!(bucket.consume(1000, t0), Decision::Pause(_)));
    bucket.lift();
    assert!(bucket.is_lifted());
    assert_eq!(bucket.consume(1_000_000_000, t0), Decision::Proceed);
}

#[test]
#[should_panic(expected = "rate must be > 0")]
fn zero_rate_is_a_programmer_error() {
    let _ = TokenBucket::new(0.0, 10.0, Instant::now());
}

#[test]
fn unlimited_session_gate_never_pauses() {
    let t0 = Instant::now();
    let config = LimitsConfig::defaults();
    let mut gate = ReadGate::new(
        config.for_session_type(SessionKind::S2sOut),
        config.resolution(),
        t0,
    );
    assert!(gate.is_unlimited());
    assert_eq!(gate.after_read(10_000_000, t0), None);
}

#[test]
fn gate_lift_after_authentication_stops_pausing() {
    let t0 = Instant::now();
    let config = LimitsConfig::defaults();
    let mut gate = ReadGate::new(
        config.for_session_type(SessionKind::C2s),
        config.resolution(),
        t0,
    );
    assert!(!gate.is_unlimited());
    assert!(gate.after_read(30_000, t0).is_some());
    gate.lift();
    assert!(gate.is_unlimited());
    assert_eq!(gate.after_read(30_000, t0), None);
}

#[test]
fn guide_websocket_limit_gives_fifty_kb_at_once_then_ten_kb_per_second() {
    let t0 = Instant::now();
    let spec = LimitValue::Table(vec![
        ("rate".into(), LimitValue::Str("10kb/s".into())),
        ("burst".into(), LimitValue::Str("50kb".into())),
    ]);
    let config = LimitsConfig::from_entries(&[("websocket".into(), spec)]);
    let rate = config.for_session_type(SessionKind::WebSocket).unwrap();
    assert_eq!(
        rate,
        Rate {
            bytes_per_second: 10_000.0,
            burst: Burst::Bytes(50_000.0)
        }
    );
    let mut gate = ReadGate::new(Some(rate), config.resolution(), t0);
    for _ in 0..5 {
        assert_eq!(gate.after_read(10_000, t0), None);
    }
    // 10 kB over: one second at 10 kB/s, which is also the 1 s resolution.
    assert_eq!(gate.after_read(10_000, t0), Some(Duration::from_secs(1)));
}

#[test]
fn hits_are_counted_per_read_but_episodes_once_per_flood() {
    let t0 = Instant::now();
    let counters = Arc::new(LimitCounters::new());
    let rate = Rate {
        bytes_per_second: 10_000.0,
        burst: Burst::Seconds(1.0),
    };
    let mut gate = ReadGate::new(Some(rate), ms(1), t0)
        .with_counters(Arc::clone(&counters))
        .with_episode(Episode::new(Duration::from_secs(10)));
    let mut now = t0;
    fn flood_for(gate: &mut ReadGate, now: &mut Instant, secs: u64) {
        let end = *now + Duration::from_secs(secs);
        while *now < end {
            if let Some(d) = gate.after_read(4096, *now) {
                *now += d;
            }
        }
    }
    flood_for(&mut gate, &mut now, 5);
    let first = counters.snapshot();
    assert!(first.read_pauses >= 10, "{first:?}");
    assert_eq!(first.throttle_episodes, 1);
    // Quiet for a minute, then another flood: a second episode.
    now += Duration::from_secs(60);
    flood_for(&mut gate, &mut now, 5);
    let second = counters.snapshot();
    assert!(second.read_pauses > first.read_pauses);
    assert_eq!(second.throttle_episodes, 2);
    assert!(second.paused_micros > 7_000_000, "{second:?}");
    assert!(Arc::ptr_eq(gate.counters(), &counters));
}
