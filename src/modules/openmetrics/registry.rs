//! The process-wide metrics registry: relaxed atomics the connection drivers bump, and the
//! OpenMetrics text rendering. Process-wide like Prosody's statsmanager: one server per
//! process is the normal case, and tests compare before/after values.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// How a connection reached Lilt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// A plain-HTTP connection of the `http` service.
    Http,
    /// A TLS connection of the `https` service.
    Https,
    /// An upgraded XMPP-over-WebSocket connection.
    Websocket,
    /// A c2s connection over raw TCP (plain, STARTTLS or direct TLS).
    C2s,
    /// A c2s session over BOSH (XEP-0206), however many HTTP requests carry it.
    Bosh,
}

impl Transport {
    const ALL: [Transport; 5] = [
        Transport::Http,
        Transport::Https,
        Transport::Websocket,
        Transport::C2s,
        Transport::Bosh,
    ];

    fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            Transport::Http => "http",
            Transport::Https => "https",
            Transport::Websocket => "websocket",
            Transport::C2s => "c2s",
            Transport::Bosh => "bosh",
        }
    }
}

/// A limit that refused or ended something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    /// `websocket_max_frame_size` (close 1009).
    FrameSize,
    /// `c2s_stanza_size_limit` / the unauthenticated limit.
    StanzaSize,
    /// `websocket_frame_buffer_limit`.
    FrameBuffer,
    /// `websocket_pong_timeout`.
    PongTimeout,
    /// `websocket_origin_check`.
    Origin,
    /// `limits` rate limiting (reads paused).
    Rate,
}

impl LimitKind {
    const ALL: [LimitKind; 6] = [
        LimitKind::FrameSize,
        LimitKind::StanzaSize,
        LimitKind::FrameBuffer,
        LimitKind::PongTimeout,
        LimitKind::Origin,
        LimitKind::Rate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            LimitKind::FrameSize => "websocket_max_frame_size",
            LimitKind::StanzaSize => "stanza_size",
            LimitKind::FrameBuffer => "websocket_frame_buffer_limit",
            LimitKind::PongTimeout => "websocket_pong_timeout",
            LimitKind::Origin => "websocket_origin_check",
            LimitKind::Rate => "rate",
        }
    }
}

/// Upper bounds (seconds) of the ping latency histogram buckets.
pub const LATENCY_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

const T: usize = Transport::ALL.len();
const L: usize = LimitKind::ALL.len();
const B: usize = LATENCY_BUCKETS.len();

/// All counters. Use [`metrics()`] for the process-wide instance.
#[derive(Debug)]
pub struct Metrics {
    open: [AtomicI64; T],
    opened: [AtomicU64; T],
    bytes_in: [AtomicU64; T],
    bytes_out: [AtomicU64; T],
    sessions: AtomicI64,
    stanzas_in: AtomicU64,
    stanzas_out: AtomicU64,
    latency_buckets: [AtomicU64; B],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
    limit_hits: [AtomicU64; L],
    errors: AtomicU64,
}

#[allow(clippy::declare_interior_mutable_const)]
const ZERO_U: AtomicU64 = AtomicU64::new(0);
#[allow(clippy::declare_interior_mutable_const)]
const ZERO_I: AtomicI64 = AtomicI64::new(0);

static METRICS: Metrics = Metrics::new();

