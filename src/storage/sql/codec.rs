//! Values as Prosody's SQL driver writes them: a `type` tag (`string`, `number`,
//! `boolean`, `json`, `xml`) beside the text, with tables in `util.json`'s encoding
//! (plain arrays for sequences; objects with `__array` and `__hash` for the parts of a
//! table JSON cannot key by string).

use serde_json::{Map, Number, Value as Json};

use crate::storage::lua_value::{LuaKey, LuaTable, LuaValue};
use crate::storage::StorageError;

fn bad(reason: impl Into<String>) -> StorageError {
    StorageError::BadData {
        file: "<sql>".into(),
        line: 0,
        reason: reason.into(),
    }
}

/// Lua's `tostring` of a float (`3.0`, `0.5`, `1e+20`).
pub fn float_text(n: f64) -> String {
    if n.is_finite() && n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{n:.1}")
    } else {
        format!("{n}")
    }
}

/// The `(type, value)` pair of a keyval field or an archive value that is not a stanza.
pub fn encode(value: &LuaValue) -> Result<(&'static str, String), StorageError> {
    Ok(match value {
        LuaValue::Str(s) => ("string", s.clone()),
        LuaValue::Bool(b) => ("boolean", b.to_string()),
        LuaValue::Int(i) => ("number", i.to_string()),
        LuaValue::Num(n) => ("number", float_text(*n)),
        LuaValue::Table(t) => ("json", to_json(t).to_string()),
        LuaValue::Nil => return Err(StorageError::Invalid("cannot store nil")),
    })
}

/// Reads a `(type, value)` pair back; `xml` values are parsed by the caller.
pub fn decode(kind: &str, text: &str) -> Result<LuaValue, StorageError> {
    match kind {
        "string" => Ok(LuaValue::Str(text.to_owned())),
        "boolean" => match text {
            "true" => Ok(LuaValue::Bool(true)),
            "false" => Ok(LuaValue::Bool(false)),
            _ => Err(bad("invalid-boolean")),
        },
        "number" => parse_number(text).ok_or_else(|| bad("invalid-number")),
        "json" => {
            let json: Json = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
            Ok(from_json(&json))
        }
        other => Err(bad(format!("Unhandled value type: {other}"))),
    }
}

fn parse_number(text: &str) -> Option<LuaValue> {
    let t = text.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Some(LuaValue::Int(i));
    }
    t.parse::<f64>().ok().map(LuaValue::Num)
}

fn scalar_json(value: &LuaValue) -> Json {
    match value {
        LuaValue::Nil => Json::Null,
        LuaValue::Bool(b) => Json::Bool(*b),
        LuaValue::Int(i) => Json::Number((*i).into()),
        LuaValue::Num(n) => Number::from_f64(*n).map_or(Json::Null, Json::Number),
        LuaValue::Str(s) => Json::String(s.clone()),
        LuaValue::Table(t) => to_json(t),
    }
}

fn key_json(key: &LuaKey) -> Json {
    match key {
        LuaKey::Bool(b) => Json::Bool(*b),
        LuaKey::Int(i) => Json::Number((*i).into()),
        LuaKey::Num(n) => Number::from_f64(*n).map_or(Json::Null, Json::Number),
        LuaKey::Str(s) => Json::String(s.clone()),
    }
}

/// `util.json.encode` of a table.
pub fn to_json(t: &LuaTable) -> Json {
    let seq_len = t.sequence_len() as i64;
    let array: Vec<Json> = t.sequence().map(scalar_json).collect();
    let mut hash = Map::new();
    let mut extra = Vec::new();
    for (k, v) in t.iter() {
        match k {
            LuaKey::Str(s) if s != "__array" && s != "__hash" => {
                hash.insert(s.clone(), scalar_json(v));
            }
            LuaKey::Int(i) if (1..=seq_len).contains(i) => {}
            LuaKey::Str(_) => {}
            other => {
                extra.push(key_json(other));
                extra.push(scalar_json(v));
            }
        }
    }
    if hash.is_empty() && extra.is_empty() && !array.is_empty() {
        return Json::Array(array);
    }
    if !extra.is_empty() {
        hash.insert("__hash".into(), Json::Array(extra));
    }
    if !array.is_empty() {
        hash.insert("__array".into(), Json::Array(array));
    }
    Json::Object(hash)
}

