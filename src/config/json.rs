//! `lilt check config --json`: the resolved configuration as one JSON object for tooling,
//! `{"files": [...], "global": {...}, "hosts": {"name": {...}}}`, each section holding
//! exactly the options set in it.

use serde_json::{json, Map, Number, Value as Json};

use super::{Config, SectionData, Value};

/// The JSON form of a value: Lua sequences (and empty tables) as arrays, other tables as
/// objects (sequence entries under `"1"`, `"2"`, ...), functions as `null`.
pub fn value_to_json(v: &Value) -> Json {
    match v {
        Value::Bool(b) => Json::Bool(*b),
        Value::Integer(i) => Json::Number((*i).into()),
        Value::Number(n) => Number::from_f64(*n).map_or(Json::Null, Json::Number),
        Value::String(s) => Json::String(s.clone()),
        Value::Function => Json::Null,
        Value::Table(t) if t.is_sequence() => Json::Array(t.seq().iter().map(value_to_json).collect()),
        Value::Table(t) => {
            let mut m = Map::new();
            for (i, v) in t.seq().iter().enumerate() {
                m.insert((i + 1).to_string(), value_to_json(v));
            }
            for (k, v) in t.entries() {
                m.insert(k.clone(), value_to_json(v));
            }
            Json::Object(m)
        }
    }
}

fn section_json(s: &SectionData) -> Json {
    Json::Object(
        s.options
            .iter()
            .map(|(k, e)| (k.clone(), value_to_json(&e.value)))
            .collect(),
    )
}

/// The whole resolved configuration.
pub fn config_to_json(config: &Config) -> Json {
    let hosts: Map<String, Json> = config
        .hosts_data()
        .iter()
        .map(|h| (h.name.clone(), section_json(h)))
        .collect();
    let files: Vec<Json> = config
        .files()
        .iter()
        .map(|p| Json::String(p.display().to_string()))
        .collect();
    json!({
        "files": files,
        "global": section_json(config.global_data()),
        "hosts": hosts,
    })
}
