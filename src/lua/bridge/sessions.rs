//! Sessions and routing for Lua: session facts, sending to a session, closing it, JID
//! lookups, and `core_post_stanza`.

use std::sync::Arc;

use mlua::{Lua, Table, Value};

use super::{rt, with_core};
use crate::core::Origin;
use crate::lua::convert;

pub(super) fn install(lua: &Lua, n: &Table) -> mlua::Result<()> {
    n.set(
        "session_info",
        lua.create_function(|lua, sid: u64| {
            with_core(|c| -> mlua::Result<Value> {
                let Some(s) = c.sessions.get(&sid) else {
                    return Ok(Value::Nil);
                };
                let t = lua.create_table()?;
                t.set("username", s.username())?;
                t.set("host", s.host())?;
                t.set("resource", s.resource())?;
                t.set("full_jid", s.full_jid())?;
                t.set("ip", s.ip.map(|i| i.to_string()))?;
                t.set("secure", s.secure)?;
                t.set("transport", s.transport)?;
                Ok(Value::Table(t))
            })?
        })?,
    )?;
    n.set(
        "session_exists",
        lua.create_function(|_, sid: u64| with_core(|c| c.sessions.contains_key(&sid)))?,
    )?;
    n.set(
        "session_presence",
        lua.create_function(|lua, sid: u64| {
            with_core(|c| -> mlua::Result<(Value, Option<i8>)> {
                let Some(s) = c.sessions.get(&sid) else {
                    return Ok((Value::Nil, None));
                };
                let p = match &s.presence {
                    Some(p) => Value::Table(convert::element_to_lua(lua, p)?),
                    None => Value::Nil,
                };
                Ok((p, Some(s.priority)))
            })?
        })?,
    )?;
    n.set(
        "session_send",
        lua.create_function(|_, (sid, st): (u64, Table)| {
            let el = convert::lua_to_element(&st).map_err(rt)?;
            with_core(|c| c.send_to(sid, Arc::new(el)))
        })?,
    )?;
    // What a paused connection held: its `stanzas/out` filters already ran.
    n.set(
        "session_send_unfiltered",
        lua.create_function(|_, (sid, st): (u64, Table)| {
            let el = convert::lua_to_element(&st).map_err(rt)?;
            with_core(|c| c.sessions.get(&sid).is_some_and(|s| s.send(Arc::new(el))))
        })?,
    )?;
    n.set(
        "session_close",
        lua.create_function(
            |_, (sid, condition, text): (u64, Option<String>, Option<String>)| {
                with_core(|c| {
                    let err = condition
                        .map(|cond| crate::xmpp::error::named_stream_error(&cond, text.as_deref()));
                    c.close_session(sid, err);
                })
            },
        )?,
    )?;
    n.set(
        "full_session",
        lua.create_function(|_, jid: String| {
            with_core(|c| c.full_sessions.get(jid.as_str()).copied())
        })?,
    )?;
    n.set(
        "bare_sessions",
        lua.create_function(|_, bare: String| {
            with_core(|c| c.bare_sessions.get(&bare).cloned().unwrap_or_default())
        })?,
    )?;
    n.set(
        "all_sessions",
        lua.create_function(|_, ()| {
            with_core(|c| c.sessions.keys().copied().collect::<Vec<u64>>())
        })?,
    )?;
    n.set(
        "post",
        lua.create_function(|_, (host, st, origin): (String, Table, Option<u64>)| {
            let el = convert::lua_to_element(&st).map_err(rt)?;
            let origin = match origin {
                Some(sid) => Origin::Session(sid),
                None => Origin::Host(host),
            };
            with_core(|c| crate::core::router::post_stanza(c, origin, el, false))
        })?,
    )?;
    Ok(())
}
