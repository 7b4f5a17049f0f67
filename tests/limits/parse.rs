//! The `limits` / `limits_resolution` options: Prosody 0.12's parsing rules (reference
//! §7.1) and Lilt's extensions (byte-sized burst, `websocket` entry).

use std::time::Duration;

use lilt::modules::limits::parse::{parse_burst, parse_rate};
use lilt::modules::limits::{Burst, LimitValue, LimitsConfig, LimitsDiagnostic, Rate, SessionKind};

fn s(v: &str) -> LimitValue {
    LimitValue::Str(v.to_owned())
}

fn entry(rate: Option<LimitValue>, burst: Option<LimitValue>) -> LimitValue {
    let mut fields = Vec::new();
    if let Some(r) = rate {
        fields.push(("rate".to_owned(), r));
    }
    if let Some(b) = burst {
        fields.push(("burst".to_owned(), b));
    }
    LimitValue::Table(fields)
}

fn one(kind: &str, spec: LimitValue) -> LimitsConfig {
    LimitsConfig::from_entries(&[(kind.to_owned(), spec)])
}

fn rate_of(config: &LimitsConfig, kind: SessionKind) -> f64 {
    config
        .for_session_type(kind)
        .expect("limited")
        .bytes_per_second
}

#[test]
fn defaults_limit_c2s_and_s2sin_with_two_second_burst_and_leave_s2sout_unlimited() {
    let config = LimitsConfig::defaults();
    let c2s = config.for_session_type(SessionKind::C2s).unwrap();
    assert_eq!(
        c2s,
        Rate {
            bytes_per_second: 10240.0,
            burst: Burst::Seconds(2.0)
        }
    );
    assert_eq!(c2s.bucket_bytes(), 20480.0);
    assert_eq!(rate_of(&config, SessionKind::S2sIn), 30720.0);
    assert_eq!(config.for_session_type(SessionKind::S2sOut), None);
    assert_eq!(config.for_session_type(SessionKind::Component), None);
    assert_eq!(config.resolution(), Duration::from_secs(1));
    assert!(config.diagnostics().is_empty());
    assert_eq!(LimitsConfig::from_options(None, None), config);
}

#[test]
fn rates_use_decimal_units_picked_by_first_letter_any_case() {
    assert_eq!(parse_rate("10kb/s"), Some(10_000.0));
    assert_eq!(parse_rate("2MB/s"), Some(2_000_000.0));
    assert_eq!(parse_rate("10 kb/s"), Some(10_000.0));
    assert_eq!(parse_rate("512b/s"), Some(512.0));
    assert_eq!(parse_rate("3Gbit/s"), Some(3e9));
    assert_eq!(parse_rate("1tb/s"), Some(1e12));
    assert_eq!(parse_rate("7 kilobytes/s"), Some(7_000.0));
}

#[test]
fn rates_without_the_exact_shape_are_unparseable() {
    for bad in [
        "1.5kb/s", "kb/s", "10/s", "10 /s", "10kb", "10kb/S", " 10kb/s", "10  kb/s", "10xb/s",
        "10kb/s/s", "0kb/s", "-5kb/s", "",
    ] {
        assert_eq!(parse_rate(bad), None, "{bad:?} should not parse");
    }
}

#[test]
fn unparseable_rate_logs_prosodys_error_and_uses_3000() {
    let config = one("c2s", entry(Some(s("1.5kb/s")), None));
    assert_eq!(rate_of(&config, SessionKind::C2s), 3000.0);
    assert_eq!(
        config.diagnostics()[0].to_string(),
        "Error parsing rate for c2s: \"1.5kb/s\", using default rate (3000 bytes/s)"
    );
    assert!(config.diagnostics()[0].is_error());
}

#[test]
fn missing_rate_is_an_error_and_uses_3000_even_when_burst_is_given() {
    let config = one("c2s", entry(None, Some(s("5s"))));
    let c2s = config.for_session_type(SessionKind::C2s).unwrap();
    assert_eq!(
        c2s,
        Rate {
            bytes_per_second: 3000.0,
            burst: Burst::Seconds(5.0)
        }
    );
    assert_eq!(
        config.diagnostics(),
        &[LimitsDiagnostic::BadRate {
            session_type: "c2s".into(),
            value: "nil".into()
        }]
    );
}

