//! The Lua module host: one Lua 5.4 VM, owned by the core thread, running Prosody plugins
//! unchanged through Prosody's module API (reference §2, §3). Lua hooks are ordinary
//! handlers on the native event bus, so a stanza event nobody hooked from Lua never enters
//! the VM. This module does not parse XML or route stanzas itself; it converts at the
//! boundary and calls the core.

pub mod auth;
pub mod bridge;
pub mod convert;
pub mod crypto;
pub mod disco;
pub mod dispatch;
pub mod events;
pub mod filters;
pub mod fs;
pub mod http;
pub mod http_client;
pub mod loader;
pub mod metrics;
pub mod provenance;
pub mod sandbox;
pub mod sources;
pub mod timers;
pub mod xmppstream;

use std::time::Instant;

use mlua::{Function, Lua, Table};

use crate::core::Core;

/// Why the Lua host could not do what it was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LuaHostError {
    /// Our own bundled Lua failed to start (a Lilt bug).
    #[error("the Lua runtime failed to start: {0}")]
    Boot(mlua::Error),
    /// A plugin failed to load (the plugin's fault); the message carries file:line.
    #[error("{0}")]
    Plugin(String),
}

/// The VM and the state the core keeps for it.
pub struct LuaHost {
    pub lua: Lua,
    pub timers: timers::Timers,
    pub http: http::HttpBridge,
    /// Calls into Lua from events, filters, timers and HTTP requests (how often the VM
    /// was entered).
    pub entries: u64,
    /// Sessions with Lua `stanzas/in` / `stanzas/out` filters.
    pub filters: filters::SessionFilters,
}

impl LuaHost {
    /// Starts the VM: standard library, sandbox hooks and the bundled runtime.
    pub fn new(core: &mut Core) -> Result<LuaHost, LuaHostError> {
        // SAFETY: the debug library can break the VM's invariants (registry, upvalues);
        // `lua/core/init.lua` replaces it with a read-only subset before any plugin runs.
        let lua = unsafe {
            Lua::unsafe_new_with(
                mlua::StdLib::ALL_SAFE | mlua::StdLib::DEBUG,
                mlua::LuaOptions::default(),
            )
        };
        sandbox::install(&lua, &core.shared.config);
        let host = LuaHost {
            lua: lua.clone(),
            timers: timers::Timers::default(),
            http: http::HttpBridge::default(),
            entries: 0,
            filters: filters::SessionFilters::default(),
        };
        let _guard = bridge::CoreGuard::enter(core);
        bridge::install(&lua).map_err(LuaHostError::Boot)?;
        Ok(host)
    }

    /// The runtime's internal table (`lilt.internal`), set up by `lua/core/init.lua`.
    pub fn internal(lua: &Lua) -> mlua::Result<Table> {
        lua.named_registry_value("lilt.internal")
    }
}

/// Starts the VM on first use.
fn ensure_started(core: &mut Core) -> Option<Lua> {
    if core.lua.is_none() {
        match LuaHost::new(core) {
            Ok(h) => core.lua = Some(h),
            Err(e) => {
                tracing::error!("{e}");
                return None;
            }
        }
    }
    core.lua.as_ref().map(|h| h.lua.clone())
}

/// Whether module `name` is a Lua plugin here (see [`provenance::source`]).
pub fn lua_takes(config: &crate::config::Config, name: &str) -> bool {
    matches!(provenance::source(config, name), provenance::Source::Lua(_))
}

