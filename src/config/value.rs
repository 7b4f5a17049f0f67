//! Plain-data option values: what a Lua config value becomes once evaluation is over.
//! Tables keep Lua's two parts (the sequence `1..n` and the keyed rest) so accessors can
//! read either; nothing here refers to the Lua state, which keeps [`Config`](super::Config)
//! `Send + Sync`.

use std::collections::BTreeMap;
use std::fmt;

/// One option value, converted from Lua.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    Integer(i64),
    Number(f64),
    String(String),
    Table(Table),
    /// A function (or other Lua object without a data form); only its presence is kept.
    Function,
}

/// A Lua table: the sequence part (`t[1]..t[n]`) and every other key as a string.
///
/// Non-string keys outside the sequence (`[5281] = ...`, `[true] = ...`) are stored under
/// their Lua `tostring` form, which is how option readers in Lilt look them up.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    seq: Vec<Value>,
    map: BTreeMap<String, Value>,
}

impl Table {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a table from its two parts.
    pub fn from_parts(seq: Vec<Value>, map: BTreeMap<String, Value>) -> Self {
        Table { seq, map }
    }

    /// The keyed entry `name` (sequence entries are reachable as `"1"`, `"2"`, ...).
    pub fn get(&self, key: &str) -> Option<&Value> {
        if let Some(v) = self.map.get(key) {
            return Some(v);
        }
        let index: usize = key.parse().ok()?;
        index.checked_sub(1).and_then(|i| self.seq.get(i))
    }

    /// The sequence part, in order.
    pub fn seq(&self) -> &[Value] {
        &self.seq
    }

    /// The keyed part, sorted by key.
    pub fn entries(&self) -> &BTreeMap<String, Value> {
        &self.map
    }

    /// True when the table has no entries at all.
    pub fn is_empty(&self) -> bool {
        self.seq.is_empty() && self.map.is_empty()
    }

    /// True when the table is a plain sequence (an array), including the empty table.
    pub fn is_sequence(&self) -> bool {
        self.map.is_empty()
    }

}

impl Value {
    /// The Lua type name of the value, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Bool(_) => "boolean",
            Value::Integer(_) | Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Table(_) => "table",
            Value::Function => "function",
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The table, if this is one.
    pub fn as_table(&self) -> Option<&Table> {
        match self {
            Value::Table(t) => Some(t),
            _ => None,
        }
    }

    /// Numeric value of a number, or of a string Lua's `tonumber` would accept.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Integer(i) => Some(*i as f64),
            Value::Number(n) => Some(*n),
            Value::String(s) => parse_lua_number(s),
            _ => None,
        }
    }

    /// The value as Lua's `tostring` shows it (tables and functions have no stable text).
    pub fn to_lua_string(&self) -> Option<String> {
        match self {
            Value::Bool(b) => Some(b.to_string()),
            Value::Integer(i) => Some(i.to_string()),
            Value::Number(n) => Some(format_number(*n)),
            Value::String(s) => Some(s.clone()),
            Value::Table(_) | Value::Function => None,
        }
    }
}

/// Formats a float the way Lua 5.4 prints it (`%.14g`, with `.0` kept for integral values).
pub fn format_number(n: f64) -> String {
    if n.is_nan() {
        return if n.is_sign_negative() { "-nan" } else { "nan" }.to_string();
    }
    if n.is_infinite() {
        return if n > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    if n.fract() == 0.0 && n.abs() < 1e15 {
        return format!("{n:.1}");
    }
    let s = format!("{n}");
    if s.len() > 17 {
        format!("{n:e}")
    } else {
        s
    }
}

fn parse_lua_number(s: &str) -> Option<f64> {
    let t = s.trim();
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return i64::from_str_radix(hex, 16).ok().map(|i| i as f64);
    }
    t.parse::<f64>().ok().filter(|_| !t.is_empty())
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Integer(i) => write!(f, "{i}"),
            Value::Number(n) => f.write_str(&format_number(*n)),
            Value::String(s) => write!(f, "{s:?}"),
            Value::Function => f.write_str("function"),
            Value::Table(t) => {
                f.write_str("{ ")?;
                for v in t.seq() {
                    write!(f, "{v}; ")?;
                }
                for (k, v) in t.entries() {
                    write!(f, "{k} = {v}; ")?;
                }
                f.write_str("}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_get_reaches_sequence_entries_by_index() {
        let map = BTreeMap::from([("k".to_string(), Value::Bool(true))]);
        let t = Table::from_parts(vec![Value::String("a".into())], map);
        assert_eq!(t.get("1"), Some(&Value::String("a".into())));
        assert_eq!(t.get("2"), None);
        assert_eq!(t.get("k"), Some(&Value::Bool(true)));
        assert!(!t.is_sequence());
    }

    #[test]
    fn numbers_print_like_lua() {
        assert_eq!(format_number(3.0), "3.0");
        assert_eq!(format_number(0.5), "0.5");
    }

    #[test]
    fn strings_convert_to_numbers_like_tonumber() {
        assert_eq!(Value::String(" 42 ".into()).as_f64(), Some(42.0));
        assert_eq!(Value::String("0x10".into()).as_f64(), Some(16.0));
        assert_eq!(Value::String("abc".into()).as_f64(), None);
    }
}
