//! Metric families declared at run time — Lua plugins' `module:metric` and
//! `module:measure` — with labels, rendered after Lilt's own metrics the way Prosody's
//! `util.openmetrics` renders them (`/` in a name becomes `__`, counters get `_total` and
//! `_created`). Process-wide like [`super::metrics()`]; the core thread updates, scrapes read.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{LazyLock, Mutex, MutexGuard};

/// A family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
    Summary,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "counter" => Kind::Counter,
            "gauge" => Kind::Gauge,
            "histogram" => Kind::Histogram,
            "summary" => Kind::Summary,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
            Kind::Summary => "summary",
        }
    }
}

/// Bucket bounds a histogram gets when its declaration names none (Prosody's `times`).
pub const DEFAULT_BUCKETS: [f64; 6] = [0.001, 0.01, 0.1, 1.0, 10.0, 100.0];

/// A plugin's mistake in using a family.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FamilyError {
    #[error("unknown metric family type: {0}")]
    UnknownKind(String),
    #[error("metric family {family} has {expected} labels, {given} given")]
    LabelCount {
        family: String,
        expected: usize,
        given: usize,
    },
    #[error("no such metric")]
    NoSuchMetric,
}

#[derive(Debug)]
struct Family {
    name: String,
    kind: Kind,
    unit: String,
    help: String,
    label_keys: Vec<String>,
    buckets: Vec<f64>,
    metrics: Vec<usize>,
}

#[derive(Debug)]
struct Metric {
    family: usize,
    labels: Vec<String>,
    value: f64,
    count: u64,
    sum: f64,
    bucket_counts: Vec<u64>,
    created: f64,
}

#[derive(Debug, Default)]
struct Inner {
    families: Vec<Family>,
    /// Rendered name -> the family now registered under it.
    by_name: HashMap<String, usize>,
    metrics: Vec<Metric>,
    by_labels: HashMap<(usize, Vec<String>), usize>,
}

/// The registry of run-time families.
#[derive(Debug, Default)]
pub struct Families {
    inner: Mutex<Inner>,
}

static FAMILIES: LazyLock<Families> = LazyLock::new(Families::default);

/// The process-wide registry served at `/metrics`.
pub fn families() -> &'static Families {
    &FAMILIES
}

/// Prosody's metric name escaping: `/` becomes `__`, anything else not `[A-Za-z0-9_]`
/// becomes `_`, and a leading digit gets a `_` in front.
pub fn escape_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        match c {
            '/' => out.push_str("__"),
            c if c.is_ascii_alphanumeric() || c == '_' => out.push(c),
            _ => out.push('_'),
        }
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