#[test]
fn numeric_rate_is_unparseable() {
    let config = one("s2sin", entry(Some(LimitValue::Number(10240.0)), None));
    assert_eq!(rate_of(&config, SessionKind::S2sIn), 3000.0);
    assert_eq!(config.diagnostics().len(), 1);
}

#[test]
fn bursts_are_seconds_as_string_or_number_or_bytes_with_units() {
    assert_eq!(parse_burst(&s("2s")), Some(Burst::Seconds(2.0)));
    assert_eq!(parse_burst(&s("2 s")), Some(Burst::Seconds(2.0)));
    assert_eq!(
        parse_burst(&LimitValue::Number(3.0)),
        Some(Burst::Seconds(3.0))
    );
    assert_eq!(
        parse_burst(&LimitValue::Number(0.5)),
        Some(Burst::Seconds(0.5))
    );
    assert_eq!(parse_burst(&s("50kb")), Some(Burst::Bytes(50_000.0)));
    assert_eq!(parse_burst(&s("1 MB")), Some(Burst::Bytes(1_000_000.0)));
    for bad in ["1.5s", "2 seconds", "fast", "10kb/s", "s", ""] {
        assert_eq!(parse_burst(&s(bad)), None, "{bad:?} should not parse");
    }
    assert_eq!(parse_burst(&LimitValue::Number(-1.0)), None);
    assert_eq!(parse_burst(&LimitValue::Bool(true)), None);
}

#[test]
fn bucket_size_is_rate_times_seconds_or_the_byte_burst() {
    let secs = one(
        "c2s",
        entry(Some(s("10kb/s")), Some(LimitValue::Number(3.0))),
    );
    assert_eq!(
        secs.for_session_type(SessionKind::C2s)
            .unwrap()
            .bucket_bytes(),
        30_000.0
    );
    let bytes = one("c2s", entry(Some(s("10kb/s")), Some(s("50kb"))));
    assert_eq!(
        bytes
            .for_session_type(SessionKind::C2s)
            .unwrap()
            .bucket_bytes(),
        50_000.0
    );
}

#[test]
fn unparseable_burst_is_an_error_and_uses_two_seconds() {
    let config = one("c2s", entry(Some(s("10kb/s")), Some(s("1.5s"))));
    let c2s = config.for_session_type(SessionKind::C2s).unwrap();
    assert_eq!(
        c2s,
        Rate {
            bytes_per_second: 10_000.0,
            burst: Burst::Seconds(2.0)
        }
    );
    assert_eq!(
        config.diagnostics()[0].to_string(),
        "Error parsing burst for c2s: \"1.5s\", using default burst interval (2s)"
    );
}

#[test]
fn configuring_one_type_keeps_the_other_defaults() {
    let config = one("s2sout", entry(Some(s("100kb/s")), None));
    assert_eq!(rate_of(&config, SessionKind::S2sOut), 100_000.0);
    assert_eq!(rate_of(&config, SessionKind::C2s), 10240.0);
    assert_eq!(rate_of(&config, SessionKind::S2sIn), 30720.0);
    assert!(config.diagnostics().is_empty());
}

#[test]
fn websocket_entry_from_the_guide_governs_websocket_only() {
    let config = one("websocket", entry(Some(s("10kb/s")), Some(s("50kb"))));
    let ws = config.for_session_type(SessionKind::WebSocket).unwrap();
    assert_eq!(
        ws,
        Rate {
            bytes_per_second: 10_000.0,
            burst: Burst::Bytes(50_000.0)
        }
    );
    assert_eq!(rate_of(&config, SessionKind::C2s), 10240.0);
    assert!(config.diagnostics().is_empty());
}

