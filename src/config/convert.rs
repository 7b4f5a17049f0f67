//! Copying Lua values out of the config's Lua state into plain [`Value`]s: the sequence
//! part and the keyed part of tables, with a depth cap so cyclic tables end.

use std::collections::BTreeMap;

use super::{Table, Value};

/// How deep a table value is copied; deeper (or cyclic) parts become empty tables.
const MAX_VALUE_DEPTH: usize = 32;

/// Copies a Lua value into plain data. `nil` becomes `None`.
pub(super) fn to_value(v: &mlua::Value) -> Option<Value> {
    convert(v, 0)
}

fn convert(v: &mlua::Value, depth: usize) -> Option<Value> {
    Some(match v {
        mlua::Value::Nil => return None,
        mlua::Value::Boolean(b) => Value::Bool(*b),
        mlua::Value::Integer(i) => Value::Integer(*i),
        mlua::Value::Number(n) => Value::Number(*n),
        mlua::Value::String(s) => Value::String(s.to_string_lossy()),
        mlua::Value::Table(t) => Value::Table(convert_table(t, depth)),
        _ => Value::Function,
    })
}

fn convert_table(t: &mlua::Table, depth: usize) -> Table {
    if depth >= MAX_VALUE_DEPTH {
        return Table::new();
    }
    let mut ints: BTreeMap<i64, Value> = BTreeMap::new();
    let mut map = BTreeMap::new();
    for (k, v) in t.clone().pairs::<mlua::Value, mlua::Value>().flatten() {
        let Some(v) = convert(&v, depth + 1) else {
            continue;
        };
        match &k {
            mlua::Value::Integer(i) => {
                ints.insert(*i, v);
            }
            mlua::Value::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => {
                ints.insert(*n as i64, v);
            }
            other => {
                let key = match other {
                    mlua::Value::String(s) => s.to_string_lossy(),
                    mlua::Value::Boolean(b) => b.to_string(),
                    mlua::Value::Number(n) => super::format_number(*n),
                    _ => continue,
                };
                map.insert(key, v);
            }
        }
    }
    let mut seq = Vec::new();
    let mut next = 1;
    while let Some(v) = ints.remove(&next) {
        seq.push(v);
        next += 1;
    }
    for (k, v) in ints {
        map.insert(k.to_string(), v);
    }
    Table::from_parts(seq, map)
}
