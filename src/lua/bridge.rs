//! The native side of the runtime: the `lilt.native` table the bundled Lua calls to reach
//! the core (hooks, routing, sessions, config, stores, accounts, timers, crypto).
//!
//! Lua callbacks reach `Core` through a pointer set for the duration of each entry into
//! Lua ([`CoreGuard`]); entries nest (a hook that sends a stanza that fires a hook).

use std::cell::Cell;
use std::path::Path;

use mlua::{Lua, Table, Value};

mod hosts;
mod sessions;
mod storage;

use super::{convert, dispatch, loader, sources};
use crate::core::{Bus, Core};
use crate::storage::stanza::ParseError;

thread_local! {
    static CORE: Cell<*mut Core> = const { Cell::new(std::ptr::null_mut()) };
}

/// Makes `core` reachable from Lua callbacks until dropped (restoring the outer entry).
pub struct CoreGuard {
    prev: *mut Core,
}

impl CoreGuard {
    pub fn enter(core: &mut Core) -> CoreGuard {
        let prev = CORE.with(|c| c.replace(core as *mut Core));
        CoreGuard { prev }
    }

    /// Whether this is the outermost entry into Lua (no Lua frame below it).
    pub fn is_outermost(&self) -> bool {
        self.prev.is_null()
    }
}

impl Drop for CoreGuard {
    fn drop(&mut self) {
        CORE.with(|c| c.set(self.prev));
    }
}