/// Loads module `name` on `host` from what provides it — a file on `plugin_paths` wins
/// over a native module (Prosody's search order) except for the names Lilt reserves, a
/// bundled Lua plugin is used when Lilt has no native module — and records the outcome
/// for `module:list()`. What cannot be loaded is logged as an error with the reason
/// (where Prosody logs "Unable to load module"); a Lua copy that fails to load leaves the
/// native module of the same name in place.
pub fn provide_module(core: &mut Core, host: &str, name: &str) -> provenance::Provider {
    use provenance::{Provider, Source};
    let provider = match provenance::source(&core.shared.config, name) {
        Source::Native => {
            load_native(core, host, name);
            Provider::Native
        }
        Source::Lua(found) => match load_lua(core, host, name) {
            Ok(()) => Provider::Lua(found.path),
            Err(e) if crate::modules::is_native(name) => {
                tracing::error!(
                    "Error initializing module '{name}' on '{host}' from {}: {e}; Lilt's native \
                     mod_{name} is loaded instead",
                    found.path
                );
                load_native(core, host, name);
                Provider::Native
            }
            Err(e) => {
                // Prosody's words for a plugin that fails while loading.
                tracing::error!(
                    "Error initializing module '{name}' on '{host}': {e} (from {})",
                    found.path
                );
                // The first line says why; the log keeps the traceback.
                let why = e.lines().next().unwrap_or_default().trim_end_matches(':');
                Provider::Missing(format!("{} failed to load: {why}", found.path))
            }
        },
        Source::Missing(reason) => {
            if named_by_config(&core.shared.config, host, name) {
                tracing::error!("Unable to load module '{name}' on '{host}': {reason}");
            } else {
                tracing::debug!("Module '{name}' (loaded by default in Prosody) is not available on '{host}': {reason}");
            }
            Provider::Missing(reason)
        }
    };
    if let Some(h) = core.hosts.get_mut(host) {
        if matches!(provider, Provider::Missing(_)) {
            h.modules.remove(name);
        } else {
            h.modules.insert(name.to_owned());
        }
    }
    provenance::table(core).record(host, name, provider.clone());
    provider
}

/// Loads `name` on `host` when a Lua plugin provides it (see [`provide_module`]);
/// returns whether Lua took the module.
pub fn load_module(core: &mut Core, host: &str, name: &str) -> bool {
    if !lua_takes(&core.shared.config, name) {
        return false;
    }
    provide_module(core, host, name);
    true
}

fn load_native(core: &mut Core, host: &str, name: &str) {
    // Transports (c2s, websocket, http, ...) have no loader: `net` sets them up.
    crate::modules::load_native(core, host, name);
}

/// True when the config names `name` for `host` itself (not by Prosody's autoload):
/// `modules_enabled`, the Component's module, or the `authentication` provider.
fn named_by_config(config: &crate::config::Config, host: &str, name: &str) -> bool {
    let listed = |v: Option<&crate::config::Value>| match v {
        Some(crate::config::Value::Table(t)) => t
            .seq()
            .iter()
            .any(|m| m.to_lua_string().as_deref() == Some(name)),
        Some(other) => other.to_lua_string().as_deref() == Some(name),
        None => false,
    };
    listed(config.global().get_raw("modules_enabled"))
        || listed(config.host(host).get_raw("modules_enabled"))
        || config.component_module(host) == Some(name)
        || name.starts_with("auth_")
}

/// Runs the Lua module manager's `load_module` for `name` on `host`.
fn load_lua(core: &mut Core, host: &str, name: &str) -> Result<(), String> {
    let Some(lua) = ensure_started(core) else {
        return Err("the Lua runtime is not available".into());
    };
    let guard = bridge::CoreGuard::enter(core);
    sandbox::reset_budget(&lua);
    let result = LuaHost::internal(&lua)
        .and_then(|i| i.get::<Function>("load_module"))
        .and_then(|f| f.call::<(bool, Option<String>)>((host.to_owned(), name.to_owned())));
    drop(guard);
    match result {
        Ok((true, _)) => Ok(()),
        Ok((false, err)) => Err(err.unwrap_or_default()),
        Err(e) => Err(e.to_string()),
    }
}

/// Tells the Lua side a host has all its startup modules (so `hosts[h].modules` lists
/// the native ones too). Does nothing when no Lua plugin runs.
pub fn host_ready(core: &mut Core, host: &str) {
    let Some(lua) = core.lua.as_ref().map(|h| h.lua.clone()) else {
        return;
    };
    let _guard = bridge::CoreGuard::enter(core);
    let r = LuaHost::internal(&lua)
        .and_then(|i| i.get::<Function>("host_ready"))
        .and_then(|f| f.call::<()>(host.to_owned()));
    if let Err(e) = r {
        tracing::error!("Lua host setup failed for {host}: {e}");
    }
}

/// Unloads a Lua module from a host at run time (its `unload` hook runs, its hooks go).
pub fn unload_module(core: &mut Core, host: &str, name: &str) -> Result<(), LuaHostError> {
    call_manager(core, "unload_module", host, name)
}

/// Loads a Lua module at run time (the admin console's `module:load`), saying why not.
pub fn load_module_now(core: &mut Core, host: &str, name: &str) -> Result<(), LuaHostError> {
    if ensure_started(core).is_none() {
        return Err(LuaHostError::Plugin(
            "the Lua runtime is not available".into(),
        ));
    }
    call_manager(core, "load_module", host, name)
}