fn escape_value(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Families {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Declares a family (or finds the same declaration made before, e.g. by the previous
    /// load of a reloaded plugin, so its values carry on). The unit is appended to the name
    /// as OpenMetrics asks. A different declaration under the same name replaces it.
    pub fn family(
        &self,
        kind: &str,
        name: &str,
        unit: &str,
        help: &str,
        label_keys: Vec<String>,
        buckets: Option<Vec<f64>>,
    ) -> Result<usize, FamilyError> {
        let kind = Kind::parse(kind).ok_or_else(|| FamilyError::UnknownKind(kind.to_owned()))?;
        let full = if unit.is_empty() {
            escape_name(name)
        } else {
            escape_name(&format!("{name}_{unit}"))
        };
        let mut inner = self.lock();
        if let Some(&id) = inner.by_name.get(&full) {
            let f = &inner.families[id];
            if f.kind == kind && f.label_keys == label_keys {
                return Ok(id);
            }
            tracing::debug!("replacing incompatible metric family {full}");
        }
        let mut buckets = buckets.unwrap_or_else(|| DEFAULT_BUCKETS.to_vec());
        buckets.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        let id = inner.families.len();
        inner.families.push(Family {
            name: full.clone(),
            kind,
            unit: unit.to_owned(),
            help: help.to_owned(),
            label_keys,
            buckets,
            metrics: Vec::new(),
        });
        inner.by_name.insert(full, id);
        Ok(id)
    }

    /// The metric of `family` with these label values (created at zero on first use).
    pub fn metric(&self, family: usize, labels: Vec<String>) -> Result<usize, FamilyError> {
        let mut inner = self.lock();
        let f = inner
            .families
            .get(family)
            .ok_or(FamilyError::NoSuchMetric)?;
        if f.label_keys.len() != labels.len() {
            return Err(FamilyError::LabelCount {
                family: f.name.clone(),
                expected: f.label_keys.len(),
                given: labels.len(),
            });
        }
        let buckets = f.buckets.len();
        let key = (family, labels);
        if let Some(&id) = inner.by_labels.get(&key) {
            return Ok(id);
        }
        let id = inner.metrics.len();
        inner.metrics.push(Metric {
            family,
            labels: key.1.clone(),
            value: 0.0,
            count: 0,
            sum: 0.0,
            bucket_counts: vec![0; buckets],
            created: now(),
        });
        inner.families[family].metrics.push(id);
        inner.by_labels.insert(key, id);
        Ok(id)
    }

    fn with_metric(
        &self,
        id: usize,
        f: impl FnOnce(&mut Metric, &[f64]),
    ) -> Result<(), FamilyError> {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let m = inner.metrics.get_mut(id).ok_or(FamilyError::NoSuchMetric)?;
        let buckets = &inner.families[m.family].buckets;
        f(m, buckets);
        Ok(())
    }

    /// A gauge's (or counter's) value.
    pub fn set(&self, id: usize, v: f64) -> Result<(), FamilyError> {
        self.with_metric(id, |m, _| m.value = v)
    }

    pub fn add(&self, id: usize, v: f64) -> Result<(), FamilyError> {
        self.with_metric(id, |m, _| m.value += v)
    }

    /// One observation of a histogram or summary.
    pub fn sample(&self, id: usize, v: f64) -> Result<(), FamilyError> {
        self.with_metric(id, |m, bounds| {
            m.count += 1;
            m.sum += v;
            for (i, b) in bounds.iter().enumerate() {
                if v <= *b {
                    m.bucket_counts[i] += 1;
                }
            }
        })
    }

    pub fn reset(&self, id: usize) -> Result<(), FamilyError> {
        self.with_metric(id, |m, _| {
            m.value = 0.0;
            m.count = 0;
            m.sum = 0.0;
            m.bucket_counts.iter_mut().for_each(|c| *c = 0);
            m.created = now();
        })
    }

    /// A gauge's or counter's current value (tests and the console read it).
    pub fn value(&self, id: usize) -> Option<f64> {
        self.lock().metrics.get(id).map(|m| m.value)
    }

    /// Appends every registered family in the OpenMetrics text format (no `# EOF`).
    pub fn render_into(&self, out: &mut String) {
        let inner = self.lock();
        let mut names: Vec<(&String, &usize)> = inner.by_name.iter().collect();
        names.sort();
        for (name, &fid) in names {
            let f = &inner.families[fid];
            let _ = writeln!(out, "# HELP {name} {}", f.help.replace('\n', "\\n"));
            if !f.unit.is_empty() {
                let _ = writeln!(out, "# UNIT {name} {}", f.unit);
            }
            let _ = writeln!(out, "# TYPE {name} {}", f.kind.name());
            for &mid in &f.metrics {
                render_metric(out, f, &inner.metrics[mid]);
            }
        }
    }
}

fn labels(f: &Family, m: &Metric, extra: Option<(&str, String)>) -> String {
    let mut parts: Vec<String> = f
        .label_keys
        .iter()
        .zip(&m.labels)
        .map(|(k, v)| format!("{}=\"{}\"", escape_name(k), escape_value(v)))
        .collect();
    if let Some((k, v)) = extra {
        parts.push(format!("{k}=\"{v}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

fn render_metric(out: &mut String, f: &Family, m: &Metric) {
    let n = &f.name;
    let l = labels(f, m, None);
    match f.kind {
        Kind::Gauge => {
            let _ = writeln!(out, "{n}{l} {}", m.value);
        }
        Kind::Counter => {
            let _ = writeln!(out, "{n}_total{l} {}", m.value);
            let _ = writeln!(out, "{n}_created{l} {}", m.created);
        }
        Kind::Histogram | Kind::Summary => {
            if f.kind == Kind::Histogram {
                for (b, c) in f.buckets.iter().zip(&m.bucket_counts) {
                    let lb = labels(f, m, Some(("le", b.to_string())));
                    let _ = writeln!(out, "{n}_bucket{lb} {c}");
                }
                let inf = labels(f, m, Some(("le", "+Inf".into())));
                let _ = writeln!(out, "{n}_bucket{inf} {}", m.count);
            }
            let _ = writeln!(out, "{n}_sum{l} {}", m.sum);
            let _ = writeln!(out, "{n}_count{l} {}", m.count);
            let _ = writeln!(out, "{n}_created{l} {}", m.created);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn names_are_escaped_as_prosody_does() {
        assert_eq!(
            escape_name("prosody_mod_greeter/greetings"),
            "prosody_mod_greeter__greetings"
        );
        assert_eq!(escape_name("a.b-c"), "a_b_c");
        assert_eq!(escape_name("1x"), "_1x");
    }

    #[test]
    fn a_labelled_counter_renders_total_and_created() {
        let r = Families::default();
        let f = r
            .family(
                "counter",
                "prosody_mod_g/hits",
                "",
                "Hits.",
                keys(&["host"]),
                None,
            )
            .expect("family");
        let m = r.metric(f, keys(&["a.test"])).expect("metric");
        r.add(m, 2.0).expect("add");
        r.add(m, 1.0).expect("add");
        let mut out = String::new();
        r.render_into(&mut out);
        assert!(
            out.contains("# TYPE prosody_mod_g__hits counter\n"),
            "{out}"
        );
        assert!(
            out.contains("prosody_mod_g__hits_total{host=\"a.test\"} 3\n"),
            "{out}"
        );
        assert!(out.contains("prosody_mod_g__hits_created{host=\"a.test\"} "));
    }

    #[test]
    fn redeclaring_the_same_family_keeps_its_values() {
        let r = Families::default();
        let f1 = r
            .family("gauge", "x/g", "bytes", "", Vec::new(), None)
            .expect("family");
        let m1 = r.metric(f1, Vec::new()).expect("metric");
        r.set(m1, 7.0).expect("set");
        let f2 = r
            .family("gauge", "x/g", "bytes", "", Vec::new(), None)
            .expect("family");
        assert_eq!(f1, f2);
        assert_eq!(r.metric(f2, Vec::new()), Ok(m1));
        let mut out = String::new();
        r.render_into(&mut out);
        assert!(out.contains("# UNIT x__g_bytes bytes\n"), "{out}");
        assert!(out.contains("x__g_bytes 7\n"), "{out}");
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_labels_must_match() {
        let r = Families::default();
        let f = r
            .family(
                "histogram",
                "h",
                "",
                "",
                keys(&["k"]),
                Some(vec![1.0, 10.0]),
            )
            .expect("family");
        assert!(matches!(
            r.metric(f, Vec::new()),
            Err(FamilyError::LabelCount { .. })
        ));
        let m = r.metric(f, keys(&["v"])).expect("metric");
        r.sample(m, 0.5).expect("sample");
        r.sample(m, 5.0).expect("sample");
        let mut out = String::new();
        r.render_into(&mut out);
        assert!(out.contains("h_bucket{k=\"v\",le=\"1\"} 1\n"), "{out}");
        assert!(out.contains("h_bucket{k=\"v\",le=\"10\"} 2\n"), "{out}");
        assert!(out.contains("h_bucket{k=\"v\",le=\"+Inf\"} 2\n"), "{out}");
        assert!(out.contains("h_count{k=\"v\"} 2\n"), "{out}");
        assert_eq!(
            r.family("bogus", "b", "", "", Vec::new(), None),
            Err(FamilyError::UnknownKind("bogus".into()))
        );
    }
}