#[test]
fn websocket_falls_back_to_c2s_when_absent() {
    assert_eq!(
        LimitsConfig::defaults().for_session_type(SessionKind::WebSocket),
        LimitsConfig::defaults().for_session_type(SessionKind::C2s)
    );
    let config = one("c2s", entry(Some(s("2MB/s")), Some(s("1s"))));
    let ws = config.for_session_type(SessionKind::WebSocket).unwrap();
    assert_eq!(
        ws,
        Rate {
            bytes_per_second: 2e6,
            burst: Burst::Seconds(1.0)
        }
    );
}

#[test]
fn s2s_and_component_entries_are_ready_for_their_transports() {
    let config = LimitsConfig::from_entries(&[
        ("s2sin".into(), entry(Some(s("50kb/s")), None)),
        ("s2sout".into(), entry(Some(s("60kb/s")), None)),
        ("component".into(), entry(Some(s("1mb/s")), None)),
    ]);
    assert_eq!(rate_of(&config, SessionKind::S2sIn), 50_000.0);
    assert_eq!(rate_of(&config, SessionKind::S2sOut), 60_000.0);
    assert_eq!(rate_of(&config, SessionKind::Component), 1e6);
}

#[test]
fn unknown_session_type_is_kept_but_warned_about() {
    let config = one("bosh", entry(Some(s("10kb/s")), None));
    assert_eq!(
        config.diagnostics(),
        &[LimitsDiagnostic::UnknownSessionType {
            session_type: "bosh".into()
        }]
    );
    assert!(!config.diagnostics()[0].is_error());
    assert!(config.entries().any(|(k, _)| k == "bosh"));
    assert_eq!(rate_of(&config, SessionKind::C2s), 10240.0);
}

#[test]
fn entry_that_is_not_a_table_is_an_error_with_the_fallback_rate() {
    let config = one("c2s", s("10kb/s"));
    assert_eq!(rate_of(&config, SessionKind::C2s), 3000.0);
    assert!(matches!(
        config.diagnostics()[0],
        LimitsDiagnostic::EntryNotATable { .. }
    ));
}

#[test]
fn limits_that_is_not_a_table_keeps_the_defaults() {
    let config = LimitsConfig::from_options(Some(&s("10kb/s")), None);
    assert_eq!(rate_of(&config, SessionKind::C2s), 10240.0);
    assert!(matches!(
        config.diagnostics()[0],
        LimitsDiagnostic::NotATable { .. }
    ));
}

#[test]
fn limits_resolution_accepts_positive_seconds_and_falls_back_to_one() {
    let table = LimitValue::Table(vec![]);
    let res = |v: LimitValue| LimitsConfig::from_options(Some(&table), Some(&v));
    assert_eq!(
        res(LimitValue::Number(0.5)).resolution(),
        Duration::from_millis(500)
    );
    assert_eq!(res(s("0.25")).resolution(), Duration::from_millis(250));
    for bad in [
        LimitValue::Number(0.0),
        LimitValue::Number(-2.0),
        LimitValue::Bool(true),
        s("soon"),
    ] {
        let config = res(bad);
        assert_eq!(config.resolution(), Duration::from_secs(1));
        assert!(matches!(
            config.diagnostics()[0],
            LimitsDiagnostic::BadResolution { .. }
        ));
    }
}

#[test]
fn session_types_map_by_prefix_like_prosody() {
    assert_eq!(
        SessionKind::from_session_type("c2s_unauthed"),
        Some(SessionKind::C2s)
    );
    assert_eq!(
        SessionKind::from_session_type("c2s"),
        Some(SessionKind::C2s)
    );
    assert_eq!(
        SessionKind::from_session_type("s2sin_unauthed"),
        Some(SessionKind::S2sIn)
    );
    assert_eq!(
        SessionKind::from_session_type("s2sout"),
        Some(SessionKind::S2sOut)
    );
    assert_eq!(
        SessionKind::from_session_type("component"),
        Some(SessionKind::Component)
    );
    assert_eq!(SessionKind::from_session_type("local"), None);
    assert_eq!(SessionKind::WebSocket.key(), "websocket");
}
