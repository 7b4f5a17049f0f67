//! The Lua side of config loading: one sandboxed Lua 5.4 state per load, a fresh
//! environment table per file whose reads give `ENV_*` and real globals and whose writes
//! store options into the file's current section. Ends by handing back plain data.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use mlua::{ChunkMode, HookTriggers, Lua, LuaOptions, StdLib, VmState};

use super::{directives, Config, ConfigError, OptionEntry, Replacement, SectionData, SectionKind};
use super::{Table, Value};

/// Chunk names are `=lilt-cfg-<id>` so Lua's messages stay short (it truncates long
/// `@path` names) and we can map them back to the full path.
pub(super) const CHUNK_PREFIX: &str = "lilt-cfg-";
/// Instructions a config may run before it is taken for an endless loop.
const INSTRUCTION_BUDGET: u64 = 200_000_000;
const HOOK_EVERY: u32 = 10_000;
const MEMORY_LIMIT: usize = 256 * 1024 * 1024;
/// How deep `Include` may nest before it is refused (loops are caught earlier).
pub(super) const MAX_INCLUDE_DEPTH: usize = 64;
/// How deep a table value is copied; deeper (or cyclic) parts become empty tables.
const MAX_VALUE_DEPTH: usize = 32;

/// A file being evaluated: which chunk it is and the section its assignments go to.
pub(super) struct Frame {
    pub chunk: usize,
    pub canonical: PathBuf,
    pub section: Option<usize>,
}

/// Everything evaluation accumulates; shared by the directive closures.
pub(super) struct State {
    pub chunks: Vec<PathBuf>,
    /// Source text of each config chunk, to point multi-line assignments at their start.
    pub sources: Vec<String>,
    pub files: Vec<PathBuf>,
    pub global: SectionData,
    pub hosts: Vec<SectionData>,
    pub frames: Vec<Frame>,
    pub warnings: Vec<String>,
    pub replacements: Vec<Replacement>,
    /// The typed error behind the last Lua error a directive raised, keyed by its message,
    /// so it survives being unwound through Lua as a plain string.
    pub pending: Option<(String, ConfigError)>,
}

pub(super) type Shared = Arc<Mutex<State>>;

pub(super) fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    // A panic while holding the lock would already have aborted the load.
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

impl State {
    /// The line where the assignment to `key` that Lua reports at `line` starts: Lua
    /// reports a multi-line table constructor at its closing line.
    pub fn statement_line(&self, chunk: usize, key: &str, line: u32) -> u32 {
        let Some(src) = self.sources.get(chunk) else { return line };
        let lines: Vec<&str> = src.lines().collect();
        let starts = |text: &str| {
            let t = text.trim_start();
            t.strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with('='))
        };
        let end = (line as usize).min(lines.len());
        for l in (end.saturating_sub(500)..end).rev() {
            if starts(lines[l]) {
                return u32::try_from(l + 1).unwrap_or(line);
            }
        }
        line
    }

    pub fn chunk_path(&self, chunk: usize) -> PathBuf {
        self.chunks.get(chunk).cloned().unwrap_or_default()
    }

    pub fn section_mut(&mut self, section: Option<usize>) -> &mut SectionData {
        match section.and_then(|i| self.hosts.get(i)) {
            Some(_) => &mut self.hosts[section.unwrap_or_default()],
            None => &mut self.global,
        }
    }

    /// Stores (or with `None` removes) an option. `check_duplicate` is true for plain
    /// assignments, where Prosody warns about a second assignment in the same file.
    pub fn set_option(
        &mut self,
        section: Option<usize>,
        key: &str,
        value: Option<Value>,
        file: PathBuf,
        line: u32,
        check_duplicate: bool,
    ) {
        let data = self.section_mut(section);
        let section_name = data.name.clone();
        let Some(value) = value else {
            data.options.remove(key);
            return;
        };
        let new = OptionEntry { value, file, line };
        let old = data.options.insert(key.to_string(), new.clone());
        if let Some(old) = old {
            if old.file == new.file {
                if check_duplicate {
                    let msg = format!("{}:{}: Duplicate option '{}'", new.file.display(), line, key);
                    self.warnings.push(msg);
                }
            } else {
                self.replacements.push(Replacement {
                    section: section_name,
                    key: key.to_string(),
                    old,
                    new,
                });
            }
        }
    }
}

/// Loads the tree rooted at `path`.
pub(super) fn evaluate(path: &Path) -> Result<Config, ConfigError> {
    let abs = absolute(path);
    let source = match std::fs::read(&abs) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ConfigError::NotFound { path: abs })
        }
        Err(e) => {
            return Err(ConfigError::Io {
                file: abs,
                line: None,
                reason: e.to_string(),
            })
        }
    };
    evaluate_source(&abs, &source)
}

