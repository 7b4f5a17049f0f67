//! Measurements of one scenario run: counters, HDR latency histograms, /proc samples,
//! and their JSON and human-readable forms.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{json, Value};

use crate::procstat::ProcSample;

/// Latencies in microseconds (1 µs .. 120 s, 3 significant digits).
pub struct Latency(Histogram<u64>);

impl Default for Latency {
    fn default() -> Self {
        Latency(Histogram::new_with_bounds(1, 120_000_000, 3).expect("static bounds are valid"))
    }
}

impl Latency {
    pub fn record(&mut self, d: Duration) {
        self.record_us(d.as_micros() as u64);
    }

    pub fn record_us(&mut self, us: u64) {
        self.0.saturating_record(us.max(1));
    }

    pub fn merge(&mut self, other: &Latency) {
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.0.add(&other.0);
    }

    pub fn to_json(&self) -> Value {
        if self.0.is_empty() {
            return json!(null);
        }
        json!({
            "count": self.0.len(),
            "p50_us": self.0.value_at_quantile(0.50),
            "p99_us": self.0.value_at_quantile(0.99),
            "p999_us": self.0.value_at_quantile(0.999),
            "max_us": self.0.max(),
        })
    }
}

/// Errors, deduplicated by message, with a count (a run of 5 000 sessions must not print
/// 5 000 identical lines).
#[derive(Default)]
pub struct Errors {
    total: u64,
    distinct: Vec<(String, u64)>,
}

impl Errors {
    pub fn push(&mut self, msg: impl Into<String>) {
        let msg = msg.into();
        self.total += 1;
        if let Some(e) = self.distinct.iter_mut().find(|(m, _)| *m == msg) {
            e.1 += 1;
        } else if self.distinct.len() < 20 {
            self.distinct.push((msg, 1));
        }
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn to_json(&self) -> Value {
        Value::Array(
            self.distinct
                .iter()
                .map(|(m, n)| json!({"count": n, "error": m}))
                .collect(),
        )
    }
}

/// The login phase every scenario starts with.
#[derive(Default)]
pub struct ConnectStats {
    pub ok: u64,
    pub failed: u64,
    pub secs: f64,
    pub latency: Latency,
    pub server_cpu_s: f64,
}

/// Everything one scenario measured.
#[derive(Default)]
pub struct Outcome {
    pub scenario: String,
    pub sessions: usize,
    pub connect: ConnectStats,
    /// Length of the measured phase (after connecting).
    pub secs: f64,
    /// What `ops` counts ("messages", "pings", "logins", ...).
    pub unit: &'static str,
    pub ops: u64,
    /// Messages the scenario must see delivered (`sent`) and those that arrived.
    pub sent: u64,
    pub received: u64,
    pub latency: Latency,
    pub server_before: ProcSample,
    pub server_after: ProcSample,
    pub client_cpu_s: f64,
    pub extra: serde_json::Map<String, Value>,
    pub errors: Errors,
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

impl Outcome {
    pub fn lost(&self) -> u64 {
        self.sent.saturating_sub(self.received)
    }

    /// A run passes when every session logged in, nothing was lost and nothing failed.
    pub fn passed(&self) -> bool {
        self.connect.failed == 0 && self.lost() == 0 && self.errors.total() == 0
    }

    pub fn ops_per_s(&self) -> f64 {
        if self.secs > 0.0 {
            self.ops as f64 / self.secs
        } else {
            0.0
        }
    }

    pub fn server_cpu_s(&self) -> f64 {
        self.server_after.cpu_s - self.server_before.cpu_s
    }

    pub fn to_json(&self, label: &str) -> Value {
        let cpu = self.server_cpu_s();
        json!({
            "target": label,
            "scenario": self.scenario,
            "passed": self.passed(),
            "sessions": self.sessions,
            "connect": {
                "ok": self.connect.ok,
                "failed": self.connect.failed,
                "secs": round(self.connect.secs, 3),
                "per_s": round(if self.connect.secs > 0.0 { self.connect.ok as f64 / self.connect.secs } else { 0.0 }, 1),
                "latency": self.connect.latency.to_json(),
                "server_cpu_s": round(self.connect.server_cpu_s, 3),
            },
            "secs": round(self.secs, 3),
            "unit": self.unit,
            "ops": self.ops,
            "ops_per_s": round(self.ops_per_s(), 1),
            "ops_per_server_cpu_s": if cpu > 0.0 { round(self.ops as f64 / cpu, 1) } else { 0.0 },
            "sent": self.sent,
            "received": self.received,
            "lost": self.lost(),
            "latency": self.latency.to_json(),
            "server": {
                "cpu_s": round(cpu, 3),
                "rss_before_kib": self.server_before.rss_kib,
                "rss_after_kib": self.server_after.rss_kib,
                "rss_peak_kib": self.server_after.hwm_kib,
            },
            "client_cpu_s": round(self.client_cpu_s, 3),
            "extra": self.extra,
            "errors": self.errors.to_json(),
        })
    }

    /// A few human-readable lines for the terminal.
    pub fn human(&self, label: &str) -> String {
        let lat = |l: &Latency| match l.to_json() {
            Value::Null => "-".to_string(),
            v => format!(
                "p50 {} µs, p99 {} µs, p99.9 {} µs",
                v["p50_us"], v["p99_us"], v["p999_us"]
            ),
        };
        let mut s = format!(
            "[{label}] {} — {}\n  sessions {} (ok {}, failed {}) in {:.2} s = {:.0}/s; login {}\n",
            self.scenario,
            if self.passed() { "PASSED" } else { "FAILED" },
            self.sessions,
            self.connect.ok,
            self.connect.failed,
            self.connect.secs,
            self.connect.ok as f64 / self.connect.secs.max(1e-9),
            lat(&self.connect.latency),
        );
        s += &format!(
            "  {} {} in {:.2} s = {:.0}/s; {}\n  sent {} received {} lost {}\n",
            self.ops,
            self.unit,
            self.secs,
            self.ops_per_s(),
            lat(&self.latency),
            self.sent,
            self.received,
            self.lost()
        );
        s += &format!(
            "  server: cpu {:.2} s, rss {} -> {} KiB (peak {}); bench client cpu {:.2} s\n",
            self.server_cpu_s(),
            self.server_before.rss_kib,
            self.server_after.rss_kib,
            self.server_after.hwm_kib,
            self.client_cpu_s
        );
        for (k, v) in &self.extra {
            s += &format!("  {k}: {v}\n");
        }
        for (m, n) in &self.errors.distinct {
            s += &format!("  error ×{n}: {m}\n");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_fails_on_any_lost_message() {
        let mut o = Outcome {
            sent: 10,
            received: 10,
            ..Default::default()
        };
        assert!(o.passed());
        o.received = 9;
        assert!(!o.passed());
        assert_eq!(o.to_json("x")["lost"], 1);
    }

    #[test]
    fn errors_are_counted_once_per_message() {
        let mut e = Errors::default();
        e.push("a");
        e.push("a");
        e.push("b");
        assert_eq!(e.total(), 3);
        assert_eq!(e.to_json()[0]["count"], 2);
    }
}
