//! The `limits` and `limits_resolution` options, parsed the way Prosody 0.12's mod_limits
//! parses them (reference §7.1), plus Lilt's extensions: a byte-sized `burst` ("50kb") and
//! a `websocket` entry that governs WebSocket sessions (falling back to `c2s`).
//!
//! Input is a small value tree, [`LimitValue`], so this file does not depend on the config
//! module: the caller maps the evaluated config table onto it.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Rate used when an entry's `rate` is missing or unparseable (Prosody's fallback).
pub const FALLBACK_RATE: f64 = 3000.0;
/// Built-in `c2s` rate when mod_limits is loaded (bytes/s).
pub const DEFAULT_C2S_RATE: f64 = 10240.0;
/// Built-in `s2sin` rate when mod_limits is loaded (bytes/s).
pub const DEFAULT_S2SIN_RATE: f64 = 30720.0;
/// Burst used when `burst` is missing or unparseable.
pub const DEFAULT_BURST_SECS: f64 = 2.0;
/// Default `limits_resolution`.
pub const DEFAULT_RESOLUTION_SECS: f64 = 1.0;

/// A config value as mod_limits sees it. The lead maps config `Value`s onto this:
/// `Integer`/`Number` -> `Number`, `String` -> `Str`, `Bool` -> `Bool`, a table's keyed
/// part -> `Table` (sequence part and functions -> `Other`).
#[derive(Debug, Clone, PartialEq)]
pub enum LimitValue {
    Number(f64),
    Str(String),
    Bool(bool),
    Table(Vec<(String, LimitValue)>),
    /// Anything else (a function, an array); always a parse error here.
    Other,
}

impl LimitValue {
    fn get(&self, key: &str) -> Option<&LimitValue> {
        match self {
            LimitValue::Table(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Shown the way Prosody's `%q` would show it in the error line.
impl fmt::Display for LimitValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitValue::Number(n) => write!(f, "{n}"),
            LimitValue::Str(s) => write!(f, "{s:?}"),
            LimitValue::Bool(b) => write!(f, "{b}"),
            LimitValue::Table(_) => f.write_str("a table"),
            LimitValue::Other => f.write_str("an unsupported value"),
        }
    }
}

/// The kinds of session a limit can govern. Prosody keys `limits` by session type
/// (`c2s`, `s2sin`, `s2sout`, `component`); `websocket` is Lilt's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionKind {
    C2s,
    WebSocket,
    S2sIn,
    S2sOut,
    Component,
}

impl SessionKind {
    /// The key of this kind in the `limits` table.
    pub fn key(self) -> &'static str {
        match self {
            SessionKind::C2s => "c2s",
            SessionKind::WebSocket => "websocket",
            SessionKind::S2sIn => "s2sin",
            SessionKind::S2sOut => "s2sout",
            SessionKind::Component => "component",
        }
    }

    /// Maps a Prosody session type (`c2s_unauthed`, `s2sin`, ...) to a kind the way
    /// mod_limits does: by the part before the first `_`. WebSocket sessions are `c2s`
    /// in Prosody; a transport that knows better asks for [`SessionKind::WebSocket`].
    pub fn from_session_type(session_type: &str) -> Option<SessionKind> {
        let prefix = session_type.split('_').next().unwrap_or(session_type);
        [Self::C2s, Self::S2sIn, Self::S2sOut, Self::Component]
            .into_iter()
            .find(|kind| kind.key() == prefix)
    }
}

/// How much credit a session may spend at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Burst {
    /// Prosody's form (`"2s"`, `3`): the bucket holds `rate × seconds` bytes.
    Seconds(f64),
    /// Lilt's form from the guide (`"50kb"`): the bucket holds this many bytes.
    Bytes(f64),
}

/// One session type's limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub bytes_per_second: f64,
    pub burst: Burst,
}

impl Rate {
    /// The token bucket's size in bytes.
    pub fn bucket_bytes(&self) -> f64 {
        match self.burst {
            Burst::Seconds(s) => self.bytes_per_second * s,
            Burst::Bytes(b) => b,
        }
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} B/s, burst {} B",
            self.bytes_per_second,
            self.bucket_bytes()
        )
    }
}

