//! `lilt.metrics`: what `lua/core/metrics.lua` (Prosody's `core.statsmanager` for plugins)
//! calls to declare families and move values in the OpenMetrics registry that `/metrics`
//! serves. Families and metrics are handed to Lua as numeric ids.

use mlua::{Lua, Table};

use crate::modules::openmetrics::families::{families, FamilyError};

fn lua_err(e: FamilyError) -> mlua::Error {
    mlua::Error::runtime(e.to_string())
}

/// `family(type, name, unit, description, label_keys, buckets)` as Lua passes it.
type FamilyArgs = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<Vec<String>>,
    Option<Vec<f64>>,
);

/// Registers `package.loaded["lilt.metrics"]`.
pub fn install(lua: &Lua) -> mlua::Result<()> {
    let t = lua.create_table()?;
    t.set(
        "family",
        lua.create_function(|_, args: FamilyArgs| {
            let (kind, name, unit, help, keys, buckets) = args;
            families()
                .family(
                    &kind,
                    &name,
                    unit.as_deref().unwrap_or(""),
                    help.as_deref().unwrap_or(""),
                    keys.unwrap_or_default(),
                    buckets,
                )
                .map_err(lua_err)
        })?,
    )?;
    t.set(
        "metric",
        lua.create_function(|_, (family, labels): (usize, Vec<String>)| {
            families().metric(family, labels).map_err(lua_err)
        })?,
    )?;
    type Op = fn(usize, f64) -> Result<(), FamilyError>;
    let ops: [(&str, Op); 3] = [
        ("set", |id, v| families().set(id, v)),
        ("add", |id, v| families().add(id, v)),
        ("sample", |id, v| families().sample(id, v)),
    ];
    for (name, op) in ops {
        t.set(
            name,
            lua.create_function(move |_, (id, v): (usize, f64)| op(id, v).map_err(lua_err))?,
        )?;
    }
    t.set(
        "reset",
        lua.create_function(|_, id: usize| families().reset(id).map_err(lua_err))?,
    )?;
    t.set(
        "value",
        lua.create_function(|_, id: usize| Ok(families().value(id)))?,
    )?;
    let loaded: Table = lua.globals().get::<Table>("package")?.get("loaded")?;
    loaded.set("lilt.metrics", t)
}
