//! Prosody's data file format: the output of `util.serialization` (tab-indented table
//! constructors, `["key"] = value;` items, decimal-escaped strings, `%.18g` floats) wrapped
//! as `return ...;` for `.dat` files and `item(...);` lines for `.list` files, plus a
//! bounded parser for that Lua subset and the hand-edited variants people write.
//!
//! ```
//! use lilt::storage::{serialization::to_lua_source, LuaTable, LuaValue};
//! let mut t = LuaTable::new();
//! t.set("iteration_count", 10000i64);
//! assert_eq!(to_lua_source(&t.into()), "return {\n\t[\"iteration_count\"] = 10000;\n};\n");
//! ```

mod parse;

pub use parse::{parse_list_source, parse_lua_source, parse_value, MAX_DEPTH};

use super::lua_value::{LuaKey, LuaValue};

/// A whole `.dat` file: `return <value>;\n`.
pub fn to_lua_source(value: &LuaValue) -> String {
    let mut out = String::from("return ");
    write_value(value, 1, &mut out);
    out.push_str(";\n");
    out
}

/// One `.list` line: `item(<value>);\n`.
pub fn to_list_item(value: &LuaValue) -> String {
    let mut out = String::from("item(");
    write_value(value, 1, &mut out);
    out.push_str(");\n");
    out
}

/// The value alone, as `util.serialization.serialize` returns it.
pub fn serialize(value: &LuaValue) -> String {
    let mut out = String::new();
    write_value(value, 1, &mut out);
    out
}

fn write_value(value: &LuaValue, depth: usize, out: &mut String) {
    match value {
        LuaValue::Nil => out.push_str("nil"),
        LuaValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        LuaValue::Int(i) => out.push_str(&i.to_string()),
        LuaValue::Num(n) => write_float(*n, out),
        LuaValue::Str(s) => write_string(s, out),
        LuaValue::Table(t) => {
            out.push('{');
            // Items whose keys run 1, 2, 3... in iteration order are written without a key,
            // exactly as util.serialization does.
            let mut next_index = 1i64;
            let mut had_items = false;
            for (key, value) in t.iter() {
                had_items = true;
                out.push('\n');
                push_tabs(depth, out);
                if *key == LuaKey::Int(next_index) {
                    next_index += 1;
                } else {
                    out.push('[');
                    write_key(key, out);
                    out.push_str("] = ");
                }
                write_value(value, depth + 1, out);
                out.push(';');
            }
            if had_items {
                out.push('\n');
                push_tabs(depth - 1, out);
            }
            out.push('}');
        }
    }
}

fn push_tabs(n: usize, out: &mut String) {
    out.extend(std::iter::repeat_n('\t', n));
}

fn write_key(key: &LuaKey, out: &mut String) {
    match key {
        LuaKey::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        LuaKey::Int(i) => out.push_str(&i.to_string()),
        LuaKey::Num(n) => write_float(*n, out),
        LuaKey::Str(s) => write_string(s, out),
    }
}

/// Lua's `string.format("%.18g", n)`, with Prosody's spellings of the non-finite values.
fn write_float(n: f64, out: &mut String) {
    if n.is_nan() {
        out.push_str("(0/0)");
    } else if n == f64::INFINITY {
        out.push_str("(1/0)");
    } else if n == f64::NEG_INFINITY {
        out.push_str("(-1/0)");
    } else {
        out.push_str(&format_g18(n));
    }
}

const G_PRECISION: i32 = 18;

fn format_g18(n: f64) -> String {
    if n == 0.0 {
        return if n.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    let sci = format!("{:.*e}", (G_PRECISION - 1) as usize, n);
    let (mantissa, exp) = sci.split_once('e').expect("{:e} always has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is an integer");
    if !(-4..G_PRECISION).contains(&exp) {
        let mantissa = strip_fraction_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        let fixed = format!("{:.*}", (G_PRECISION - 1 - exp) as usize, n);
        strip_fraction_zeros(&fixed).to_owned()
    }
}

fn strip_fraction_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// A double-quoted string escaping control bytes, quotes, backslash and every byte from
/// 127 up (so non-ASCII UTF-8 becomes `\ddd` sequences, as Prosody writes it).
fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for &b in s.as_bytes() {
        match b {
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x0b => out.push_str("\\v"),
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\'' => out.push_str("\\'"),
            0..=31 | 127..=255 => out.push_str(&format!("\\{b:03}")),
            _ => out.push(b as char),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests;
