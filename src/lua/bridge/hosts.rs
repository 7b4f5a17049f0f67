//! Configuration and hosts for Lua: options, paths, host lists, disco features and
//! identities, and which modules (native or Lua) a host runs.

use mlua::{Lua, Table, Value};

use super::with_core;
use crate::lua::{convert, loader};

pub(super) fn install(lua: &Lua, n: &Table) -> mlua::Result<()> {
    n.set(
        "config",
        lua.create_function(|lua, (host, key): (String, String)| {
            with_core(|c| {
                let sec = if host == "*" {
                    c.options().global()
                } else {
                    c.options().host(&host)
                };
                match sec.get(&key) {
                    Some(v) => convert::config_to_lua(lua, v),
                    None => Ok(Value::Nil),
                }
            })?
        })?,
    )?;
    n.set(
        "paths",
        lua.create_function(|_, ()| {
            with_core(|c| {
                let cfg = &c.shared.config;
                (
                    cfg.main_file().display().to_string(),
                    cfg.config_dir().display().to_string(),
                    c.shared.store.data_path().display().to_string(),
                )
            })
        })?,
    )?;
    n.set(
        "hosts",
        lua.create_function(|_, ()| {
            with_core(|c| {
                let mut v: Vec<String> = c.hosts.keys().cloned().collect();
                v.sort();
                v
            })
        })?,
    )?;
    n.set(
        "host_modules",
        lua.create_function(|_, host: String| {
            with_core(|c| {
                c.hosts
                    .get(&host)
                    .map(|h| h.modules.iter().cloned().collect::<Vec<_>>())
            })
        })?,
    )?;
    n.set(
        "is_component",
        lua.create_function(|_, host: String| {
            with_core(|c| c.hosts.get(&host).map(|h| h.is_component))
        })?,
    )?;
    n.set(
        "add_feature",
        lua.create_function(|_, (host, var, add): (String, String, bool)| {
            with_core(|c| {
                if let Some(h) = c.hosts.get_mut(&host) {
                    if add {
                        h.features.insert(var);
                    } else {
                        h.features.remove(&var);
                    }
                }
            })
        })?,
    )?;
    n.set(
        "add_identity",
        lua.create_function(
            |_, (host, cat, typ, name): (String, String, String, Option<String>)| {
                with_core(|c| {
                    if let Some(h) = c.hosts.get_mut(&host) {
                        h.identities.push((cat, typ, name.unwrap_or_default()));
                    }
                })
            },
        )?,
    )?;
    n.set(
        "add_extension",
        lua.create_function(|_, (host, form, add): (String, Table, bool)| {
            let el = crate::lua::convert::lua_to_element(&form).map_err(super::rt)?;
            with_core(|c| {
                if let Some(h) = c.hosts.get_mut(&host) {
                    if add {
                        h.extensions.push(el);
                    } else if let Some(i) = h.extensions.iter().position(|x| *x == el) {
                        h.extensions.remove(i);
                    }
                }
            })
        })?,
    )?;
    n.set(
        "mark_loaded",
        lua.create_function(|_, (host, name, loaded): (String, String, bool)| {
            with_core(|c| {
                if let Some(h) = c.hosts.get_mut(&host) {
                    if loaded {
                        h.modules.insert(name);
                    } else {
                        h.modules.remove(&name);
                    }
                }
            })
        })?,
    )?;
    n.set(
        "load_native",
        lua.create_function(|_, (host, name): (String, String)| {
            if crate::modules::native(&name).is_none() {
                return Ok(false);
            }
            with_core(|c| crate::modules::load_native(c, &host, &name))
        })?,
    )?;
    n.set(
        "is_core_native",
        lua.create_function(|_, name: String| Ok(loader::is_core_native(&name)))?,
    )?;
    n.set(
        "has_native",
        lua.create_function(|_, name: String| Ok(crate::modules::native(&name).is_some()))?,
    )?;
    Ok(())
}
