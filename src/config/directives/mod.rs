//! The config environment: `VirtualHost`/`Host`/`host`, `Component`/`component`,
//! `Include`/`include`, `RunScript`, `ENV_*` reads, and option assignment.
//! Each directive records its caller's `file:line` for errors and warnings.

use std::path::PathBuf;

use mlua::Lua;

mod files;

use super::eval::{self, caller_position, lock, Shared};
use super::{prep_host_name, ConfigError, SectionData, SectionKind};

const DIRECTIVES_KEY: &str = "lilt.config.directives";
const META_KEY: &str = "lilt.config.env_meta";

/// Makes fresh per-file environments out of the directives installed in a Lua state.
pub(super) struct EnvBuilder;

impl EnvBuilder {
    /// A new environment: the directives plus the option-storing metatable.
    pub fn env(&self, lua: &Lua) -> mlua::Result<mlua::Table> {
        let directives: mlua::Table = lua.named_registry_value(DIRECTIVES_KEY)?;
        let meta: mlua::Table = lua.named_registry_value(META_KEY)?;
        let env = lua.create_table()?;
        for pair in directives.pairs::<mlua::Value, mlua::Value>() {
            let (k, v) = pair?;
            env.raw_set(k, v)?;
        }
        env.set_metatable(Some(meta));
        Ok(env)
    }
}

/// Registers the directives and the environment metatable in `lua`.
pub(super) fn install(lua: &Lua, shared: &Shared) -> mlua::Result<EnvBuilder> {
    let directives = lua.create_table()?;
    let host = virtual_host_fn(lua, shared)?;
    for name in ["VirtualHost", "Host", "host"] {
        directives.set(name, host.clone())?;
    }
    let component = component_fn(lua, shared)?;
    directives.set("Component", component.clone())?;
    directives.set("component", component)?;
    let inc = files::include_fn(lua, shared)?;
    directives.set("Include", inc.clone())?;
    directives.set("include", inc)?;
    directives.set("RunScript", files::run_script_fn(lua, shared)?)?;
    lua.set_named_registry_value(DIRECTIVES_KEY, directives)?;

    let meta = lua.create_table()?;
    meta.set(
        "__index",
        lua.create_function(|lua, (_env, key): (mlua::Table, mlua::Value)| {
            if let mlua::Value::String(s) = &key {
                let name = s.to_string_lossy();
                if let Some(var) = name.strip_prefix("ENV_") {
                    return match std::env::var_os(var) {
                        Some(v) => Ok(mlua::Value::String(
                            lua.create_string(v.as_encoded_bytes())?,
                        )),
                        None => Ok(mlua::Value::Nil),
                    };
                }
            }
            lua.globals().raw_get::<mlua::Value>(key)
        })?,
    )?;
    let sh = shared.clone();
    meta.set(
        "__newindex",
        lua.create_function(
            move |lua, (_env, key, value): (mlua::Table, mlua::Value, mlua::Value)| {
                let mlua::Value::String(key) = key else {
                    return Ok(());
                };
                let key = key.to_string_lossy();
                let value = crate::config::convert::to_value(&value);
                let pos = caller_position(lua);
                let mut s = lock(&sh);
                let (file, line) = position(&s, pos);
                let line = pos.map_or(line, |(chunk, l)| s.statement_line(chunk, &key, l));
                let section = s.frames.last().and_then(|f| f.section);
                s.set_option(section, &key, value, file, line, true);
                Ok(())
            },
        )?,
    )?;
    lua.set_named_registry_value(META_KEY, meta)?;
    Ok(EnvBuilder)
}

/// The file and line of a caller position, falling back to the file being loaded.
fn position(s: &eval::State, pos: Option<(usize, u32)>) -> (PathBuf, u32) {
    match pos {
        Some((chunk, line)) => (s.chunk_path(chunk), line),
        None => {
            let chunk = s.frames.last().map(|f| f.chunk).unwrap_or_default();
            (s.chunk_path(chunk), 0)
        }
    }
}

/// Records a typed error for the Lua error that is about to unwind, and returns that error.
pub(super) fn raise(shared: &Shared, err: ConfigError) -> mlua::Error {
    let message = err.to_string();
    lock(shared).pending = Some((message.clone(), err));
    mlua::Error::RuntimeError(message)
}

pub(super) fn here(lua: &Lua, shared: &Shared) -> (PathBuf, u32) {
    let pos = caller_position(lua);
    position(&lock(shared), pos)
}

fn host_name_error(file: PathBuf, line: u32, reason: String) -> ConfigError {
    ConfigError::HostName { file, line, reason }
}

/// Declares (or re-enters) a section and makes it current for the calling file.
fn enter_section(
    shared: &Shared,
    name: String,
    kind: SectionKind,
    file: PathBuf,
    line: u32,
) -> Result<usize, ConfigError> {
    let mut s = lock(shared);
    let existing = s.hosts.iter().position(|h| h.name == name);
    let index = match existing {
        Some(i) => {
            let was_component = matches!(s.hosts[i].kind, SectionKind::Component { .. });
            let is_component = matches!(kind, SectionKind::Component { .. });
            if was_component != is_component {
                let (new_kind, old_kind) = if is_component {
                    ("Component", "Host")
                } else {
                    ("Host", "Component")
                };
                let reason = format!(
                    "{new_kind} {name:?} clashes with previously defined {old_kind} {name:?}, \
                     for services use a sub-domain like conference.{name}"
                );
                return Err(host_name_error(file, line, reason));
            }
            i
        }
        None => {
            s.hosts.push(SectionData {
                name,
                kind,
                options: Default::default(),
                file,
                line,
            });
            s.hosts.len() - 1
        }
    };
    if let Some(frame) = s.frames.last_mut() {
        frame.section = Some(index);
    }
    Ok(index)
}

