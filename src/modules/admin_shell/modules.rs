//! `module:load`, `unload`, `reload` and `list`: Lua plugins go through the Lua module
//! manager (their `save`/`restore`/`unload` hooks run, their hooks and timers go); native
//! modules on the module handle are unloaded and reloaded through it (their hooks and
//! features go), older-shape native modules are built in and can only be added. Sessions are never touched. `list` shows
//! what really provides each module (native, or the Lua file) and what did not load.

use std::collections::{BTreeMap, BTreeSet};

use mlua::Table;

use super::command::Arg;
use super::console::{arg, Reply};
use crate::core::Core;

pub fn run(core: &mut Core, method: &str, args: &[Arg]) -> Reply {
    let name = arg(args, 0);
    let host = arg(args, 1);
    match (method, name) {
        ("list", _) => list(core, arg(args, 0)),
        ("load", Some(name)) => load(core, &name, host),
        ("unload", Some(name)) => change(core, &name, host, Change::Unload),
        ("reload", Some(name)) => change(core, &name, host, Change::Reload),
        ("load" | "unload" | "reload", None) => {
            Reply::err(Vec::new(), format!("usage: module:{method}(module, host)"))
        }
        _ => Reply::err(
            Vec::new(),
            format!("module:{method}() is not a console command here; type 'help module'"),
        ),
    }
}

/// The Lua plugins loaded on `host` (`"*"` for global ones).
pub fn lua_modules(core: &mut Core, host: &str) -> BTreeSet<String> {
    lua_module_files(core, host).into_keys().collect()
}

/// The Lua plugins loaded on `host`, each with the file it was loaded from.
fn lua_module_files(core: &mut Core, host: &str) -> BTreeMap<String, String> {
    let Some(lua) = core.lua.as_ref().map(|h| h.lua.clone()) else {
        return BTreeMap::new();
    };
    let _guard = crate::lua::bridge::CoreGuard::enter(core);
    let names = lua
        .load("return require 'core.modulemanager'")
        .eval::<Table>()
        .and_then(|m| m.get::<mlua::Function>("get_modules"))
        .and_then(|f| f.call::<Table>(host.to_owned()))
        .and_then(|t| {
            t.pairs::<String, mlua::Value>()
                .map(|p| {
                    p.map(|(k, v)| {
                        let path = match v {
                            mlua::Value::Table(api) => api.get::<Option<String>>("path"),
                            _ => Ok(None),
                        };
                        (k, path.ok().flatten().unwrap_or_default())
                    })
                })
                .collect()
        });
    match names {
        Ok(v) => v,
        Err(e) => {
            tracing::error!("admin console: cannot list Lua modules of {host}: {e}");
            BTreeMap::new()
        }
    }
}

