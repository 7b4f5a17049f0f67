//! The file directives: `Include`/`include` (relative to the including file, wildcards,
//! loop detection) and `RunScript` (plain `dofile` in the real globals).

use std::path::{Path, PathBuf};

use mlua::{ChunkMode, Lua};

use super::{here, name_arg, raise, EnvBuilder};
use crate::config::eval::{self, lock, Shared, MAX_INCLUDE_DEPTH};
use crate::config::{include, ConfigError};

pub(super) fn include_fn(lua: &Lua, shared: &Shared) -> mlua::Result<mlua::Function> {
    let shared = shared.clone();
    lua.create_function(move |lua, arg: mlua::Value| {
        let (file, line) = here(lua, &shared);
        let Some(arg) = name_arg(&arg) else {
            let reason = "Include expects a file name".to_string();
            return Err(raise(
                &shared,
                ConfigError::Runtime {
                    file,
                    line: Some(line),
                    reason,
                },
            ));
        };
        let target = include::resolve(&file, &arg);
        if !include::is_glob(&arg) {
            return include_file(lua, &shared, &file, line, &target);
        }
        let matches = include::expand(&target).map_err(|dir| {
            let reason = format!(
                "Error loading included {}: cannot open directory {}: No such file or directory",
                target.display(),
                dir.display()
            );
            raise(
                &shared,
                ConfigError::Include {
                    file: file.clone(),
                    line,
                    reason,
                },
            )
        })?;
        for path in matches {
            include_file(lua, &shared, &file, line, &path)?;
        }
        Ok(())
    })
}

fn include_file(
    lua: &Lua,
    shared: &Shared,
    from: &Path,
    line: u32,
    target: &Path,
) -> mlua::Result<()> {
    let canonical = std::fs::canonicalize(target).unwrap_or_else(|_| target.to_path_buf());
    {
        let s = lock(shared);
        if let Some(start) = s.frames.iter().position(|f| f.canonical == canonical) {
            let mut chain: Vec<PathBuf> = s.frames[start..]
                .iter()
                .map(|f| s.chunk_path(f.chunk))
                .collect();
            chain.push(target.to_path_buf());
            drop(s);
            let err = ConfigError::IncludeLoop {
                file: from.to_path_buf(),
                line,
                chain,
            };
            return Err(raise(shared, err));
        }
        if s.frames.len() >= MAX_INCLUDE_DEPTH {
            drop(s);
            let reason = format!("Include nesting is deeper than {MAX_INCLUDE_DEPTH} files");
            return Err(raise(
                shared,
                ConfigError::Include {
                    file: from.to_path_buf(),
                    line,
                    reason,
                },
            ));
        }
    }
    let source = std::fs::read(target).map_err(|e| {
        let why = if e.kind() == std::io::ErrorKind::NotFound {
            "No such file or directory".to_string()
        } else {
            e.to_string()
        };
        let reason = format!("Error loading included {0}: {0}: {why}", target.display());
        raise(
            shared,
            ConfigError::Include {
                file: from.to_path_buf(),
                line,
                reason,
            },
        )
    })?;
    eval::load_chunk(lua, shared, &EnvBuilder, target, &source).map_err(|e| raise(shared, e))
}

pub(super) fn run_script_fn(lua: &Lua, shared: &Shared) -> mlua::Result<mlua::Function> {
    let shared = shared.clone();
    lua.create_function(move |lua, arg: mlua::Value| {
        let (file, line) = here(lua, &shared);
        let Some(arg) = name_arg(&arg) else {
            let reason = "RunScript expects a file name".to_string();
            return Err(raise(
                &shared,
                ConfigError::Runtime {
                    file,
                    line: Some(line),
                    reason,
                },
            ));
        };
        let target = include::resolve(&file, &arg);
        let source = std::fs::read(&target).map_err(|e| {
            let reason = format!("cannot open {}: {e}", target.display());
            raise(
                &shared,
                ConfigError::Runtime {
                    file: file.clone(),
                    line: Some(line),
                    reason,
                },
            )
        })?;
        let chunk = {
            let mut s = lock(&shared);
            s.chunks.push(target.clone());
            s.chunks.len() - 1
        };
        // Plain `dofile` semantics: the real globals, not the option environment.
        let result = lua
            .load(&source[..])
            .set_name(format!("={}{chunk}", eval::CHUNK_PREFIX))
            .set_mode(ChunkMode::Text)
            .exec();
        result.map_err(|e| {
            let err = eval::to_config_error(&e, &target, &mut lock(&shared));
            raise(&shared, err)
        })
    })
}
