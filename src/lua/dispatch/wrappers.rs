//! Lua event wrappers on the native buses (`util.events` semantics): the wrapper gets a
//! `handlers(name, data)` function that runs the rest of the chain on the native event;
//! what the wrapper returns is the event's result.

use mlua::{Function, Lua, Value, WeakLua};
use std::rc::Rc;

use super::{event_table, lua_fired, read_back, FIRED};
use crate::core::events::{Next, Wrapper};
use crate::core::{Event, HookResult};
use crate::lua::bridge::{with_core, CoreGuard};
use crate::lua::{sandbox, LuaHost};

/// Wraps a Lua `util.events` wrapper (`wrapper(handlers, name, data)`) as a native one:
/// `handlers` runs the rest of the chain on the native event.
pub fn lua_wrapper(lua: WeakLua, func: Function) -> Wrapper {
    Rc::new(move |core, ev, name, next| {
        let Some(lua) = lua.try_upgrade() else {
            return next(core, ev);
        };
        if let Some(h) = core.lua.as_mut() {
            h.entries += 1;
        }
        let guard = CoreGuard::enter(core);
        if guard.is_outermost() {
            sandbox::reset_budget(&lua);
        }
        match call_wrapper(&lua, &func, ev, name, next) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(target: "lua", "Error in event wrapper: {e}");
                None
            }
        }
    })
}

fn set_fired_result(addr: usize, value: Option<Value>) {
    FIRED.with(|f| {
        if let Some(x) = f.borrow_mut().iter_mut().rev().find(|x| x.event == addr) {
            x.result = value;
        }
    });
}

fn fired_result(addr: usize) -> Option<Value> {
    FIRED.with(|f| {
        f.borrow()
            .iter()
            .rev()
            .find(|x| x.event == addr)
            .and_then(|x| x.result.clone())
    })
}

fn call_wrapper(
    lua: &Lua,
    func: &Function,
    ev: &mut Event,
    name: &str,
    next: Next<'_>,
) -> mlua::Result<HookResult> {
    let (table, from_lua) = match lua_fired(ev) {
        Some(t) => (t, true),
        None => (event_table(lua, ev)?, false),
    };
    let addr = ev as *const Event as usize;
    let call: Function = LuaHost::internal(lua)?.get("call_wrapper")?;
    let ret: Value = lua.scope(|scope| {
        let handlers = scope.create_function_mut(|_, (_name, data): (Value, Value)| {
            let data = match data {
                Value::Table(t) => t,
                _ => table.clone(),
            };
            read_back(&data, ev)?;
            if from_lua {
                set_fired_result(addr, None);
            }
            let r = with_core(|c| next(c, ev))?;
            if from_lua {
                if let Some(v) = fired_result(addr) {
                    return Ok(v);
                }
            }
            Ok(match r {
                None => Value::Nil,
                Some(b) => Value::Boolean(b),
            })
        })?;
        call.call((func.clone(), handlers, name, table.clone()))
    })?;
    if from_lua {
        set_fired_result(addr, (!ret.is_nil()).then(|| ret.clone()));
    }
    Ok(match ret {
        Value::Nil => None,
        Value::Boolean(b) => Some(b),
        _ => Some(true),
    })
}