/// Loads `source` as if it were the contents of the file `path`.
pub(super) fn evaluate_source(path: &Path, source: &[u8]) -> Result<Config, ConfigError> {
    let main = absolute(path);
    let lua = new_lua().map_err(|e| ConfigError::Runtime {
        file: main.clone(),
        line: None,
        reason: format!("cannot start Lua: {e}"),
    })?;
    let shared: Shared = Arc::new(Mutex::new(State {
        chunks: Vec::new(),
        sources: Vec::new(),
        files: Vec::new(),
        global: SectionData {
            name: "*".to_string(),
            kind: SectionKind::Global,
            options: BTreeMap::new(),
            file: main.clone(),
            line: 0,
        },
        hosts: Vec::new(),
        frames: Vec::new(),
        warnings: Vec::new(),
        replacements: Vec::new(),
        pending: None,
    }));
    let env_builder = directives::install(&lua, &shared).map_err(|e| ConfigError::Runtime {
        file: main.clone(),
        line: None,
        reason: format!("cannot prepare the config environment: {e}"),
    })?;
    load_chunk(&lua, &shared, &env_builder, &main, source)?;
    drop(env_builder);
    drop(lua);
    let state = match Arc::try_unwrap(shared) {
        Ok(m) => m.into_inner().unwrap_or_else(|e| e.into_inner()),
        Err(arc) => {
            // Closures still alive (should not happen once Lua is dropped): copy out.
            let s = lock(&arc);
            return Ok(finish_from_ref(&main, &s));
        }
    };
    Ok(finish(main, state))
}

fn finish_from_ref(main: &Path, s: &State) -> Config {
    let state = State {
        chunks: s.chunks.clone(),
        sources: Vec::new(),
        files: s.files.clone(),
        global: s.global.clone(),
        hosts: s.hosts.clone(),
        frames: Vec::new(),
        warnings: s.warnings.clone(),
        replacements: s.replacements.clone(),
        pending: None,
    };
    finish(main.to_path_buf(), state)
}

fn finish(main: PathBuf, mut state: State) -> Config {
    for host in &mut state.hosts {
        if let SectionKind::Component { module } = &mut host.kind {
            if let Some(m) = host.options.get("component_module").and_then(|e| e.value.as_str()) {
                *module = m.to_string();
            }
        }
    }
    let config_dir = main.parent().map(Path::to_path_buf).unwrap_or_default();
    Config {
        main_file: main,
        config_dir,
        files: state.files,
        global: state.global,
        hosts: state.hosts,
        warnings: state.warnings,
        replacements: state.replacements,
    }
}

pub(super) fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn new_lua() -> mlua::Result<Lua> {
    // The safe standard libraries: no `debug`, no C module loading. The config sees a
    // fresh state, never Lilt's plugin VM.
    let lua = Lua::new_with(StdLib::ALL_SAFE, LuaOptions::default())?;
    lua.set_memory_limit(MEMORY_LIMIT)?;
    if let Ok(os) = lua.globals().get::<mlua::Table>("os") {
        // A config must not be able to end the server it configures.
        os.set("exit", mlua::Value::Nil)?;
    }
    let spent = Arc::new(AtomicU64::new(0));
    lua.set_hook(
        HookTriggers::new().every_nth_instruction(HOOK_EVERY),
        move |_lua, debug| {
            let total = spent.fetch_add(u64::from(HOOK_EVERY), Ordering::Relaxed);
            if total > INSTRUCTION_BUDGET {
                let src = debug.source().short_src.map(|s| s.into_owned()).unwrap_or_default();
                return Err(mlua::Error::RuntimeError(format!(
                    "{}:{}: config evaluation ran too long (endless loop?)",
                    src,
                    debug.curr_line()
                )));
            }
            Ok(VmState::Continue)
        },
    );
    Ok(lua)
}

/// Evaluates one config file in a fresh environment starting in the global section.
pub(super) fn load_chunk(
    lua: &Lua,
    shared: &Shared,
    env_builder: &directives::EnvBuilder,
    path: &Path,
    source: &[u8],
) -> Result<(), ConfigError> {
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let chunk = {
        let mut s = lock(shared);
        s.files.push(path.to_path_buf());
        s.chunks.push(path.to_path_buf());
        let n = s.chunks.len() - 1;
        s.sources.resize(n, String::new());
        s.sources.push(String::from_utf8_lossy(source).into_owned());
        let chunk = s.chunks.len() - 1;
        s.frames.push(Frame {
            chunk,
            canonical,
            section: None,
        });
        chunk
    };
    let result = env_builder.env(lua).and_then(|env| {
        lua.load(source)
            .set_name(format!("={CHUNK_PREFIX}{chunk}"))
            .set_mode(ChunkMode::Text)
            .set_environment(env)
            .exec()
    });
    let mut s = lock(shared);
    s.frames.pop();
    result.map_err(|e| to_config_error(&e, path, &mut s))
}

