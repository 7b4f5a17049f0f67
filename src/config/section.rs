//! Per-section option lookup with Prosody's semantics: a host reads its own value, else the
//! global one (no deep merge); typed accessors mirror `module:get_option_*`.
//!
//! Lilt extension: `websocket_*` entries inside a `websocket_config` table (the guide's
//! form) are readable as flat options when no flat option of that name is set.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::units::{parse_bytes, parse_duration};
use super::{OptionEntry, SectionData, Value};

/// A view of one section; host views fall back to the global section.
#[derive(Debug, Clone, Copy)]
pub struct Section<'a> {
    data: &'a SectionData,
    global: Option<&'a SectionData>,
}

fn lookup<'a>(data: &'a SectionData, key: &str) -> Option<&'a OptionEntry> {
    data.options.get(key)
}

fn lookup_value<'a>(data: &'a SectionData, key: &str) -> Option<&'a Value> {
    if let Some(e) = lookup(data, key) {
        return Some(&e.value);
    }
    if key.starts_with("websocket_") && key != "websocket_config" {
        let table = lookup(data, "websocket_config")?.value.as_table()?;
        return table.entries().get(key);
    }
    None
}

impl<'a> Section<'a> {
    pub(super) fn new(data: &'a SectionData, global: Option<&'a SectionData>) -> Self {
        Section { data, global }
    }

    /// The section's name (`*` for global).
    pub fn name(&self) -> &'a str {
        &self.data.name
    }

    /// The value, falling back to the global section for a host.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.get_raw(key)
            .or_else(|| self.global.and_then(|g| lookup_value(g, key)))
    }

    /// The value set in this very section (Prosody's `configmanager.rawget`).
    pub fn get_raw(&self, key: &str) -> Option<&'a Value> {
        lookup_value(self.data, key)
    }

    /// Where the effective value was assigned (flat options only).
    pub fn entry(&self, key: &str) -> Option<&'a OptionEntry> {
        lookup(self.data, key).or_else(|| self.global.and_then(|g| lookup(g, key)))
    }

    /// `get_option_scalar`: a table gives its first sequence element.
    pub fn scalar(&self, key: &str) -> Option<&'a Value> {
        match self.get(key)? {
            Value::Table(t) => t.seq().first(),
            v => Some(v),
        }
    }

    /// `get_option_string`: the scalar converted with `tostring`.
    pub fn string(&self, key: &str) -> Option<String> {
        self.scalar(key)?.to_lua_string()
    }

    /// `get_option_number`: the scalar converted with `tonumber` (None if not numeric).
    pub fn number(&self, key: &str) -> Option<f64> {
        self.scalar(key)?.as_f64()
    }

    /// A number with no fractional part.
    pub fn integer(&self, key: &str) -> Option<i64> {
        match self.scalar(key)? {
            Value::Integer(i) => Some(*i),
            v => v.as_f64().filter(|n| n.fract() == 0.0 && n.abs() < 9.2e18).map(|n| n as i64),
        }
    }

    /// `get_option_boolean`: `true`/`"true"`/`1` and `false`/`"false"`/`0`; else None.
    pub fn boolean(&self, key: &str) -> Option<bool> {
        match self.scalar(key)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) if s == "true" => Some(true),
            Value::String(s) if s == "false" => Some(false),
            v => match v.as_f64() {
                Some(n) if n == 1.0 && !matches!(v, Value::String(_)) => Some(true),
                Some(n) if n == 0.0 && !matches!(v, Value::String(_)) => Some(false),
                _ => None,
            },
        }
    }

    /// `get_option_array`: a table's sequence, or a single value as a one-element array.
    pub fn array(&self, key: &str) -> Vec<Value> {
        match self.get(key) {
            None => Vec::new(),
            Some(Value::Table(t)) => t.seq().to_vec(),
            Some(v) => vec![v.clone()],
        }
    }

    /// The array's entries as strings (tables and functions are skipped).
    pub fn strings(&self, key: &str) -> Vec<String> {
        self.array(key).iter().filter_map(Value::to_lua_string).collect()
    }

    /// `get_option_set`.
    pub fn set(&self, key: &str) -> BTreeSet<String> {
        self.strings(key).into_iter().collect()
    }

    /// `get_option_inherited_set`: this section's set ∪ the global set.
    pub fn inherited_set(&self, key: &str) -> BTreeSet<String> {
        let mut set = raw_set(self.data, key);
        if let Some(g) = self.global {
            set.extend(raw_set(g, key));
        }
        set
    }

    /// `get_option_path`: a string resolved against `relative_to` unless absolute.
    pub fn path(&self, key: &str, relative_to: &Path) -> Option<PathBuf> {
        let s = self.string(key)?;
        let p = Path::new(&s);
        Some(if p.is_absolute() { p.to_path_buf() } else { relative_to.join(p) })
    }

    /// Seconds: a number, or a string with a unit (`"30s"`, `"5 min"`, `"2h"`).
    pub fn duration_secs(&self, key: &str) -> Option<f64> {
        match self.scalar(key)? {
            Value::String(s) => parse_duration(s),
            v => v.as_f64(),
        }
    }

    /// Bytes: a number, or a string with a unit (`"10kb"`, `"2 MiB"`).
    pub fn bytes(&self, key: &str) -> Option<u64> {
        match self.scalar(key)? {
            Value::String(s) => parse_bytes(s),
            v => v.as_f64().filter(|n| *n >= 0.0).map(|n| n as u64),
        }
    }
}

fn raw_set(data: &SectionData, key: &str) -> BTreeSet<String> {
    match lookup_value(data, key) {
        None => BTreeSet::new(),
        Some(Value::Table(t)) => t.seq().iter().filter_map(Value::to_lua_string).collect(),
        Some(v) => v.to_lua_string().into_iter().collect(),
    }
}