/// A problem in the options. None is fatal: each names the value Lilt used instead, as
/// Prosody does. Errors are logged at `error`, the rest at `warn`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitsDiagnostic {
    #[error("Error parsing rate for {session_type}: {value}, using default rate ({FALLBACK_RATE} bytes/s)")]
    BadRate { session_type: String, value: String },
    #[error("Error parsing burst for {session_type}: {value}, using default burst interval ({DEFAULT_BURST_SECS}s)")]
    BadBurst { session_type: String, value: String },
    #[error("limits.{session_type} should be a table like {{ rate = \"10kb/s\", burst = \"2s\" }}, got {value}")]
    EntryNotATable { session_type: String, value: String },
    #[error("limits should be a table keyed by session type, got {value}; using the defaults")]
    NotATable { value: String },
    #[error("limits_resolution should be a positive number of seconds, got {value}; using {DEFAULT_RESOLUTION_SECS}")]
    BadResolution { value: String },
    #[error("limits.{session_type} matches no session type (c2s, websocket, s2sin, s2sout, component) and has no effect")]
    UnknownSessionType { session_type: String },
}

impl LimitsDiagnostic {
    /// True for what Prosody logs as an error; false for Lilt's extra warnings.
    pub fn is_error(&self) -> bool {
        !matches!(self, LimitsDiagnostic::UnknownSessionType { .. })
    }
}

/// The parsed `limits` + `limits_resolution` options.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitsConfig {
    entries: BTreeMap<String, Rate>,
    resolution: Duration,
    diagnostics: Vec<LimitsDiagnostic>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self::defaults()
    }
}

impl LimitsConfig {
    /// What loading mod_limits without a `limits` option gives: c2s 10240 B/s,
    /// s2sin 30720 B/s, both with a 2 s burst; s2sout and components unlimited.
    pub fn defaults() -> Self {
        let burst = Burst::Seconds(DEFAULT_BURST_SECS);
        let mut entries = BTreeMap::new();
        entries.insert(
            "c2s".to_owned(),
            Rate {
                bytes_per_second: DEFAULT_C2S_RATE,
                burst,
            },
        );
        entries.insert(
            "s2sin".to_owned(),
            Rate {
                bytes_per_second: DEFAULT_S2SIN_RATE,
                burst,
            },
        );
        LimitsConfig {
            entries,
            resolution: Duration::from_secs_f64(DEFAULT_RESOLUTION_SECS),
            diagnostics: Vec::new(),
        }
    }

    /// Parses the keyed entries of the `limits` table over the defaults: a configured
    /// type replaces its default entry wholly, the other defaults stay. Problems are
    /// logged and kept in [`diagnostics`](Self::diagnostics).
    pub fn from_entries(entries: &[(String, LimitValue)]) -> Self {
        let mut config = Self::defaults();
        for (session_type, spec) in entries {
            config.add_entry(session_type, spec);
        }
        config.log_new_diagnostics(0);
        config
    }

    /// Parses both options as found in the config (`None` = not set).
    pub fn from_options(limits: Option<&LimitValue>, resolution: Option<&LimitValue>) -> Self {
        let mut config = match limits {
            None => Self::defaults(),
            Some(LimitValue::Table(entries)) => Self::from_entries(entries),
            Some(other) => {
                let mut config = Self::defaults();
                config.diagnostics.push(LimitsDiagnostic::NotATable {
                    value: other.to_string(),
                });
                config.log_new_diagnostics(0);
                config
            }
        };
        let logged = config.diagnostics.len();
        if let Some(value) = resolution {
            match parse_seconds(value) {
                Some(secs) if secs > 0.0 => config.resolution = Duration::from_secs_f64(secs),
                _ => config.diagnostics.push(LimitsDiagnostic::BadResolution {
                    value: value.to_string(),
                }),
            }
        }
        config.log_new_diagnostics(logged);
        config
    }

    /// The limit for a session of `kind`, `None` meaning unlimited. `websocket` falls
    /// back to `c2s` when it has no entry of its own.
    pub fn for_session_type(&self, kind: SessionKind) -> Option<Rate> {
        let own = self.entries.get(kind.key()).copied();
        match kind {
            SessionKind::WebSocket => own.or_else(|| self.entries.get("c2s").copied()),
            _ => own,
        }
    }

    /// `limits_resolution`: the granularity of read pauses.
    pub fn resolution(&self) -> Duration {
        self.resolution
    }

