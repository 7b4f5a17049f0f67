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

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn legacy_measure_types_become_prosodys_families() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = format!(
            "data_path = {:?}\nVirtualHost \"m.test\"\n",
            dir.path().display().to_string()
        );
        let config = Config::load_str(&dir.path().join("prosody.cfg.lua"), &text).expect("config");
        let (shared, _rx) = crate::core::server::build(config);
        let mut core = crate::core::server::new_core(shared);
        let r = crate::lua::eval(
            &mut core,
            r#"local m = require "core.metrics";
            m.measure("amount", "mod_lmt/queue", 5, "host", "m.test")(7);
            local stop = m.measure("times", "mod_lmt/work", nil, "host", "m.test")(); stop();
            m.measure("sizes", "mod_lmt/size", nil, "host", "m.test")(2000);
            m.measure("distribution", "mod_lmt/dist", "bytes")(3);
            local rate = m.measure("rate", "mod_lmt/rate"); rate(); rate();
            local ok = pcall(m.measure, "bogus", "mod_lmt/x");
            return tostring(ok)"#,
        )
        .expect("Lua runs");
        assert_eq!(r, "false", "an unknown legacy type is an error");
        let mut out = String::new();
        crate::modules::openmetrics::families::families().render_into(&mut out);
        for want in [
            "# TYPE prosody_mod_lmt__queue gauge\n",
            "prosody_mod_lmt__queue{host=\"m.test\"} 7\n",
            "# TYPE prosody_mod_lmt__work_seconds histogram\n",
            "prosody_mod_lmt__work_seconds_count{host=\"m.test\"} 1\n",
            "prosody_mod_lmt__size_bytes_bucket{host=\"m.test\",le=\"1024\"} 0\n",
            "prosody_mod_lmt__size_bytes_bucket{host=\"m.test\",le=\"4096\"} 1\n",
            "# TYPE prosody_mod_lmt__dist_bytes summary\n",
            "prosody_mod_lmt__dist_bytes_sum 3\n",
            "prosody_mod_lmt__rate_total 2\n",
        ] {
            assert!(out.contains(want), "missing {want:?} in:\n{out}");
        }
    }
}