/// Runs `f` with the core of the current entry into Lua. The core is taken for the
/// length of `f`: a `with_core` inside `f` (native code that already holds the core
/// reaching for it again) gets an error instead of a second `&mut Core`. Lua entered
/// from inside `f` enters with `f`'s own borrow ([`CoreGuard::enter`]), so hooks that
/// fire hooks still reach the core.
pub(crate) fn with_core<R>(f: impl FnOnce(&mut Core) -> R) -> mlua::Result<R> {
    let ptr = CORE.with(|c| c.replace(std::ptr::null_mut()));
    if ptr.is_null() {
        return Err(mlua::Error::runtime(
            "the core is not reachable here (no Lua entry, or it is already borrowed)",
        ));
    }
    // Puts the pointer back when `f` ends, by return or by unwinding.
    struct Restore(*mut Core);
    impl Drop for Restore {
        fn drop(&mut self) {
            CORE.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(ptr);
    // SAFETY: the pointer was made from a `&mut Core` by `CoreGuard::enter` in a frame
    // that is still on this thread's stack (the guard restores the previous pointer when
    // that frame ends), and that frame does not touch the core while Lua runs. The slot
    // is empty while `f` runs, so this is the only borrow made from it until `f` ends.
    let core = unsafe { &mut *ptr };
    Ok(f(core))
}

pub fn bus_of(name: &str) -> Bus {
    if name == "*" {
        Bus::Global
    } else {
        Bus::Host(name.to_owned())
    }
}

pub(crate) fn rt(e: impl std::fmt::Display) -> mlua::Error {
    mlua::Error::runtime(e.to_string())
}

/// Creates `lilt.native`, installs the module searcher for bundled libraries and runs
/// `lua/core/init.lua`.
pub fn install(lua: &Lua) -> mlua::Result<()> {
    let n = lua.create_table()?;
    basics(lua, &n)?;
    dispatch::install(lua, &n)?;
    super::filters::install(lua, &n)?;
    sessions::install(lua, &n)?;
    hosts::install(lua, &n)?;
    storage::install_stores(lua, &n)?;
    storage::install_accounts(lua, &n)?;
    crate::modules::muc::lua::install(lua, &n)?;
    crate::modules::pubsub::lua::install(lua, &n)?;
    crypto(lua, &n)?;
    super::fs::install(lua, &n)?;
    super::xmppstream::install(lua, &n)?;
    super::http_client::install(lua, &n)?;
    super::http::install(lua, &n)?;
    super::http::install_unregister(lua, &n)?;
    super::metrics::install(lua)?;
    let loaded: Table = lua.globals().get::<Table>("package")?.get("loaded")?;
    loaded.set("lilt.native", n)?;
    let init = sources::library("core.init").ok_or_else(|| rt("core.init is missing"))?;
    lua.load(init).set_name("@lilt/core/init.lua").exec()
}

fn basics(lua: &Lua, n: &Table) -> mlua::Result<()> {
    n.set(
        "log",
        lua.create_function(|_, (level, source, msg): (String, String, String)| {
            match level.as_str() {
                "error" => tracing::error!(target: "lua", "{source}: {msg}"),
                "warn" => tracing::warn!(target: "lua", "{source}: {msg}"),
                "info" => tracing::info!(target: "lua", "{source}: {msg}"),
                _ => tracing::debug!(target: "lua", "{source}: {msg}"),
            }
            Ok(())
        })?,
    )?;
    n.set(
        "now",
        lua.create_function(|_, ()| {
            let d = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(rt)?;
            Ok(d.as_secs_f64())
        })?,
    )?;
    n.set(
        "start_time",
        lua.create_function(|_, ()| {
            with_core(|c| {
                c.start_time
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0)
            })
        })?,
    )?;
    n.set(
        "set_internal",
        lua.create_function(|lua, t: Table| lua.set_named_registry_value("lilt.internal", t))?,
    )?;
    n.set(
        "set_stanza_mt",
        lua.create_function(|lua, t: Table| lua.set_named_registry_value("lilt.stanza_mt", t))?,
    )?;
    n.set(
        "prefer_lua",
        lua.create_function(|_, name: String| {
            with_core(|c| super::lua_takes(&c.shared.config, &name))
        })?,
    )?;
    n.set(
        "source",
        lua.create_function(|lua, name: String| match sources::library(&name) {
            Some(src) => Ok(Value::String(lua.create_string(src)?)),
            None => Ok(Value::Nil),
        })?,
    )?;
    n.set(
        "locate_plugin",
        lua.create_function(|_, name: String| {
            let found = with_core(|c| loader::locate(&c.shared.config, &name))?;
            Ok(match found {
                Some(f) => (
                    Some(f.source),
                    Some(f.path),
                    f.dir.map(|d| d.display().to_string()),
                ),
                None => (None, None, None),
            })
        })?,
    )?;
    n.set(
        "lua_path",
        lua.create_function(|_, ()| with_core(|c| loader::lua_search_path(&c.shared.config)))?,
    )?;
    n.set(
        "locate_lib",
        lua.create_function(|_, (dir, lib): (Option<String>, String)| {
            let found = with_core(|c| {
                loader::locate_lib(&c.shared.config, dir.as_deref().map(Path::new), &lib)
            })?;
            Ok(match found {
                Some(f) => (Some(f.source), Some(f.path)),
                None => (None, None),
            })
        })?,
    )?;
    n.set(
        "timer_add",
        lua.create_function(|_, delay: f64| {
            with_core(|c| {
                c.lua
                    .as_mut()
                    .map(|h| h.timers.add(std::time::Instant::now(), delay))
            })
        })?,
    )?;
    n.set(
        "timer_cancel",
        lua.create_function(|_, id: u64| {
            with_core(|c| {
                if let Some(h) = c.lua.as_mut() {
                    h.timers.cancel(id);
                }
            })
        })?,
    )?;
    n.set(
        "budget_exhausted",
        lua.create_function(|lua, ()| Ok(super::sandbox::exhausted(lua)))?,
    )?;
    n.set(
        "memory",
        lua.create_function(|lua, ()| Ok(super::sandbox::used_memory(lua)))?,
    )?;
    n.set(
        "xml_parse",
        lua.create_function(|lua, text: String| match parse_xml(&text) {
            Ok(el) => Ok((Value::Table(convert::element_to_lua(lua, &el)?), Value::Nil)),
            Err(e) => Ok((Value::Nil, Value::String(lua.create_string(e.to_string())?))),
        })?,
    )?;
    n.set(
        "serialize",
        lua.create_function(|_, t: Table| {
            let el = convert::lua_to_element(&t).map_err(rt)?;
            let mut out = String::new();
            el.write_xml(&mut out, &el.ns);
            Ok(out)
        })?,
    )?;
    Ok(())
}

/// Parses one element (with its children) the way a stream would deliver it.
fn parse_xml(text: &str) -> Result<crate::xml::Element, ParseError> {
    use crate::xml::{Limits, StreamEvent, StreamParser};
    let mut p = StreamParser::new(Limits {
        max_stanza_bytes: 1 << 24,
        max_depth: 500,
        max_child_elements: 100_000,
        ..Limits::default()
    });
    let head =
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";
    p.feed(head.as_bytes())?;
    p.feed(text.as_bytes())?;
    loop {
        match p.next_event()? {
            Some(StreamEvent::Stanza(el)) => return Ok(el),
            Some(StreamEvent::Open(_)) => continue,
            _ => return Err(ParseError::Incomplete),
        }
    }
}

fn crypto(lua: &Lua, n: &Table) -> mlua::Result<()> {
    super::crypto::install(lua, n)?;
    type Prep = fn(&str) -> Option<String>;
    let preps: [(&str, Prep); 4] = [
        ("nodeprep", |s| crate::xmpp::jid::nodeprep(s).ok()),
        ("nameprep", |s| crate::xmpp::jid::nameprep(s).ok()),
        ("resourceprep", |s| crate::xmpp::jid::resourceprep(s).ok()),
        ("saslprep", |s| {
            stringprep::saslprep(s).ok().map(|c| c.into_owned())
        }),
    ];
    for (name, f) in preps {
        n.set(name, lua.create_function(move |_, s: String| Ok(f(&s)))?)?;
    }
    Ok(())
}
