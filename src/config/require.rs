//! `require` in the config environment (issue 15 point 4): a Prosody config may load
//! Prosody's libraries (`local json = require "util.json"`). Lilt's config offers the
//! bundled `util.*` libraries that need nothing from a running server; anything else is
//! an error naming what is offered.

use mlua::{Lua, Table, Value};

use crate::lua::sources;

const LOADED_KEY: &str = "lilt.config.loaded";

/// The libraries a config may `require`.
pub const CONFIG_LIBRARIES: &[&str] = &[
    "util.array",
    "util.cache",
    "util.datetime",
    "util.error",
    "util.events",
    "util.format",
    "util.ip",
    "util.iterators",
    "util.jid",
    "util.json",
    "util.serialization",
    "util.set",
];

/// Replaces the standard `require` (which would search the disk) with one that serves
/// [`CONFIG_LIBRARIES`], each loaded once per config load.
pub(super) fn install(lua: &Lua) -> mlua::Result<()> {
    let loaded = lua.create_table()?;
    loaded.set("lilt.native", stringprep_table(lua)?)?;
    lua.set_named_registry_value(LOADED_KEY, loaded)?;
    let require = lua.create_function(|lua, name: String| {
        let loaded: Table = lua.named_registry_value(LOADED_KEY)?;
        let cached: Value = loaded.get(name.as_str())?;
        if !cached.is_nil() {
            return Ok(cached);
        }
        let source = CONFIG_LIBRARIES
            .contains(&name.as_str())
            .then(|| sources::library(&name))
            .flatten()
            .ok_or_else(|| {
                mlua::Error::RuntimeError(format!(
                    "module '{name}' not found: the config environment offers {}",
                    CONFIG_LIBRARIES.join(", ")
                ))
            })?;
        let value: Value = lua
            .load(source)
            .set_name(format!("={name}"))
            .call(name.as_str())?;
        let value = if value.is_nil() {
            Value::Boolean(true)
        } else {
            value
        };
        loaded.set(name.as_str(), value.clone())?;
        Ok(value)
    })?;
    lua.globals().set("require", require)
}

/// The string preparation `util.jid` needs (the plugin VM's `lilt.native` has more).
fn stringprep_table(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    type Prep = fn(&str) -> Option<String>;
    let preps: [(&str, Prep); 3] = [
        ("nodeprep", |s| crate::xmpp::jid::nodeprep(s).ok()),
        ("nameprep", |s| crate::xmpp::jid::nameprep(s).ok()),
        ("resourceprep", |s| crate::xmpp::jid::resourceprep(s).ok()),
    ];
    for (name, prep) in preps {
        t.set(name, lua.create_function(move |_, s: String| Ok(prep(&s)))?)?;
    }
    Ok(t)
}
