//! Lua hooks on the native event bus (DESIGN principle 4): a Lua handler is a native
//! `Handler` that turns the `Event` into Prosody's event table (origin proxy, stanza
//! object), calls the function, and writes a changed stanza back. Events fired from Lua
//! hand Lua handlers the very table that was fired, so fields pass through unchanged.
//! Lua event wrappers are native wrappers the same way; `stream-features` handlers get
//! the unbound stream as `origin` and the element as `features`.

use std::cell::RefCell;
use std::rc::Rc;

use mlua::{Function, Lua, Table, Value, WeakLua};

use super::bridge::{bus_of, with_core, CoreGuard};
use super::{convert, sandbox, LuaHost};
use crate::core::events::Handler;
use crate::core::{Bus, Core, Event, HookResult, Origin};

/// An event fired from Lua: the address of its native `Event`, the Lua table, and the
/// first non-nil value a Lua handler returned.
struct Fired {
    event: usize,
    data: Table,
    result: Option<Value>,
}

mod wrappers;
pub use wrappers::lua_wrapper;

thread_local! {
    static FIRED: RefCell<Vec<Fired>> = const { RefCell::new(Vec::new()) };
}

pub fn install(lua: &Lua, n: &Table) -> mlua::Result<()> {
    // Every Lua handler call leaves a few short-lived tables (the event, the stanza
    // tree); the generational collector frees those in cheap minor collections.
    lua.gc_gen(0, 0);
    n.set(
        "hook",
        lua.create_function(
            |lua, (bus, name, priority, func): (String, String, f64, Function)| {
                let handler = lua_handler(lua.weak(), func);
                with_core(|c| {
                    let id = match bus_of(&bus) {
                        Bus::Global => Some(c.global_events.add_handler(&name, priority, handler)),
                        Bus::Host(h) => c
                            .hosts
                            .get_mut(&h)
                            .map(|h| h.events.add_handler(&name, priority, handler)),
                    };
                    note_feature_hooks(c, &bus, &name);
                    id
                })
            },
        )?,
    )?;
    n.set(
        "unhook",
        lua.create_function(|_, (bus, name, id): (String, String, u64)| {
            with_core(|c| {
                match bus_of(&bus) {
                    Bus::Global => c.global_events.remove_handler(&name, id),
                    Bus::Host(h) => {
                        if let Some(h) = c.hosts.get_mut(&h) {
                            h.events.remove_handler(&name, id);
                        }
                    }
                }
                note_feature_hooks(c, &bus, &name);
            })
        })?,
    )?;
    n.set(
        "wrap",
        lua.create_function(
            |lua, (bus, name, func): (String, Option<String>, Function)| {
                let wrapper = lua_wrapper(lua.weak(), func);
                with_core(|c| match bus_of(&bus) {
                    Bus::Global => Some(c.global_events.add_wrapper(name.as_deref(), wrapper)),
                    Bus::Host(h) => c
                        .hosts
                        .get_mut(&h)
                        .map(|h| h.events.add_wrapper(name.as_deref(), wrapper)),
                })
            },
        )?,
    )?;
    n.set(
        "unwrap",
        lua.create_function(|_, (bus, name, id): (String, Option<String>, u64)| {
            with_core(|c| match bus_of(&bus) {
                Bus::Global => c.global_events.remove_wrapper(name.as_deref(), id),
                Bus::Host(h) => {
                    if let Some(h) = c.hosts.get_mut(&h) {
                        h.events.remove_wrapper(name.as_deref(), id);
                    }
                }
            })
        })?,
    )?;
    n.set(
        "has_handlers",
        lua.create_function(|_, (bus, name): (String, String)| {
            with_core(|c| match bus_of(&bus) {
                Bus::Global => c.global_events.has_handlers(&name),
                Bus::Host(h) => c
                    .hosts
                    .get(&h)
                    .is_some_and(|h| h.events.has_handlers(&name)),
            })
        })?,
    )?;
    n.set("fire", lua.create_function(fire)?)?;
    Ok(())
}

/// Wraps a Lua function as a native handler.
pub fn lua_handler(lua: WeakLua, func: Function) -> Handler {
    Rc::new(move |core, ev| {
        let lua = lua.try_upgrade()?;
        if let Some(h) = core.lua.as_mut() {
            h.entries += 1;
        }
        let guard = CoreGuard::enter(core);
        if guard.is_outermost() {
            sandbox::reset_budget(&lua);
        }
        match call(&lua, &func, ev) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(target: "lua", "Error in event handler: {e}");
                None
            }
        }
    })
}