/// The hosts a command applies to: the one given (checked), else every host.
fn target_hosts(core: &Core, host: Option<String>) -> Result<Vec<String>, String> {
    match host {
        Some(h) if h == "*" || core.hosts.contains_key(&h) => Ok(vec![h]),
        Some(h) => Err(format!("Host '{h}' is not served here (see host:list())")),
        None => {
            let mut all: Vec<String> = core.hosts.keys().cloned().collect();
            all.sort();
            Ok(all)
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn load(core: &mut Core, name: &str, host: Option<String>) -> Reply {
    let hosts = match target_hosts(core, host) {
        Ok(h) => h,
        Err(e) => return Reply::err(Vec::new(), e),
    };
    let (mut output, mut count, mut last_error) = (Vec::new(), 0, None);
    for h in hosts.iter().filter(|h| *h != "*") {
        if core.hosts.get(h).is_some_and(|x| x.modules.contains(name)) {
            continue;
        }
        let result = if crate::lua::lua_takes(&core.shared.config, name) {
            crate::lua::load_module_now(core, h, name).map_err(|e| e.to_string())
        } else if crate::modules::load_native(core, h, name) {
            Ok(())
        } else {
            Err(format!(
                "module '{name}' not found (no mod_{name}.lua on plugin_paths, and Lilt has no \
                 such module)"
            ))
        };
        match result {
            Ok(()) => {
                count += 1;
                output.push(format!("Loaded for {h}"));
            }
            Err(e) => {
                output.push(e.clone());
                last_error = Some(e);
            }
        }
    }
    match last_error {
        None => Reply::ok(
            output,
            format!("Module loaded onto {count} host{}", plural(count)),
        ),
        Some(e) => Reply::err(output, format!("Last error: {e}")),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    Unload,
    Reload,
}

impl Change {
    fn verb(self) -> &'static str {
        match self {
            Change::Unload => "unloaded",
            Change::Reload => "reloaded",
        }
    }
}

fn change(core: &mut Core, name: &str, host: Option<String>, how: Change) -> Reply {
    let explicit = host.is_some();
    let mut hosts = match target_hosts(core, host) {
        Ok(h) => h,
        Err(e) => return Reply::err(Vec::new(), e),
    };
    // A global Lua module (module:set_global) lives on "*" and is only listed on hosts.
    let global = lua_modules(core, "*").contains(name);
    if global && !explicit {
        hosts.insert(0, "*".to_owned());
    } else if global && !hosts.iter().any(|h| lua_modules(core, h).contains(name)) {
        hosts = vec!["*".to_owned()];
    }
    let (mut output, mut count, mut last_error) = (Vec::new(), 0, None);
    for h in &hosts {
        let is_lua = lua_modules(core, h).contains(name);
        let on_host = h != "*" && core.hosts.get(h).is_some_and(|x| x.modules.contains(name));
        if !is_lua && (!on_host || global) {
            continue;
        }
        if !is_lua && crate::modules::unloadable(name) {
            // A native module on the handle: what it registered goes, and a reload
            // registers it afresh.
            let result = crate::modules::handle::unload(core, h, name).map(|()| {
                if how == Change::Reload {
                    crate::modules::load_native(core, h, name);
                }
            });
            match result {
                Ok(()) => {
                    count += 1;
                    output.push(match how {
                        Change::Unload => format!("Unloaded from {h}"),
                        Change::Reload => format!("Reloaded on {h}"),
                    });
                }
                Err(e) => {
                    output.push(e.to_string());
                    last_error = Some(e.to_string());
                }
            }
            continue;
        }
        if !is_lua {
            let e = format!(
                "mod_{name} is built into Lilt and cannot be {} at run time on {h} \
                 (use modules_disabled and restart)",
                how.verb()
            );
            output.push(e.clone());
            last_error = Some(e);
            continue;
        }
        let result = match how {
            Change::Unload => crate::lua::unload_module(core, h, name),
            Change::Reload => crate::lua::reload_module(core, h, name),
        };
        match result {
            Ok(()) => {
                count += 1;
                output.push(match how {
                    Change::Unload => format!("Unloaded from {h}"),
                    Change::Reload => format!("Reloaded on {h}"),
                });
            }
            Err(e) => {
                output.push(e.to_string());
                last_error = Some(e.to_string());
            }
        }
    }
    if let Some(e) = last_error {
        return Reply::err(output, format!("Last error: {e}"));
    }
    if count == 0 {
        let place = if explicit {
            format!("on {}", hosts.join(", "))
        } else {
            "on any host".to_owned()
        };
        return Reply::err(output, format!("Module '{name}' is not loaded {place}"));
    }
    let (what, prep) = match how {
        Change::Unload => ("unloaded", "from"),
        Change::Reload => ("reloaded", "on"),
    };
    Reply::ok(
        output,
        format!("Module {what} {prep} {count} host{}", plural(count)),
    )
}

fn list(core: &mut Core, host: Option<String>) -> Reply {
    use crate::lua::provenance::{self, Provider};
    let explicit = host.is_some();
    let mut hosts = match target_hosts(core, host) {
        Ok(h) => h,
        Err(e) => return Reply::err(Vec::new(), e),
    };
    if !explicit {
        hosts.insert(0, "*".to_owned());
    }
    let mut output = Vec::new();
    let global = lua_module_files(core, "*");
    for h in &hosts {
        let lua = lua_module_files(core, h);
        let mut all: BTreeMap<String, String> = lua
            .iter()
            .map(|(m, path)| (m.clone(), lua_label(path)))
            .collect();
        let natives: Vec<String> = core
            .hosts
            .get(h)
            .map(|x| x.modules.iter().cloned().collect())
            .unwrap_or_default();
        for m in natives {
            if all.contains_key(&m) {
                continue;
            }
            let label = match global.get(&m) {
                Some(path) => lua_label(path),
                None => "native".to_owned(),
            };
            all.insert(m, label);
        }
        if let Some(recorded) = provenance::table(core).host(h) {
            for (m, p) in recorded {
                if let Provider::Missing(why) = p {
                    all.entry(m.clone())
                        .or_insert_with(|| format!("not loaded: {why}"));
                }
            }
        }
        output.push(if h == "*" {
            "Global:".to_owned()
        } else {
            format!("{h}:")
        });
        if all.is_empty() {
            output.push("    No modules loaded".to_owned());
        }
        for (m, label) in &all {
            output.push(format!("    {m} ({label})"));
        }
    }
    Reply::printed(output)
}

fn lua_label(path: &str) -> String {
    if path.is_empty() {
        "Lua".to_owned()
    } else {
        format!("Lua: {path}")
    }
}
