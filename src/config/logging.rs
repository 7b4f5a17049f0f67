//! The `log` option, in each of Prosody's forms, turned into `tracing` output:
//! a level string (`log = "debug"`, a Lilt reading: console from that level up), a sink
//! string (`"*console"`, `"*syslog"`, or a file name), a list of rules
//! (`{ { levels = { min = "debug" }, to = "file", filename = "x.log" } }`), and a
//! level-to-sink map (`{ info = "prosody.log", error = "*console" }`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{fmt, Layer, Registry};

use super::{Table, Value};

pub mod syslog;

/// Prosody's log levels, least severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

const ALL: [Level; 4] = [Level::Debug, Level::Info, Level::Warn, Level::Error];

impl Level {
    /// Parses `debug`, `info`, `warn` (or `warning`), `error`.
    pub fn parse(s: &str) -> Option<Level> {
        match s.to_ascii_lowercase().as_str() {
            "debug" | "trace" => Some(Level::Debug),
            "info" => Some(Level::Info),
            "warn" | "warning" => Some(Level::Warn),
            "error" => Some(Level::Error),
            _ => None,
        }
    }

    fn of(level: &tracing::Level) -> Level {
        match *level {
            tracing::Level::ERROR => Level::Error,
            tracing::Level::WARN => Level::Warn,
            tracing::Level::INFO => Level::Info,
            _ => Level::Debug,
        }
    }

    fn from(self) -> BTreeSet<Level> {
        ALL.into_iter().filter(|l| *l >= self).collect()
    }
}

/// Where a rule writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sink {
    /// Standard error (Prosody's `console`; Lilt keeps stdout for command output).
    Console,
    /// Appended to a file.
    File(PathBuf),
    /// The system logger (`syslog(3)`, see [`syslog`]).
    Syslog,
}

/// One logging rule: the levels it takes and where they go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRule {
    pub levels: BTreeSet<Level>,
    pub sink: Sink,
}

/// Why the `log` option could not be applied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    #[error("log option: {0}")]
    Invalid(String),
    #[error("cannot open log file {}: {source}", path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("a logger is already installed")]
    AlreadySet,
}

fn sink_from(text: &str, base: &Path) -> Sink {
    match text {
        "*console" | "console" | "*stdout" | "*stderr" => Sink::Console,
        "*syslog" | "syslog" => Sink::Syslog,
        file => Sink::File(base.join(file)),
    }
}

/// The rules for a `log` value; `None` means the default (console, info and up).
/// Relative file names resolve against `base` (Prosody's data directory).
pub fn plan(value: Option<&Value>, base: &Path) -> Result<Vec<LogRule>, LogError> {
    let Some(value) = value else {
        return Ok(vec![LogRule {
            levels: Level::Info.from(),
            sink: Sink::Console,
        }]);
    };
    match value {
        Value::String(s) => Ok(vec![string_rule(s, base)]),
        Value::Table(t) if t.get("to").is_some() || t.get("levels").is_some() => {
            Ok(vec![table_rule(t, base)?])
        }
        Value::Table(t) => {
            let mut rules = Vec::new();
            for entry in t.seq() {
                match entry {
                    Value::Table(rule) => rules.push(table_rule(rule, base)?),
                    Value::String(s) => rules.push(string_rule(s, base)),
                    other => {
                        return Err(LogError::Invalid(format!(
                            "unexpected {} in the rule list",
                            other.type_name()
                        )))
                    }
                }
            }
            for (level, sink) in t.entries() {
                let level = Level::parse(level)
                    .ok_or_else(|| LogError::Invalid(format!("unknown level {level:?}")))?;
                let Some(sink) = sink.as_str() else {
                    return Err(LogError::Invalid(format!(
                        "the sink for {level:?} must be a string"
                    )));
                };
                rules.push(LogRule {
                    levels: level.from(),
                    sink: sink_from(sink, base),
                });
            }
            Ok(rules)
        }
        other => Err(LogError::Invalid(format!(
            "expected a string or a table, got a {}",
            other.type_name()
        ))),
    }
}