/// Streams on a host ask the core for `stream-features` only while the host's bus has
/// handlers for it.
fn note_feature_hooks(core: &Core, bus: &str, name: &str) {
    if name != "stream-features" {
        return;
    }
    if let Bus::Host(h) = bus_of(bus) {
        let hooked = core
            .hosts
            .get(&h)
            .is_some_and(|host| host.events.has_handlers(name));
        core.shared.feature_hooks.set(&h, hooked);
    }
}

thread_local! {
    /// How many stanzas `read_back` converted from Lua (tests pin that unchanged ones are not).
    static CONVERSIONS_BACK: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Stanzas converted back from Lua tables by [`read_back`] on this thread so far.
pub fn conversions_back() -> u64 {
    CONVERSIONS_BACK.with(|c| c.get())
}

/// Takes a stanza (or `stream-features` element) a Lua function may have changed back
/// into the native event.
///
/// The rule: the table is compared with the native element first ([`convert::matches`],
/// no allocation); only when they differ, however the handler changed it (a `util.stanza`
/// method, `stanza.attr.to = ...`, `stanza[1] = ...`, a new table under `event.stanza`),
/// is it converted and swapped in. An unchanged stanza keeps its native tree, attribute
/// order included.
pub(super) fn read_back(table: &Table, ev: &mut Event) -> mlua::Result<()> {
    let key = if ev.stream.is_some() {
        "features"
    } else {
        "stanza"
    };
    if let Value::Table(st) = table.raw_get::<Value>(key)? {
        if let Some(el) = &ev.stanza {
            if convert::matches(&st, el)? {
                return Ok(());
            }
        }
        CONVERSIONS_BACK.with(|c| c.set(c.get() + 1));
        if let Ok(el) = convert::lua_to_element(&st) {
            ev.stanza = Some(el);
        }
    }
    Ok(())
}

pub(super) fn lua_fired(ev: &Event) -> Option<Table> {
    let addr = ev as *const Event as usize;
    FIRED.with(|f| {
        f.borrow()
            .iter()
            .rev()
            .find(|x| x.event == addr)
            .map(|x| x.data.clone())
    })
}

thread_local! {
    /// The event table of the last native event a Lua handler got, by fire id and the
    /// event's address: the next Lua handler of the same fire gets the same table.
    static SHARED: RefCell<Option<(u64, usize, Table)>> = const { RefCell::new(None) };
    /// Stanzas converted into Lua tables for handlers on this thread so far.
    static CONVERSIONS_TO: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Stanzas converted into Lua for handlers' event tables on this thread so far.
pub fn conversions_to_lua() -> u64 {
    CONVERSIONS_TO.with(|c| c.get())
}

/// The event table for a native event: built on the first Lua handler of a fire and
/// shared by the later ones (fields a handler sets are seen by the next, as in Prosody).
/// Native handlers in between may have changed the event, so the stanza is checked
/// against the table's ([`convert::matches`]) and converted again only if it differs.
fn shared_event_table(lua: &Lua, ev: &Event) -> mlua::Result<Table> {
    let key = (
        crate::core::events::current_fire(),
        ev as *const Event as usize,
    );
    let cached = SHARED.with(|s| match &*s.borrow() {
        Some((fire, addr, t)) if (*fire, *addr) == key => Some(t.clone()),
        _ => None,
    });
    let Some(t) = cached else {
        let t = event_table(lua, ev)?;
        SHARED.with(|s| *s.borrow_mut() = Some((key.0, key.1, t.clone())));
        return Ok(t);
    };
    let field = if ev.stream.is_some() {
        "features"
    } else {
        "stanza"
    };
    match (&ev.stanza, t.raw_get::<Value>(field)?) {
        (Some(el), Value::Table(st)) if convert::matches(&st, el)? => {}
        (Some(el), _) => {
            CONVERSIONS_TO.with(|c| c.set(c.get() + 1));
            t.raw_set(field, convert::element_to_lua(lua, el)?)?;
        }
        (None, _) => t.raw_set(field, Value::Nil)?,
    }
    if ev.stream.is_none() {
        t.raw_set("to_self", ev.to_self.then_some(true))?;
        t.raw_set("error", ev.error.as_deref())?;
    }
    Ok(t)
}

fn call(lua: &Lua, func: &Function, ev: &mut Event) -> mlua::Result<HookResult> {
    let (table, from_lua) = match lua_fired(ev) {
        Some(t) => (t, true),
        None => (shared_event_table(lua, ev)?, false),
    };
    let call_handler: Function = LuaHost::internal(lua)?.get("call_handler")?;
    let ret: Value = call_handler.call((func.clone(), table.clone()))?;
    let result = match &ret {
        Value::Nil => None,
        Value::Boolean(b) => Some(*b),
        _ => Some(true),
    };
    if from_lua && !ret.is_nil() {
        let addr = ev as *const Event as usize;
        FIRED.with(|f| {
            if let Some(x) = f.borrow_mut().iter_mut().rev().find(|x| x.event == addr) {
                x.result.get_or_insert(ret.clone());
            }
        });
    }
    // The stanza only matters to whoever runs next, so it is read back only when the
    // event goes on.
    if result.is_none() {
        read_back(&table, ev)?;
    }
    Ok(result)
}

/// Prosody's event table for a native event.
pub(super) fn event_table(lua: &Lua, ev: &Event) -> mlua::Result<Table> {
    let internal = LuaHost::internal(lua)?;
    let proxy: Function = internal.get("origin_proxy")?;
    let t = lua.create_table()?;
    if let Some(info) = &ev.stream {
        if let Some(st) = &ev.stanza {
            t.raw_set("features", convert::element_to_lua(lua, st)?)?;
        }
        t.raw_set("origin", stream_origin(lua, &internal, info)?)?;
        return Ok(t);
    }
    if let Some(st) = &ev.stanza {
        CONVERSIONS_TO.with(|c| c.set(c.get() + 1));
        t.raw_set("stanza", convert::element_to_lua(lua, st)?)?;
    }
    let origin: Value = match &ev.origin {
        Origin::Session(sid) => proxy.call(("session", *sid))?,
        Origin::Host(h) => proxy.call(("host", h.as_str()))?,
    };
    t.raw_set("origin", origin)?;
    if ev.to_self {
        t.raw_set("to_self", true)?;
    }
    if let Some(sid) = ev.session {
        let s: Value = proxy.call(("session", sid))?;
        t.raw_set("session", s)?;
    }
    if let Some(e) = &ev.error {
        t.raw_set("error", e.as_str())?;
    }
    Ok(t)
}

/// The session table of a stream that is not bound yet (reference §4.8 fields).
pub(super) fn stream_origin(
    lua: &Lua,
    internal: &Table,
    info: &crate::core::StreamInfo,
) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.set("_lilt_stream", info.session)?;
    t.set(
        "type",
        if info.username.is_some() {
            "c2s_unbound"
        } else {
            "c2s_unauthed"
        },
    )?;
    t.set("host", info.host.as_str())?;
    t.set("username", info.username.as_deref())?;
    t.set("secure", info.secure)?;
    t.set("encrypted", info.encrypted)?;
    t.set("ip", info.ip.map(|i| i.to_string()))?;
    t.set("conntime", info.conntime)?;
    t.set("transport", info.transport)?;
    let f: Function = internal.get("stream_origin")?;
    f.call(t)
}

/// `native.fire(bus, name, data)`: fires on the native bus; returns the first non-nil result.
fn fire(lua: &Lua, (bus, name, data): (String, String, Option<Table>)) -> mlua::Result<Value> {
    let data = match data {
        Some(d) => d,
        None => lua.create_table()?,
    };
    fire_table(bus, name, data)
}

/// Fires `name` on `bus` with `data` as the table Lua handlers get (native handlers get
/// the `Event` made of its origin, stanza and session fields).
pub(super) fn fire_table(bus: String, name: String, data: Table) -> mlua::Result<Value> {
    let origin = match data.raw_get::<Value>("origin")? {
        Value::Table(o) => match o.get::<Option<u64>>("_lilt_sid")? {
            Some(sid) => Origin::Session(sid),
            None => Origin::Host(
                o.get::<Option<String>>("host")?
                    .unwrap_or_else(|| bus.clone()),
            ),
        },
        _ => Origin::Host(bus.clone()),
    };
    let stanza = match data.raw_get::<Value>("stanza")? {
        Value::Table(st) => convert::lua_to_element(&st).ok(),
        _ => None,
    };
    let session = match data.raw_get::<Value>("session")? {
        Value::Table(s) => s.get::<Option<u64>>("_lilt_sid")?,
        _ => None,
    };
    let mut ev = Event {
        origin,
        stanza,
        to_self: data
            .raw_get::<Option<bool>>("to_self")
            .ok()
            .flatten()
            .unwrap_or(false),
        session,
        error: data.raw_get::<Option<String>>("error").ok().flatten(),
        stream: None,
    };
    let addr = &ev as *const Event as usize;
    FIRED.with(|f| {
        f.borrow_mut().push(Fired {
            event: addr,
            data,
            result: None,
        })
    });
    let r = with_core(|c| c.fire(&bus_of(&bus), &name, &mut ev));
    let fired = FIRED.with(|f| f.borrow_mut().pop());
    let r = r?;
    Ok(match (fired.and_then(|f| f.result), r) {
        (Some(v), _) => v,
        (None, Some(b)) => Value::Boolean(b),
        (None, None) => Value::Nil,
    })
}
