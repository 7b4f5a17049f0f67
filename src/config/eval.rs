//! The Lua side of config loading: one sandboxed Lua 5.4 state per load, a fresh
//! environment table per file whose reads give `ENV_*` and real globals and whose writes
//! store options into the file's current section. Ends by handing back plain data.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use mlua::{ChunkMode, HookTriggers, Lua, LuaOptions, StdLib, VmState};

use super::{
    directives, Config, ConfigError, OptionEntry, Replacement, SectionData, SectionKind, Value,
};

/// Chunk names are `=lilt-cfg-<id>` so Lua's messages stay short (it truncates long
/// `@path` names) and we can map them back to the full path.
pub(super) const CHUNK_PREFIX: &str = "lilt-cfg-";
/// Instructions a config may run before it is taken for an endless loop. A large layered
/// config runs well under a million; this stops a runaway loop within a second or so.
const INSTRUCTION_BUDGET: u64 = 50_000_000;
const HOOK_EVERY: u32 = 10_000;
/// Memory a config's evaluation may use (a large config needs a few hundred KiB).
const MEMORY_LIMIT: usize = 16 * 1024 * 1024;

/// Where the config's code was when the instruction hook last ran: the position given
/// when the memory limit stops it (Lua's memory error carries none).
#[derive(Clone)]
struct LastPosition(String, i32);
/// How deep `Include` may nest before it is refused (loops are caught earlier).
pub(super) const MAX_INCLUDE_DEPTH: usize = 64;

/// A file being evaluated: which chunk it is and the section its assignments go to.
pub(super) struct Frame {
    pub chunk: usize,
    pub canonical: PathBuf,
    pub section: Option<usize>,
}

/// Everything evaluation accumulates; shared by the directive closures.
pub(super) struct State {
    pub chunks: Vec<PathBuf>,
    /// Source lines of each config chunk, to point multi-line assignments at their start.
    pub sources: Vec<Vec<String>>,
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

/// True when a source line starts with an assignment to `key`.
fn assigns(text: &str, key: &str) -> bool {
    let t = text.trim_start();
    t.strip_prefix(key).is_some_and(|rest| {
        rest.trim_start().starts_with('=') && !rest.trim_start().starts_with("==")
    })
}

pub(super) type Shared = Arc<Mutex<State>>;

pub(super) fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    // A panic while holding the lock would already have aborted the load.
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

impl State {
    fn new(main: &Path) -> State {
        State {
            chunks: Vec::new(),
            sources: Vec::new(),
            files: Vec::new(),
            global: SectionData {
                name: "*".to_string(),
                kind: SectionKind::Global,
                options: BTreeMap::new(),
                file: main.to_path_buf(),
                line: 0,
            },
            hosts: Vec::new(),
            frames: Vec::new(),
            warnings: Vec::new(),
            replacements: Vec::new(),
            pending: None,
        }
    }

    /// The line where the assignment to `key` that Lua reports at `line` starts: Lua
    /// reports a multi-line table constructor at its closing line.
    pub fn statement_line(&self, chunk: usize, key: &str, line: u32) -> u32 {
        let lines = self.lines(chunk);
        let end = (line as usize).min(lines.len());
        (end.saturating_sub(500)..end)
            .rev()
            .find(|&l| assigns(&lines[l], key))
            .map_or(line, |l| u32::try_from(l + 1).unwrap_or(line))
    }

    /// The line of `key = ...` inside a table form whose call Lua reports at `line`:
    /// scans the table's top level (by brace depth) from the call line onwards.
    pub fn table_entry_line(&self, chunk: usize, key: &str, line: u32) -> u32 {
        let lines = self.lines(chunk);
        let start = (line as usize).saturating_sub(1);
        let mut depth = 0i32;
        let mut opened = false;
        for (l, text) in lines.iter().enumerate().skip(start).take(500) {
            if l > start && depth == 1 && assigns(text, key) {
                return u32::try_from(l + 1).unwrap_or(line);
            }
            for c in text.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            if opened && depth <= 0 {
                break;
            }
        }
        line
    }