fn string_rule(s: &str, base: &Path) -> LogRule {
    match Level::parse(s) {
        Some(level) => LogRule {
            levels: level.from(),
            sink: Sink::Console,
        },
        None => LogRule {
            levels: Level::Info.from(),
            sink: sink_from(s, base),
        },
    }
}

fn table_rule(t: &Table, base: &Path) -> Result<LogRule, LogError> {
    let levels = match t.get("levels") {
        None => Level::Info.from(),
        Some(Value::String(s)) => Level::parse(s)
            .ok_or_else(|| LogError::Invalid(format!("unknown level {s:?}")))?
            .from(),
        Some(Value::Table(l)) if !l.seq().is_empty() => {
            let mut set = BTreeSet::new();
            for v in l.seq() {
                let name = v.as_str().unwrap_or_default();
                set.insert(
                    Level::parse(name)
                        .ok_or_else(|| LogError::Invalid(format!("unknown level {name:?}")))?,
                );
            }
            set
        }
        Some(Value::Table(l)) => {
            let bound = |key: &str, default: Level| -> Result<Level, LogError> {
                match l.get(key) {
                    None => Ok(default),
                    Some(v) => v.as_str().and_then(Level::parse).ok_or_else(|| {
                        LogError::Invalid(format!("levels.{key} must be a level name"))
                    }),
                }
            };
            let (min, max) = (bound("min", Level::Debug)?, bound("max", Level::Error)?);
            ALL.into_iter().filter(|l| *l >= min && *l <= max).collect()
        }
        Some(other) => {
            return Err(LogError::Invalid(format!(
                "levels must be a table, got a {}",
                other.type_name()
            )))
        }
    };
    let to = t.get("to").and_then(Value::as_str).unwrap_or("console");
    let sink = match to.trim_start_matches('*') {
        "console" | "stdout" | "stderr" => Sink::Console,
        "syslog" => Sink::Syslog,
        "file" => {
            let name = t
                .get("filename")
                .and_then(Value::as_str)
                .ok_or_else(|| LogError::Invalid("a file rule needs a filename".into()))?;
            Sink::File(base.join(name))
        }
        other => return Err(LogError::Invalid(format!("unknown sink {other:?}"))),
    };
    Ok(LogRule { levels, sink })
}

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// The levels each installed sink takes, changeable at run time (config reload).
type ActiveSinks = Vec<(Sink, Arc<RwLock<BTreeSet<Level>>>)>;
static ACTIVE: OnceLock<ActiveSinks> = OnceLock::new();

/// Applies the levels of reloaded rules to the sinks installed at startup (Prosody
/// re-reads logging on reload). Sinks that were not installed cannot be added and sinks
/// no longer named stop logging; returns the sinks of `rules` that were not applied.
pub fn reload_levels(rules: &[LogRule]) -> Vec<Sink> {
    let Some(active) = ACTIVE.get() else {
        return rules.iter().map(|r| r.sink.clone()).collect();
    };
    for (sink, levels) in active {
        let wanted: BTreeSet<Level> = rules
            .iter()
            .filter(|r| &r.sink == sink)
            .flat_map(|r| r.levels.iter().copied())
            .collect();
        if let Ok(mut l) = levels.write() {
            *l = wanted;
        }
    }
    // Filters' answers are cached per call site; ask them again.
    tracing::callsite::rebuild_interest_cache();
    rules
        .iter()
        .filter(|r| !active.iter().any(|(s, _)| *s == r.sink))
        .map(|r| r.sink.clone())
        .collect()
}