/// The process-wide registry.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub const fn new() -> Metrics {
        Metrics {
            open: [ZERO_I; T],
            opened: [ZERO_U; T],
            bytes_in: [ZERO_U; T],
            bytes_out: [ZERO_U; T],
            sessions: ZERO_I,
            stanzas_in: ZERO_U,
            stanzas_out: ZERO_U,
            latency_buckets: [ZERO_U; B],
            latency_count: ZERO_U,
            latency_sum_micros: ZERO_U,
            limit_hits: [ZERO_U; L],
            errors: ZERO_U,
        }
    }

    pub fn connection_opened(&self, t: Transport) {
        self.open[t.index()].fetch_add(1, Ordering::Relaxed);
        self.opened[t.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub fn connection_closed(&self, t: Transport) {
        self.open[t.index()].fetch_sub(1, Ordering::Relaxed);
    }

    pub fn bytes_in(&self, t: Transport, n: usize) {
        self.bytes_in[t.index()].fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn bytes_out(&self, t: Transport, n: usize) {
        self.bytes_out[t.index()].fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn session_bound(&self) {
        self.sessions.fetch_add(1, Ordering::Relaxed);
    }

    pub fn session_unbound(&self) {
        self.sessions.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn stanza_in(&self) {
        self.stanzas_in.fetch_add(1, Ordering::Relaxed);
    }

    pub fn stanza_out(&self) {
        self.stanzas_out.fetch_add(1, Ordering::Relaxed);
    }

    pub fn limit_hit(&self, kind: LimitKind) {
        self.limit_hits[kind as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// A connection ended because of an error (protocol, timeout, write failure).
    pub fn connection_error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    pub fn observe_ping_latency(&self, rtt: Duration) {
        let secs = rtt.as_secs_f64();
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            if secs <= *bound {
                self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(rtt.as_micros()).unwrap_or(u64::MAX);
        self.latency_sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Open connections of one transport now.
    pub fn open_connections(&self, t: Transport) -> i64 {
        self.open[t.index()].load(Ordering::Relaxed)
    }

    /// Limit hits of one kind so far.
    pub fn limit_hits(&self, kind: LimitKind) -> u64 {
        self.limit_hits[kind as usize].load(Ordering::Relaxed)
    }

    /// The whole registry in the OpenMetrics text format (ends with `# EOF`).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let geti = |a: &AtomicI64| a.load(Ordering::Relaxed).max(0);
        family(
            &mut out,
            "lilt_connections",
            "gauge",
            "Open connections by transport.",
        );
        for t in Transport::ALL {
            let _ = writeln!(
                out,
                "lilt_connections{{transport=\"{}\"}} {}",
                t.name(),
                geti(&self.open[t.index()])
            );
        }
        family(
            &mut out,
            "lilt_connections_opened",
            "counter",
            "Connections accepted by transport.",
        );
        for t in Transport::ALL {
            let _ = writeln!(
                out,
                "lilt_connections_opened_total{{transport=\"{}\"}} {}",
                t.name(),
                get(&self.opened[t.index()])
            );
        }
        family(
            &mut out,
            "lilt_connection_errors",
            "counter",
            "Connections that ended with an error.",
        );
        let _ = writeln!(out, "lilt_connection_errors_total {}", get(&self.errors));
        family(&mut out, "lilt_sessions", "gauge", "Bound client sessions.");
        let _ = writeln!(out, "lilt_sessions {}", geti(&self.sessions));
        family(
            &mut out,
            "lilt_stanzas",
            "counter",
            "Stanzas received from and sent to clients.",
        );
        let _ = writeln!(
            out,
            "lilt_stanzas_total{{direction=\"in\"}} {}",
            get(&self.stanzas_in)
        );
        let _ = writeln!(
            out,
            "lilt_stanzas_total{{direction=\"out\"}} {}",
            get(&self.stanzas_out)
        );
        family(
            &mut out,
            "lilt_bytes",
            "counter",
            "Bytes received and sent, by transport.",
        );
        for t in Transport::ALL {
            let i = t.index();
            let _ = writeln!(
                out,
                "lilt_bytes_total{{transport=\"{}\",direction=\"in\"}} {}",
                t.name(),
                get(&self.bytes_in[i])
            );
            let _ = writeln!(
                out,
                "lilt_bytes_total{{transport=\"{}\",direction=\"out\"}} {}",
                t.name(),
                get(&self.bytes_out[i])
            );
        }
        family(
            &mut out,
            "lilt_websocket_ping_latency_seconds",
            "histogram",
            "Round-trip time of server pings.",
        );
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "lilt_websocket_ping_latency_seconds_bucket{{le=\"{bound}\"}} {}",
                get(&self.latency_buckets[i])
            );
        }
        let count = get(&self.latency_count);
        let _ = writeln!(
            out,
            "lilt_websocket_ping_latency_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let sum = get(&self.latency_sum_micros) as f64 / 1e6;
        let _ = writeln!(out, "lilt_websocket_ping_latency_seconds_sum {sum}");
        let _ = writeln!(out, "lilt_websocket_ping_latency_seconds_count {count}");
        family(
            &mut out,
            "lilt_limit_hits",
            "counter",
            "Times a configured limit refused or ended something.",
        );
        for k in LimitKind::ALL {
            let _ = writeln!(
                out,
                "lilt_limit_hits_total{{limit=\"{}\"}} {}",
                k.name(),
                get(&self.limit_hits[k as usize])
            );
        }
        // Families Lua plugins declared (module:metric / module:measure).
        super::families::families().render_into(&mut out);
        out.push_str("# EOF\n");
        out
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# TYPE {name} {kind}");
    let _ = writeln!(out, "# HELP {name} {help}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_is_openmetrics_with_types_and_eof() {
        let m = Metrics::new();
        m.connection_opened(Transport::Websocket);
        m.bytes_in(Transport::Websocket, 10);
        m.stanza_in();
        m.limit_hit(LimitKind::FrameSize);
        m.observe_ping_latency(Duration::from_millis(20));
        let text = m.render();
        assert!(text.ends_with("# EOF\n"));
        assert!(text.contains("# TYPE lilt_connections gauge\n"));
        assert!(text.contains("lilt_connections{transport=\"websocket\"} 1\n"));
        assert!(text.contains("lilt_connections_opened_total{transport=\"websocket\"} 1\n"));
        assert!(text.contains("lilt_bytes_total{transport=\"websocket\",direction=\"in\"} 10\n"));
        assert!(text.contains("lilt_stanzas_total{direction=\"in\"} 1\n"));
        assert!(text.contains("lilt_limit_hits_total{limit=\"websocket_max_frame_size\"} 1\n"));
        assert!(text.contains("lilt_websocket_ping_latency_seconds_bucket{le=\"0.01\"} 0\n"));
        assert!(text.contains("lilt_websocket_ping_latency_seconds_bucket{le=\"0.025\"} 1\n"));
        assert!(text.contains("lilt_websocket_ping_latency_seconds_count 1\n"));
        // Counter samples carry the _total suffix, their family names do not.
        assert!(!text.contains("# TYPE lilt_stanzas_total"));
    }

    #[test]
    fn gauges_go_down_when_closed() {
        let m = Metrics::new();
        m.connection_opened(Transport::Http);
        m.connection_closed(Transport::Http);
        assert_eq!(m.open_connections(Transport::Http), 0);
        m.session_bound();
        m.session_unbound();
        assert!(m.render().contains("lilt_sessions 0\n"));
    }
}