    fn lines(&self, chunk: usize) -> &[String] {
        self.sources.get(chunk).map_or(&[], Vec::as_slice)
    }

    pub fn chunk_path(&self, chunk: usize) -> PathBuf {
        self.chunks.get(chunk).cloned().unwrap_or_default()
    }

    pub fn section_mut(&mut self, section: Option<usize>) -> &mut SectionData {
        match section {
            Some(i) if i < self.hosts.len() => &mut self.hosts[i],
            _ => &mut self.global,
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
                    let msg = format!(
                        "{}:{}: Duplicate option '{}'",
                        new.file.display(),
                        line,
                        key
                    );
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
    let shared: Shared = Arc::new(Mutex::new(State::new(&main)));
    let env_builder = directives::install(&lua, &shared).map_err(|e| ConfigError::Runtime {
        file: main.clone(),
        line: None,
        reason: format!("cannot prepare the config environment: {e}"),
    })?;
    load_chunk(&lua, &shared, &env_builder, &main, source)?;
    drop(lua);
    // Take the data out; the Lua state (and every closure sharing it) is gone.
    let state = std::mem::replace(&mut *lock(&shared), State::new(&main));
    Ok(finish(main, state))
}

fn finish(main: PathBuf, mut state: State) -> Config {
    for host in &mut state.hosts {
        if let SectionKind::Component { module } = &mut host.kind {
            if let Some(m) = host
                .options
                .get("component_module")
                .and_then(|e| e.value.as_str())
            {
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
    super::require::install(&lua)?;
    let spent = Arc::new(AtomicU64::new(0));
    lua.set_hook(
        HookTriggers::new().every_nth_instruction(HOOK_EVERY),
        move |lua, debug| {
            let total = spent.fetch_add(u64::from(HOOK_EVERY), Ordering::Relaxed);
            if let Some(src) = debug.source().short_src {
                lua.set_app_data(LastPosition(src.into_owned(), debug.curr_line()));
            }
            if total > INSTRUCTION_BUDGET {
                let src = debug
                    .source()
                    .short_src
                    .map(|s| s.into_owned())
                    .unwrap_or_default();
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
        s.sources.resize(n, Vec::new());
        let lines = String::from_utf8_lossy(source)
            .lines()
            .map(str::to_owned)
            .collect();
        s.sources.push(lines);
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
    result.map_err(|e| {
        if is_memory_error(&e) {
            // Say where, in the same `file:line: reason` form as other runtime errors.
            let at = lua
                .app_data_ref::<LastPosition>()
                .map(|p| format!("{}:{}: ", p.0, p.1))
                .unwrap_or_default();
            let message = format!(
                "{at}config evaluation used more than {} MiB of memory",
                MEMORY_LIMIT >> 20
            );
            return to_config_error(&mlua::Error::RuntimeError(message), path, &mut s);
        }
        to_config_error(&e, path, &mut s)
    })
}

fn is_memory_error(err: &mlua::Error) -> bool {
    let mut inner = err;
    while let mlua::Error::CallbackError { cause, .. } = inner {
        inner = cause;
    }
    matches!(inner, mlua::Error::MemoryError(_))
}

/// Turns a Lua error into a positioned [`ConfigError`], preferring the typed error a
/// directive stored for it.
pub(super) fn to_config_error(
    err: &mlua::Error,
    default_file: &Path,
    s: &mut State,
) -> ConfigError {
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
fn split_position(
    message: &str,
    default_file: &Path,
    chunks: &[PathBuf],
) -> (PathBuf, Option<u32>, String) {
    let readable = |text: &str| {
        let mut out = text.to_string();
        for (id, path) in chunks.iter().enumerate().rev() {
            out = out.replace(
                &format!("{CHUNK_PREFIX}{id}:"),
                &format!("{}:", path.display()),
            );
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
    (
        default_file.to_path_buf(),
        None,
        first_line(&readable(message)),
    )
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