/// Installs the rules as the process-wide `tracing` subscriber.
pub fn install(rules: &[LogRule]) -> Result<(), LogError> {
    let mut layers: Vec<BoxedLayer> = Vec::new();
    let mut active = Vec::new();
    for rule in rules {
        let levels = Arc::new(RwLock::new(rule.levels.clone()));
        active.push((rule.sink.clone(), levels.clone()));
        let filter = filter_fn(move |meta| {
            levels
                .read()
                .map(|l| l.contains(&Level::of(meta.level())))
                .unwrap_or(true)
        });
        let layer: BoxedLayer = match &rule.sink {
            Sink::Syslog => fmt::layer()
                .with_ansi(false)
                .without_time()
                .with_writer(syslog::SyslogWriter)
                .with_filter(filter)
                .boxed(),
            Sink::Console => fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .with_filter(filter)
                .boxed(),
            Sink::File(path) => {
                if let Some(dir) = path.parent() {
                    let _ = std::fs::create_dir_all(dir);
                }
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| LogError::Open {
                        path: path.clone(),
                        source,
                    })?;
                fmt::layer()
                    .with_ansi(false)
                    .with_writer(Mutex::new(file))
                    .with_filter(filter)
                    .boxed()
            }
        };
        layers.push(layer);
    }
    let subscriber = Registry::default().with(layers);
    tracing::subscriber::set_global_default(subscriber).map_err(|_| LogError::AlreadySet)?;
    let _ = ACTIVE.set(active);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn log_value(src: &str) -> Value {
        let c = Config::load_str(Path::new("/v/p.cfg.lua"), src).expect("loads");
        c.global().get("log").cloned().expect("log set")
    }

    #[test]
    fn a_level_string_logs_to_console_from_that_level() {
        let rules = plan(Some(&log_value("log = \"warn\"")), Path::new("/d")).expect("plan");
        assert_eq!(
            rules,
            vec![LogRule {
                levels: [Level::Warn, Level::Error].into(),
                sink: Sink::Console
            }]
        );
    }

    #[test]
    fn a_file_name_string_logs_info_and_up_to_that_file() {
        let rules = plan(Some(&log_value("log = \"prosody.log\"")), Path::new("/d")).expect("plan");
        assert_eq!(rules[0].sink, Sink::File(PathBuf::from("/d/prosody.log")));
        assert!(!rules[0].levels.contains(&Level::Debug));
    }

    #[test]
    fn the_guide_rule_list_form_is_understood() {
        let v = log_value(
            "log = { { levels = { min = \"debug\" }, to = \"file\", filename = \"/var/log/prosody/websocket.log\" }; }",
        );
        let rules = plan(Some(&v), Path::new("/d")).expect("plan");
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].levels.len(), 4);
        assert_eq!(
            rules[0].sink,
            Sink::File(PathBuf::from("/var/log/prosody/websocket.log"))
        );
    }

    #[test]
    fn a_level_to_sink_map_sends_each_level_and_above() {
        let v = log_value("log = { info = \"prosody.log\", error = \"*console\" }");
        let rules = plan(Some(&v), Path::new("/d")).expect("plan");
        assert!(rules.contains(&LogRule {
            levels: Level::Error.from(),
            sink: Sink::Console
        }));
        assert!(rules.contains(&LogRule {
            levels: Level::Info.from(),
            sink: Sink::File("/d/prosody.log".into())
        }));
    }

    #[test]
    fn an_explicit_level_list_takes_only_those_levels() {
        let v = log_value("log = { { levels = { \"debug\", \"error\" }, to = \"console\" } }");
        let rules = plan(Some(&v), Path::new("/d")).expect("plan");
        assert_eq!(rules[0].levels, [Level::Debug, Level::Error].into());
    }

    #[test]
    fn bad_levels_and_sinks_are_errors() {
        assert!(plan(
            Some(&log_value("log = { loud = \"x.log\" }")),
            Path::new("/d")
        )
        .is_err());
        assert!(plan(
            Some(&log_value("log = { { to = \"file\" } }")),
            Path::new("/d")
        )
        .is_err());
        assert!(plan(Some(&log_value("log = 5")), Path::new("/d")).is_err());
    }

    #[test]
    fn no_log_option_means_console_from_info() {
        let rules = plan(None, Path::new("/d")).expect("plan");
        assert_eq!(
            rules,
            vec![LogRule {
                levels: Level::Info.from(),
                sink: Sink::Console
            }]
        );
    }
}