    /// Every entry as configured (including keys that match no session type).
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Rate)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Problems found while parsing, in order.
    pub fn diagnostics(&self) -> &[LimitsDiagnostic] {
        &self.diagnostics
    }

    fn add_entry(&mut self, session_type: &str, spec: &LimitValue) {
        let t = session_type.to_owned();
        let known = ["c2s", "websocket", "s2sin", "s2sout", "component"];
        if !known.contains(&session_type) {
            // Prosody parses such keys too; they just never match a session.
            self.diagnostics.push(LimitsDiagnostic::UnknownSessionType {
                session_type: t.clone(),
            });
        }
        if !matches!(spec, LimitValue::Table(_)) {
            let value = spec.to_string();
            self.diagnostics.push(LimitsDiagnostic::EntryNotATable {
                session_type: t.clone(),
                value,
            });
        }
        let bytes_per_second = match spec.get("rate") {
            Some(LimitValue::Str(s)) => parse_rate(s),
            _ => None,
        };
        let bytes_per_second = bytes_per_second.unwrap_or_else(|| {
            let value = spec
                .get("rate")
                .map_or_else(|| "nil".to_owned(), ToString::to_string);
            self.diagnostics.push(LimitsDiagnostic::BadRate {
                session_type: t.clone(),
                value,
            });
            FALLBACK_RATE
        });
        let burst = match spec.get("burst") {
            None => Burst::Seconds(DEFAULT_BURST_SECS),
            Some(value) => parse_burst(value).unwrap_or_else(|| {
                let value = value.to_string();
                self.diagnostics.push(LimitsDiagnostic::BadBurst {
                    session_type: t.clone(),
                    value,
                });
                Burst::Seconds(DEFAULT_BURST_SECS)
            }),
        };
        self.entries.insert(
            t,
            Rate {
                bytes_per_second,
                burst,
            },
        );
    }

    fn log_new_diagnostics(&self, from: usize) {
        for d in self.diagnostics.iter().skip(from) {
            if d.is_error() {
                tracing::error!(target: "mod_limits", "{d}");
            } else {
                tracing::warn!(target: "mod_limits", "{d}");
            }
        }
    }
}

/// `<digits>[ ]<unit>/s` where the unit's first letter (any case) picks a decimal
/// multiplier: b 1, k 10^3, m 10^6, g 10^9, t 10^12. No decimals. Zero is refused
/// (Prosody would accept it and then never read the socket again).
pub fn parse_rate(s: &str) -> Option<f64> {
    let bytes = parse_quantity(s.strip_suffix("/s")?)?;
    (bytes > 0.0).then_some(bytes)
}

/// A burst: a non-negative number of seconds, `<digits>[ ]s`, or (Lilt) a byte size
/// `<digits>[ ]<unit>` with the same units as rates.
pub fn parse_burst(value: &LimitValue) -> Option<Burst> {
    match value {
        LimitValue::Number(n) if n.is_finite() && *n >= 0.0 => Some(Burst::Seconds(*n)),
        LimitValue::Str(s) => {
            if let Some(secs) = s.strip_suffix('s').and_then(digits_then_space) {
                return Some(Burst::Seconds(secs));
            }
            parse_quantity(s).map(Burst::Bytes)
        }
        _ => None,
    }
}

/// `<digits>[ ]<unit>` -> bytes, the unit's first letter picking the multiplier.
fn parse_quantity(s: &str) -> Option<f64> {
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, rest) = s.split_at(digits_end);
    if digits.is_empty() {
        return None;
    }
    let unit = rest.strip_prefix(' ').unwrap_or(rest);
    if unit.contains('/') {
        return None;
    }
    let multiplier = match unit.chars().next()?.to_ascii_lowercase() {
        'b' => 1e0,
        'k' => 1e3,
        'm' => 1e6,
        'g' => 1e9,
        't' => 1e12,
        _ => return None,
    };
    Some(digits.parse::<f64>().ok()? * multiplier)
}

/// `<digits>[ ]` (the text before a unit suffix) -> the number.
fn digits_then_space(s: &str) -> Option<f64> {
    let s = s.strip_suffix(' ').unwrap_or(s);
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A number of seconds; numeric strings count, as with Prosody's `get_option_number`.
fn parse_seconds(value: &LimitValue) -> Option<f64> {
    match value {
        LimitValue::Number(n) if n.is_finite() => Some(*n),
        LimitValue::Str(s) => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
        _ => None,
    }
}
