//! The guide's WebSocket options Prosody 0.12 lacks (reference §11), read from the config:
//! each `websocket_*` option may be given flat or inside the guide's `websocket_config = { … }`
//! table; where both are set the flat option wins (and `check config` says so).

use std::time::Duration;

use crate::config::units::{parse_bytes, parse_duration};
use crate::config::{Config, Value};

/// A `websocket_*` option: the flat global option, else the `websocket_config` entry.
pub fn websocket_option<'a>(config: &'a Config, key: &str) -> Option<&'a Value> {
    let g = config.global();
    g.get(key).or_else(|| match g.get("websocket_config") {
        Some(Value::Table(t)) => t.get(key),
        _ => None,
    })
}

fn seconds(v: &Value) -> Option<Duration> {
    let s = match v {
        Value::String(s) => parse_duration(s)?,
        other => other.as_f64()?,
    };
    (s.is_finite() && s >= 0.0).then(|| Duration::from_secs_f64(s))
}

fn bytes(v: &Value) -> Option<usize> {
    match v {
        Value::String(s) => parse_bytes(s).map(|n| n as usize),
        other => other.as_f64().filter(|n| *n >= 0.0).map(|n| n as usize),
    }
}

/// `connection_monitoring = { enabled, track_latency, track_bandwidth, max_error_rate }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Monitoring {
    pub enabled: bool,
    /// Log each connection's ping round-trip time when it ends.
    pub track_latency: bool,
    /// Log each connection's bytes in/out when it ends.
    pub track_bandwidth: bool,
    /// Share of connections ending in an error above which a warning is logged.
    pub max_error_rate: f64,
}

impl Default for Monitoring {
    fn default() -> Self {
        Monitoring {
            enabled: false,
            track_latency: true,
            track_bandwidth: true,
            max_error_rate: 0.05,
        }
    }
}

impl Monitoring {
    pub fn from_config(config: &Config) -> Monitoring {
        let mut m = Monitoring::default();
        let Some(Value::Table(t)) = config.global().get("connection_monitoring") else {
            return m;
        };
        let flag = |k: &str, d: bool| match t.get(k) {
            Some(Value::Bool(b)) => *b,
            _ => d,
        };
        // A table without `enabled` is taken as "on": writing it is the intent.
        m.enabled = flag("enabled", true);
        m.track_latency = flag("track_latency", m.track_latency);
        m.track_bandwidth = flag("track_bandwidth", m.track_bandwidth);
        if let Some(r) = t.get("max_error_rate").and_then(Value::as_f64) {
            m.max_error_rate = r;
        }
        m
    }
}

/// The WebSocket edge options the connection driver needs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EdgeOptions {
    /// `websocket_max_frame_size`: frames with a larger payload are closed with 1009.
    pub max_frame_size: Option<usize>,
    /// `websocket_frame_buffer_limit` given inside `websocket_config` (the flat option is
    /// already in `C2sSettings`).
    pub frame_buffer_limit: Option<usize>,
    /// `websocket_ping_interval`: ping on this timer instead of after `read_timeout` idle.
    pub ping_interval: Option<Duration>,
    /// `websocket_pong_timeout`: close the session when a ping stays unanswered this long.
    pub pong_timeout: Option<Duration>,
    /// `websocket_close_timeout` (else `c2s_close_timeout`).
    pub close_timeout: Option<Duration>,
    pub monitoring: Monitoring,
}

impl EdgeOptions {
    pub fn from_config(config: &Config) -> EdgeOptions {
        let opt = |k: &str| websocket_option(config, k);
        EdgeOptions {
            max_frame_size: opt("websocket_max_frame_size").and_then(bytes),
            frame_buffer_limit: opt("websocket_frame_buffer_limit").and_then(bytes),
            ping_interval: opt("websocket_ping_interval")
                .and_then(seconds)
                .filter(|d| !d.is_zero()),
            pong_timeout: opt("websocket_pong_timeout")
                .and_then(seconds)
                .filter(|d| !d.is_zero()),
            close_timeout: opt("websocket_close_timeout").and_then(seconds),
            monitoring: Monitoring::from_config(config),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn load(text: &str) -> Config {
        Config::load_str(Path::new("/tmp/edge-test.cfg.lua"), text).expect("config")
    }

    #[test]
    fn table_form_is_read_and_flat_options_win() {
        let c = load(
            "websocket_config = { websocket_max_frame_size = 1024 * 1024, \
             websocket_ping_interval = 30, websocket_pong_timeout = 10, \
             websocket_close_timeout = 5, websocket_frame_buffer_limit = \"2MiB\" }\n\
             websocket_ping_interval = 60\n",
        );
        let o = EdgeOptions::from_config(&c);
        assert_eq!(o.max_frame_size, Some(1024 * 1024));
        assert_eq!(o.ping_interval, Some(Duration::from_secs(60)));
        assert_eq!(o.pong_timeout, Some(Duration::from_secs(10)));
        assert_eq!(o.close_timeout, Some(Duration::from_secs(5)));
        assert_eq!(o.frame_buffer_limit, Some(2 * 1024 * 1024));
    }

    #[test]
    fn nothing_configured_means_prosody_behaviour() {
        let o = EdgeOptions::from_config(&load("\n"));
        assert_eq!(o, EdgeOptions::default());
        assert!(!o.monitoring.enabled);
    }

    #[test]
    fn monitoring_table_is_parsed() {
        let c = load("connection_monitoring = { enabled = true, track_latency = false, max_error_rate = 0.2 }\n");
        let m = Monitoring::from_config(&c);
        assert!(m.enabled && !m.track_latency && m.track_bandwidth);
        assert_eq!(m.max_error_rate, 0.2);
        let off = Monitoring::from_config(&load("connection_monitoring = { enabled = false }\n"));
        assert!(!off.enabled);
    }
}
