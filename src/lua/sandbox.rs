//! Keeps plugins from taking the core thread down: an instruction-count hook gives every
//! entry into Lua a budget (a runaway loop is stopped with a clear log line and a Lua
//! error in the plugin), and the VM's memory is capped and reported.

use std::cell::Cell;

use mlua::{HookTriggers, Lua, VmState};

use crate::config::catalogue::{OptionSpec, OptionType, Scope};
use crate::config::Config;

/// Instructions between two checks of the budget.
const CHECK_EVERY: u32 = 10_000;

/// Instructions granted after a stop so error handlers can log a traceback; only for the
/// first few stops of one entry, so a plugin catching the error in a loop still ends.
const GRACE: u64 = 200_000;
const GRACED_STOPS: u32 = 3;

/// The options this file reads (collected into the option catalogue).
pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec::extension(
        "lua_instruction_budget",
        OptionType::Integer,
        "50000000",
        Scope::Global,
        "lua",
        "instructions one call into a Lua plugin may run before it is stopped with an error",
    ),
    OptionSpec::extension(
        "lua_memory_limit",
        OptionType::Bytes,
        "268435456",
        Scope::Global,
        "lua",
        "bytes the Lua VM may allocate",
    ),
];

/// Default instructions one call into Lua may run (`lua_instruction_budget`).
pub const DEFAULT_BUDGET: u64 = 50_000_000;

/// Default cap of the VM's memory in bytes (`lua_memory_limit`).
pub const DEFAULT_MEMORY_LIMIT: usize = 256 * 1024 * 1024;

/// Per-VM accounting kept in the Lua app data.
struct Budget {
    limit: u64,
    used: Cell<u64>,
    stops: Cell<u32>,
}

/// Installs the hook and the memory limit read from the global options
/// `lua_instruction_budget` and `lua_memory_limit`.
pub fn install(lua: &Lua, config: &Config) {
    let g = config.global();
    let limit = g
        .integer("lua_instruction_budget")
        .filter(|n| *n > 0)
        .map(|n| n as u64)
        .unwrap_or(DEFAULT_BUDGET);
    let memory = g
        .integer("lua_memory_limit")
        .filter(|n| *n > 0)
        .map(|n| n as usize)
        .unwrap_or(DEFAULT_MEMORY_LIMIT);
    lua.set_app_data(Budget {
        limit,
        used: Cell::new(0),
        stops: Cell::new(0),
    });
    if let Err(e) = lua.set_memory_limit(memory) {
        tracing::warn!("Cannot cap Lua memory: {e}");
    }
    lua.set_hook(
        HookTriggers::new().every_nth_instruction(CHECK_EVERY),
        |lua, at| {
            let Some(b) = lua.app_data_ref::<Budget>() else {
                return Ok(VmState::Continue);
            };
            let used = b.used.get() + u64::from(CHECK_EVERY);
            b.used.set(used);
            if used > b.limit {
                let stops = b.stops.get() + 1;
                b.stops.set(stops);
                if stops == 1 {
                    let src = at.source();
                    tracing::error!(
                        "Lua code at {}:{} ran more than {} instructions without returning; stopping it",
                        src.short_src.as_deref().unwrap_or("?"),
                        at.curr_line(),
                        b.limit
                    );
                }
                if stops <= GRACED_STOPS {
                    b.used.set(b.limit.saturating_sub(GRACE));
                }
                return Err(mlua::Error::runtime(
                    "instruction budget exceeded (the server stopped a runaway plugin)",
                ));
            }
            Ok(VmState::Continue)
        },
    );
}

/// Gives the next call into Lua a fresh budget. Called at every outermost entry.
pub fn reset_budget(lua: &Lua) {
    if let Some(b) = lua.app_data_ref::<Budget>() {
        b.used.set(0);
        b.stops.set(0);
    }
}

/// Whether the current entry into Lua has run out of instructions (then plugin code may
/// not catch the error: `pcall` re-raises it).
pub fn exhausted(lua: &Lua) -> bool {
    lua.app_data_ref::<Budget>()
        .is_some_and(|b| b.stops.get() > 0)
}

/// Bytes the VM currently uses (plugins' memory, accounted as a whole).
pub fn used_memory(lua: &Lua) -> usize {
    lua.used_memory()
}