/// Turns a Lua error into a positioned [`ConfigError`], preferring the typed error a
/// directive stored for it.
pub(super) fn to_config_error(err: &mlua::Error, default_file: &Path, s: &mut State) -> ConfigError {
    let mut inner = err;
    while let mlua::Error::CallbackError { cause, .. } = inner {
        inner = cause;
    }
    let (message, syntax) = match inner {
        mlua::Error::SyntaxError { message, .. } => (message.clone(), true),
        mlua::Error::RuntimeError(m) => (m.clone(), false),
        mlua::Error::MemoryError(m) => (format!("out of memory: {m}"), false),
        other => (other.to_string(), false),
    };
    if let Some((msg, typed)) = &s.pending {
        if *msg == message {
            return typed.clone();
        }
    }
    let (file, line, reason) = split_position(&message, default_file, &s.chunks);
    if syntax {
        ConfigError::Syntax { file, line, reason }
    } else {
        ConfigError::Runtime { file, line, reason }
    }
}

/// Splits `lilt-cfg-N:L: reason` into the file path, line and reason (with any further
/// chunk names in the reason replaced by paths).
fn split_position(message: &str, default_file: &Path, chunks: &[PathBuf]) -> (PathBuf, Option<u32>, String) {
    let readable = |text: &str| {
        let mut out = text.to_string();
        for (id, path) in chunks.iter().enumerate().rev() {
            out = out.replace(&format!("{CHUNK_PREFIX}{id}:"), &format!("{}:", path.display()));
        }
        out
    };
    if let Some(rest) = message.strip_prefix(CHUNK_PREFIX) {
        let mut parts = rest.splitn(3, ':');
        let id = parts.next().and_then(|p| p.parse::<usize>().ok());
        let line = parts.next().and_then(|p| p.parse::<u32>().ok());
        if let (Some(id), Some(line), Some(reason)) = (id, line, parts.next()) {
            if let Some(path) = chunks.get(id) {
                let reason = readable(reason.trim_start());
                return (path.clone(), Some(line), first_line(&reason));
            }
        }
    }
    (default_file.to_path_buf(), None, first_line(&readable(message)))
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

/// The chunk id and line of the nearest config-file function on the Lua stack.
pub(super) fn caller_position(lua: &Lua) -> Option<(usize, u32)> {
    for level in 1..32 {
        let debug = lua.inspect_stack(level)?;
        let src = debug.source().short_src.map(|s| s.into_owned());
        if let Some(id) = src.as_deref().and_then(|s| s.strip_prefix(CHUNK_PREFIX)) {
            let id = id.parse().ok()?;
            return Some((id, u32::try_from(debug.curr_line()).unwrap_or(0)));
        }
    }
    None
}

/// Copies a Lua value into plain data. `nil` becomes `None`.
pub(super) fn to_value(v: &mlua::Value) -> Option<Value> {
    convert(v, 0)
}

fn convert(v: &mlua::Value, depth: usize) -> Option<Value> {
    Some(match v {
        mlua::Value::Nil => return None,
        mlua::Value::Boolean(b) => Value::Bool(*b),
        mlua::Value::Integer(i) => Value::Integer(*i),
        mlua::Value::Number(n) => Value::Number(*n),
        mlua::Value::String(s) => Value::String(s.to_string_lossy()),
        mlua::Value::Table(t) => Value::Table(convert_table(t, depth)),
        _ => Value::Function,
    })
}

fn convert_table(t: &mlua::Table, depth: usize) -> Table {
    if depth >= MAX_VALUE_DEPTH {
        return Table::new();
    }
    let mut ints: BTreeMap<i64, Value> = BTreeMap::new();
    let mut map = BTreeMap::new();
    for (k, v) in t.clone().pairs::<mlua::Value, mlua::Value>().flatten() {
        let Some(v) = convert(&v, depth + 1) else { continue };
        match &k {
            mlua::Value::Integer(i) => {
                ints.insert(*i, v);
            }
            mlua::Value::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => {
                ints.insert(*n as i64, v);
            }
            other => {
                let key = match other {
                    mlua::Value::String(s) => s.to_string_lossy(),
                    mlua::Value::Boolean(b) => b.to_string(),
                    mlua::Value::Number(n) => super::format_number(*n),
                    _ => continue,
                };
                map.insert(key, v);
            }
        }
    }
    let mut seq = Vec::new();
    let mut next = 1;
    while let Some(v) = ints.remove(&next) {
        seq.push(v);
        next += 1;
    }
    for (k, v) in ints {
        map.insert(k.to_string(), v);
    }
    Table::from_parts(seq, map)
}