fn json_key(j: &Json) -> Option<LuaKey> {
    match j {
        Json::Bool(b) => Some(LuaKey::Bool(*b)),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Some(LuaKey::Int(i)),
            None => n.as_f64().and_then(LuaKey::number),
        },
        Json::String(s) => Some(LuaKey::Str(s.clone())),
        _ => None,
    }
}

/// `util.json.decode`, with `__array`/`__hash` folded back into the table.
pub fn from_json(j: &Json) -> LuaValue {
    match j {
        Json::Null => LuaValue::Nil,
        Json::Bool(b) => LuaValue::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => LuaValue::Int(i),
            None => LuaValue::Num(n.as_f64().unwrap_or(0.0)),
        },
        Json::String(s) => LuaValue::Str(s.clone()),
        Json::Array(items) => {
            let mut t = LuaTable::new();
            for item in items {
                t.push(from_json(item));
            }
            LuaValue::Table(t)
        }
        Json::Object(map) => {
            let mut t = LuaTable::new();
            if let Some(Json::Array(items)) = map.get("__array") {
                for item in items {
                    t.push(from_json(item));
                }
            }
            if let Some(Json::Array(pairs)) = map.get("__hash") {
                for pair in pairs.chunks(2) {
                    if let [k, v] = pair {
                        if let Some(k) = json_key(k) {
                            t.set(k, from_json(v));
                        }
                    }
                }
            }
            for (k, v) in map {
                if k != "__array" && k != "__hash" {
                    t.set(k.as_str(), from_json(v));
                }
            }
            LuaValue::Table(t)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roster_metadata_under_a_false_key_encodes_as_prosodys_hash_form() {
        let mut meta = LuaTable::new();
        meta.set("version", 3i64);
        let mut extra = LuaTable::new();
        extra.set(false, meta);
        let json = to_json(&extra).to_string();
        assert_eq!(json, r#"{"__hash":[false,{"version":3}]}"#);
        assert_eq!(
            from_json(&serde_json::from_str(&json).unwrap()),
            LuaValue::Table(extra)
        );
    }

    #[test]
    fn sequences_encode_as_arrays_and_mixed_tables_keep_both_parts() {
        let mut seq = LuaTable::new();
        seq.push("a");
        seq.push("b");
        assert_eq!(to_json(&seq).to_string(), r#"["a","b"]"#);
        seq.set("name", "vCard");
        let json = to_json(&seq).to_string();
        assert_eq!(json, r#"{"__array":["a","b"],"name":"vCard"}"#);
        assert_eq!(
            from_json(&serde_json::from_str(&json).unwrap()),
            LuaValue::Table(seq)
        );
    }

    #[test]
    fn scalars_round_trip_with_their_type_tags() {
        for v in [
            LuaValue::Str("x".into()),
            LuaValue::Int(10000),
            LuaValue::Num(0.5),
            LuaValue::Bool(false),
        ] {
            let (kind, text) = encode(&v).unwrap();
            assert_eq!(decode(kind, &text).unwrap(), v, "{kind} {text}");
        }
        assert_eq!(
            encode(&LuaValue::Int(10000)).unwrap(),
            ("number", "10000".into())
        );
        assert_eq!(
            encode(&LuaValue::Bool(true)).unwrap(),
            ("boolean", "true".into())
        );
    }

    #[test]
    fn an_empty_table_is_an_empty_object() {
        assert_eq!(to_json(&LuaTable::new()).to_string(), "{}");
    }
}