pub(super) fn name_arg(value: &mlua::Value) -> Option<String> {
    match value {
        mlua::Value::String(s) => Some(s.to_string_lossy()),
        mlua::Value::Integer(i) => Some(i.to_string()),
        mlua::Value::Number(n) => Some(super::format_number(*n)),
        _ => None,
    }
}

/// Applies a table form's options to `index` and returns the file to the global section.
fn apply_table(lua: &Lua, shared: &Shared, index: usize, opts: &mlua::Table) -> mlua::Result<()> {
    let pos = caller_position(lua);
    let mut entries = Vec::new();
    for pair in opts.clone().pairs::<mlua::Value, mlua::Value>() {
        if let (mlua::Value::String(k), v) = pair? {
            entries.push((k.to_string_lossy(), crate::config::convert::to_value(&v)));
        }
    }
    // Lua's table order is arbitrary; sorted keys keep warnings reproducible.
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut s = lock(shared);
    let (file, line) = position(&s, pos);
    for (key, value) in entries {
        let line = pos.map_or(line, |(chunk, l)| s.table_entry_line(chunk, &key, l));
        s.set_option(Some(index), &key, value, file.clone(), line, false);
    }
    if let Some(frame) = s.frames.last_mut() {
        frame.section = None;
    }
    Ok(())
}

fn virtual_host_fn(lua: &Lua, shared: &Shared) -> mlua::Result<mlua::Function> {
    let shared = shared.clone();
    lua.create_function(move |lua, name: mlua::Value| {
        let (file, line) = here(lua, &shared);
        let Some(name) = name_arg(&name) else {
            return Err(raise(
                &shared,
                host_name_error(file, line, "Host must have a name".into()),
            ));
        };
        let name = prep_host_name("Host", &name).map_err(|reason| {
            raise(
                &shared,
                host_name_error(file.clone(), line, reason.to_string()),
            )
        })?;
        let index = enter_section(&shared, name, SectionKind::VirtualHost, file, line)
            .map_err(|e| raise(&shared, e))?;
        let sh = shared.clone();
        lua.create_function(move |lua, arg: mlua::Value| match arg {
            mlua::Value::Table(t) => apply_table(lua, &sh, index, &t),
            mlua::Value::String(_) => {
                let (file, line) = here(lua, &sh);
                let reason = "VirtualHost entries do not accept a module name".to_string();
                Err(raise(&sh, host_name_error(file, line, reason)))
            }
            other => {
                let (file, line) = here(lua, &sh);
                let reason = format!(
                    "VirtualHost options must be a table, got {}",
                    other.type_name()
                );
                Err(raise(
                    &sh,
                    ConfigError::Runtime {
                        file,
                        line: Some(line),
                        reason,
                    },
                ))
            }
        })
    })
}

fn component_fn(lua: &Lua, shared: &Shared) -> mlua::Result<mlua::Function> {
    let shared = shared.clone();
    lua.create_function(move |lua, name: mlua::Value| {
        let (file, line) = here(lua, &shared);
        let Some(name) = name_arg(&name) else {
            return Err(raise(
                &shared,
                host_name_error(file, line, "Component must have a name".into()),
            ));
        };
        let name = prep_host_name("Component", &name).map_err(|reason| {
            raise(
                &shared,
                host_name_error(file.clone(), line, reason.to_string()),
            )
        })?;
        let kind = SectionKind::Component {
            module: "component".into(),
        };
        let index = enter_section(&shared, name, kind, file.clone(), line)
            .map_err(|e| raise(&shared, e))?;
        {
            let mut s = lock(&shared);
            let module = super::Value::String("component".into());
            s.set_option(
                Some(index),
                "component_module",
                Some(module),
                file.clone(),
                line,
                false,
            );
            let flag = super::Value::Bool(false);
            s.set_option(
                Some(index),
                "load_global_modules",
                Some(flag),
                file,
                line,
                false,
            );
        }
        let sh = shared.clone();
        lua.create_function(move |lua, arg: mlua::Value| match arg {
            mlua::Value::Table(t) => apply_table(lua, &sh, index, &t).map(|_| mlua::Value::Nil),
            mlua::Value::String(module) => {
                let (file, line) = here(lua, &sh);
                let module = super::Value::String(module.to_string_lossy());
                lock(&sh).set_option(
                    Some(index),
                    "component_module",
                    Some(module),
                    file,
                    line,
                    false,
                );
                let sh2 = sh.clone();
                let then = lua.create_function(move |lua, opts: mlua::Value| match opts {
                    mlua::Value::Table(t) => apply_table(lua, &sh2, index, &t),
                    other => {
                        let (file, line) = here(lua, &sh2);
                        let reason = format!(
                            "Component options must be a table, got {}",
                            other.type_name()
                        );
                        Err(raise(
                            &sh2,
                            ConfigError::Runtime {
                                file,
                                line: Some(line),
                                reason,
                            },
                        ))
                    }
                })?;
                Ok(mlua::Value::Function(then))
            }
            other => {
                let (file, line) = here(lua, &sh);
                let reason = format!(
                    "Component options must be a table, got {}",
                    other.type_name()
                );
                Err(raise(
                    &sh,
                    ConfigError::Runtime {
                        file,
                        line: Some(line),
                        reason,
                    },
                ))
            }
        })
    })
}
