//! The Lua values Prosody stores: nil, booleans, integers, floats, strings and tables whose
//! keys are booleans, numbers or strings. Tables keep insertion order so that files we
//! rewrite keep their layout.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

#[derive(Debug, Clone, PartialEq, Default)]
pub enum LuaValue {
    #[default]
    Nil,
    Bool(bool),
    Int(i64),
    Num(f64),
    Str(String),
    Table(LuaTable),
}

/// A table key. Floats with an integral value are normalised to `Int` (as Lua 5.4 does)
/// by [`LuaKey::from`]; NaN cannot be a key.
#[derive(Debug, Clone)]
pub enum LuaKey {
    Bool(bool),
    Int(i64),
    Num(f64),
    Str(String),
}

impl PartialEq for LuaKey {
    fn eq(&self, other: &LuaKey) -> bool {
        match (self, other) {
            (LuaKey::Bool(a), LuaKey::Bool(b)) => a == b,
            (LuaKey::Int(a), LuaKey::Int(b)) => a == b,
            (LuaKey::Num(a), LuaKey::Num(b)) => a.to_bits() == b.to_bits(),
            (LuaKey::Str(a), LuaKey::Str(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for LuaKey {}

impl Hash for LuaKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            LuaKey::Bool(b) => (0u8, b).hash(state),
            LuaKey::Int(i) => (1u8, i).hash(state),
            LuaKey::Num(n) => (2u8, n.to_bits()).hash(state),
            LuaKey::Str(s) => (3u8, s).hash(state),
        }
    }
}

impl LuaKey {
    /// A number key as Lua would store it; `None` for NaN.
    pub fn number(n: f64) -> Option<LuaKey> {
        if n.is_nan() {
            None
        } else if n.fract() == 0.0 && n >= -(2f64.powi(63)) && n < 2f64.powi(63) {
            Some(LuaKey::Int(n as i64))
        } else {
            Some(LuaKey::Num(n))
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            LuaKey::Str(s) => Some(s),
            _ => None,
        }
    }
}

impl From<&str> for LuaKey {
    fn from(s: &str) -> LuaKey {
        LuaKey::Str(s.to_owned())
    }
}

impl From<String> for LuaKey {
    fn from(s: String) -> LuaKey {
        LuaKey::Str(s)
    }
}

impl From<i64> for LuaKey {
    fn from(i: i64) -> LuaKey {
        LuaKey::Int(i)
    }
}

impl From<bool> for LuaKey {
    fn from(b: bool) -> LuaKey {
        LuaKey::Bool(b)
    }
}

/// An ordered Lua table. Setting a key to `Nil` removes it, as in Lua.
#[derive(Debug, Clone, Default)]
pub struct LuaTable {
    entries: Vec<(LuaKey, LuaValue)>,
    index: HashMap<LuaKey, usize>,
}

impl PartialEq for LuaTable {
    /// Tables are equal when they hold the same pairs, whatever their order.
    fn eq(&self, other: &LuaTable) -> bool {
        self.len() == other.len()
            && self
                .entries
                .iter()
                .all(|(k, v)| other.get(k).is_some_and(|o| o == v))
    }
}

impl LuaTable {
    pub fn new() -> LuaTable {
        LuaTable::default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, key: &LuaKey) -> Option<&LuaValue> {
        self.index.get(key).map(|&i| &self.entries[i].1)
    }

    /// The value under a string key.
    pub fn field(&self, name: &str) -> Option<&LuaValue> {
        self.get(&LuaKey::Str(name.to_owned()))
    }

    /// Inserts or replaces (keeping the key's position); `Nil` removes.
    pub fn set(&mut self, key: impl Into<LuaKey>, value: impl Into<LuaValue>) {
        let key = key.into();
        let value = value.into();
        if value == LuaValue::Nil {
            self.remove(&key);
            return;
        }
        match self.index.get(&key) {
            Some(&i) => self.entries[i].1 = value,
            None => {
                self.index.insert(key.clone(), self.entries.len());
                self.entries.push((key, value));
            }
        }
    }

    pub fn remove(&mut self, key: &LuaKey) -> Option<LuaValue> {
        let i = self.index.remove(key)?;
        let (_, value) = self.entries.remove(i);
        for slot in self.index.values_mut() {
            if *slot > i {
                *slot -= 1;
            }
        }
        Some(value)
    }

    /// Appends at `#t + 1`, like `table.insert(t, v)`.
    pub fn push(&mut self, value: impl Into<LuaValue>) {
        let next = self.sequence_len() as i64 + 1;
        self.set(LuaKey::Int(next), value);
    }

    /// Length of the sequence `t[1..n]` (the border Lua's `#` finds for proper sequences).
    pub fn sequence_len(&self) -> usize {
        (1..)
            .take_while(|&i| self.index.contains_key(&LuaKey::Int(i)))
            .count()
    }

    /// The values `t[1..#t]` in order.
    pub fn sequence(&self) -> impl Iterator<Item = &LuaValue> {
        (1..=self.sequence_len() as i64).filter_map(|i| self.get(&LuaKey::Int(i)))
    }

    /// All pairs in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&LuaKey, &LuaValue)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

impl LuaValue {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            LuaValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Integers, and floats with an integral value (Lua would print them as integers).
    pub fn as_int(&self) -> Option<i64> {
        match self {
            LuaValue::Int(i) => Some(*i),
            LuaValue::Num(n) => match LuaKey::number(*n) {
                Some(LuaKey::Int(i)) => Some(i),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            LuaValue::Int(i) => Some(*i as f64),
            LuaValue::Num(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            LuaValue::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_table(&self) -> Option<&LuaTable> {
        match self {
            LuaValue::Table(t) => Some(t),
            _ => None,
        }
    }

    pub fn as_table_mut(&mut self) -> Option<&mut LuaTable> {
        match self {
            LuaValue::Table(t) => Some(t),
            _ => None,
        }
    }
}

impl From<&str> for LuaValue {
    fn from(s: &str) -> LuaValue {
        LuaValue::Str(s.to_owned())
    }
}

impl From<String> for LuaValue {
    fn from(s: String) -> LuaValue {
        LuaValue::Str(s)
    }
}

impl From<i64> for LuaValue {
    fn from(i: i64) -> LuaValue {
        LuaValue::Int(i)
    }
}

impl From<f64> for LuaValue {
    fn from(n: f64) -> LuaValue {
        LuaValue::Num(n)
    }
}

impl From<bool> for LuaValue {
    fn from(b: bool) -> LuaValue {
        LuaValue::Bool(b)
    }
}

impl From<LuaTable> for LuaValue {
    fn from(t: LuaTable) -> LuaValue {
        LuaValue::Table(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_nil_removes_and_keeps_order_of_the_rest() {
        let mut t = LuaTable::new();
        t.set("a", 1i64);
        t.set("b", 2i64);
        t.set("c", 3i64);
        t.set("b", LuaValue::Nil);
        let keys: Vec<_> = t.iter().map(|(k, _)| k.as_str().unwrap()).collect();
        assert_eq!(keys, ["a", "c"]);
        assert_eq!(t.field("c"), Some(&LuaValue::Int(3)));
        t.set("a", 9i64);
        assert_eq!(t.iter().next().unwrap().1, &LuaValue::Int(9));
    }

    #[test]
    fn integral_float_keys_become_integers() {
        assert_eq!(LuaKey::number(2.0), Some(LuaKey::Int(2)));
        assert_eq!(LuaKey::number(2.5), Some(LuaKey::Num(2.5)));
        assert_eq!(LuaKey::number(f64::NAN), None);
    }

    #[test]
    fn push_appends_after_the_sequence() {
        let mut t = LuaTable::new();
        t.set("x", true);
        t.push("one");
        t.push("two");
        assert_eq!(t.sequence_len(), 2);
        let seq: Vec<_> = t.sequence().filter_map(LuaValue::as_str).collect();
        assert_eq!(seq, ["one", "two"]);
    }

    #[test]
    fn table_equality_ignores_order() {
        let mut a = LuaTable::new();
        a.set("x", 1i64);
        a.set("y", 2i64);
        let mut b = LuaTable::new();
        b.set("y", 2i64);
        b.set("x", 1i64);
        assert_eq!(a, b);
        b.set("x", 3i64);
        assert_ne!(a, b);
    }
}