/// Reloads a Lua module at run time (`save`, unload, load, `restore`).
pub fn reload_module(core: &mut Core, host: &str, name: &str) -> Result<(), LuaHostError> {
    call_manager(core, "reload_module", host, name)
}

fn call_manager(core: &mut Core, func: &str, host: &str, name: &str) -> Result<(), LuaHostError> {
    let Some(lua) = core.lua.as_ref().map(|h| h.lua.clone()) else {
        return Err(LuaHostError::Plugin(format!(
            "module '{name}' is not loaded"
        )));
    };
    let _guard = bridge::CoreGuard::enter(core);
    sandbox::reset_budget(&lua);
    let r = LuaHost::internal(&lua)
        .and_then(|i| i.get::<Function>(func))
        .and_then(|f| f.call::<(bool, Option<String>)>((host.to_owned(), name.to_owned())));
    drop(_guard);
    flush_filtered(core);
    let (ok, err) = r.map_err(|e| LuaHostError::Plugin(e.to_string()))?;
    if ok {
        Ok(())
    } else {
        Err(LuaHostError::Plugin(err.unwrap_or_default()))
    }
}

/// Runs a chunk of Lua in the runtime (tests and the admin console use this).
pub fn eval(core: &mut Core, code: &str) -> Result<String, LuaHostError> {
    let Some(lua) = ensure_started(core) else {
        return Err(LuaHostError::Plugin("Lua is not available".into()));
    };
    let _guard = bridge::CoreGuard::enter(core);
    sandbox::reset_budget(&lua);
    let v: mlua::Result<mlua::Value> = lua.load(code).set_name("=eval").eval();
    drop(_guard);
    flush_filtered(core);
    let v = v.map_err(|e| LuaHostError::Plugin(e.to_string()))?;
    Ok(v.to_string().unwrap_or_default())
}

/// Sets a field on a session's Lua object (native modules keep fields plugins read there
/// current, as Prosody's own modules do: mod_csi's `state`). Does nothing without Lua.
pub fn set_session_field(core: &mut Core, session: crate::core::SessionId, key: &str, value: &str) {
    let Some(lua) = core.lua.as_ref().map(|h| h.lua.clone()) else {
        return;
    };
    let _guard = bridge::CoreGuard::enter(core);
    let r = LuaHost::internal(&lua)
        .and_then(|i| i.get::<Function>("set_session_field"))
        .and_then(|f| f.call::<()>((session, key.to_owned(), value.to_owned())));
    if let Err(e) = r {
        tracing::error!("Lua session update failed: {e}");
    }
}

/// Sends stanzas that wait for Lua `stanzas/out` filters (see [`filters::flush`]).
pub fn flush_filtered(core: &mut Core) {
    if core.lua.as_ref().is_some_and(|h| h.filters.has_pending()) {
        filters::flush(core);
    }
}

/// Called when the core loop starts: fires `server-started` on the global bus for Lua
/// plugins (e.g. mod_uptime) and hands over the channel of Lua HTTP requests.
pub fn core_started(
    core: &mut Core,
) -> Option<tokio::sync::mpsc::UnboundedReceiver<http::HttpCall>> {
    let lua = core.lua.as_ref()?;
    tracing::info!(
        "Lua module host running; plugins use {} KiB",
        sandbox::used_memory(&lua.lua) / 1024
    );
    core.fire(
        &crate::core::Bus::Global,
        "server-started",
        &mut crate::core::Event::global(),
    );
    http::take_receiver(core)
}

/// When the next Lua timer is due, if any.
pub fn next_deadline(core: &Core) -> Option<Instant> {
    core.lua.as_ref().and_then(|h| h.timers.next_deadline())
}

/// Runs every Lua timer due at `now`.
pub fn run_due(core: &mut Core, now: Instant) {
    let Some(lua) = core.lua.as_ref().map(|h| h.lua.clone()) else {
        return;
    };
    while let Some(id) = core.lua.as_mut().and_then(|h| h.timers.pop_due(now)) {
        let _guard = bridge::CoreGuard::enter(core);
        sandbox::reset_budget(&lua);
        let r = LuaHost::internal(&lua)
            .and_then(|i| i.get::<Function>("fire_timer"))
            .and_then(|f| f.call::<()>(id));
        if let Err(e) = r {
            tracing::error!("Error in Lua timer: {e}");
        }
        drop(_guard);
        flush_filtered(core);
    }
}
