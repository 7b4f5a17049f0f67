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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Value};

    fn load(text: &str) -> Result<Config, crate::config::ConfigError> {
        Config::load_str(
            std::path::Path::new("/tmp/require-test/prosody.cfg.lua"),
            text,
        )
    }

    /// The shape of Prosody's own test config: a library used in the config itself and
    /// a provider that exists nowhere.
    #[test]
    fn a_config_in_the_shape_of_prosodys_test_config_loads() {
        let config = load(
            r#"
local json = require "util.json"
local jid = require "util.jid"
local set = require "util.set"
local array = require "util.array"
local datetime = require "util.datetime"
authentication = "insecure"
contact_info = json.decode('{"admin": ["xmpp:admin@localhost"]}')
admin_host = jid.prep("Admin@Example.COM")
enabled_count = #array.collect(set.new({ "a", "b", "a" }):items())
ordered = array { 3, 1, 2 }:sort()[1]
epoch = datetime.datetime(0)
VirtualHost "localhost"
"#,
        )
        .expect("config loads");
        let g = config.global();
        assert_eq!(g.string("admin_host").as_deref(), Some("admin@example.com"));
        assert_eq!(g.integer("ordered"), Some(1));
        assert_eq!(g.string("epoch").as_deref(), Some("1970-01-01T00:00:00Z"));
        let Some(Value::Table(info)) = g.get("contact_info") else {
            panic!("contact_info is a table");
        };
        assert!(info.get("admin").is_some());
        let missing = crate::config::check::missing_modules(&config);
        assert!(missing.contains("auth_insecure"), "{missing:?}");
    }

    #[test]
    fn every_offered_library_loads_in_the_config_sandbox() {
        for lib in CONFIG_LIBRARIES {
            let text =
                format!("local l = require {lib:?}\nloaded = l ~= nil\nVirtualHost \"a.test\"\n");
            let config = load(&text).unwrap_or_else(|e| panic!("{lib}: {e}"));
            assert_eq!(config.global().boolean("loaded"), Some(true), "{lib}");
        }
    }

    #[test]
    fn requiring_anything_else_names_what_is_offered() {
        let err = load("local x = require \"util.pposix\"\nVirtualHost \"a.test\"\n")
            .expect_err("not offered");
        let text = err.to_string();
        assert!(text.contains("module 'util.pposix' not found"), "{text}");
        assert!(text.contains("util.json"), "{text}");
    }
}
