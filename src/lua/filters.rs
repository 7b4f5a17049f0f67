//! Session filters (`util.filters`, reference §3.8) run by the core: `stanzas/in` on each
//! stanza a session sent, before routing; `stanzas/out` on each stanza for a session,
//! before its connection gets it. Only sessions a Lua filter was added to are flagged,
//! so every other session pays one set lookup (none while no session has a filter).
//! Byte filters are accepted by `util.filters` but never run: bytes stay on the
//! connection tasks.

use std::cell::RefCell;
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use mlua::{Function, Lua, Table, Value};

use super::bridge::{with_core, CoreGuard};
use super::{convert, sandbox, LuaHost};
use crate::core::{Core, SessionId};
use crate::xml::Element;

/// Which sessions have Lua stanza filters, and what waits for the `stanzas/out` ones.
#[derive(Default)]
pub struct SessionFilters {
    inbound: HashSet<SessionId>,
    outbound: HashSet<SessionId>,
    /// Stanzas sent to filtered sessions while the core was only borrowed (`send_to`
    /// takes `&Core`); they go out, filtered, when the current event ends.
    pending: RefCell<VecDeque<(SessionId, Arc<Element>)>>,
    /// Flagged sessions after the last sweep of gone ones.
    swept_at: usize,
}

impl SessionFilters {
    pub fn filters_in(&self, session: SessionId) -> bool {
        !self.inbound.is_empty() && self.inbound.contains(&session)
    }

    pub fn filters_out(&self, session: SessionId) -> bool {
        !self.outbound.is_empty() && self.outbound.contains(&session)
    }

    /// Queues a stanza for a session with a `stanzas/out` filter.
    pub fn defer(&self, session: SessionId, stanza: Arc<Element>) -> bool {
        self.pending.borrow_mut().push_back((session, stanza));
        true
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.borrow().is_empty()
    }

    fn pop(&self) -> Option<(SessionId, Arc<Element>)> {
        self.pending.borrow_mut().pop_front()
    }

    fn set(&mut self, session: SessionId, kind: &str, on: bool) {
        let set = match kind {
            "stanzas/in" => &mut self.inbound,
            "stanzas/out" => &mut self.outbound,
            _ => return,
        };
        if on {
            set.insert(session);
        } else {
            set.remove(&session);
        }
    }

    /// Forgets sessions that are gone, once the flagged set doubled since the last sweep.
    fn sweep(&mut self, alive: impl Fn(SessionId) -> bool) {
        let n = self.inbound.len() + self.outbound.len();
        if n < 64 || n < self.swept_at * 2 {
            return;
        }
        self.inbound.retain(|s| alive(*s));
        self.outbound.retain(|s| alive(*s));
        self.swept_at = self.inbound.len() + self.outbound.len();
    }
}

pub fn install(lua: &Lua, n: &Table) -> mlua::Result<()> {
    n.set(
        "set_session_filter",
        lua.create_function(|_, (sid, kind, on): (u64, String, bool)| {
            with_core(|c| {
                let Core { lua, sessions, .. } = c;
                if let Some(h) = lua.as_mut() {
                    h.filters.set(sid, &kind, on);
                    h.filters.sweep(|s| sessions.contains_key(&s));
                }
            })
        })?,
    )?;
    Ok(())
}

/// Runs the `stanzas/in` filters of `session` when it has any; `None`: a filter dropped
/// the stanza.
pub fn inbound(core: &mut Core, session: SessionId, stanza: Element) -> Option<Element> {
    if !core
        .lua
        .as_ref()
        .is_some_and(|h| h.filters.filters_in(session))
    {
        return Some(stanza);
    }
    run(core, session, "stanzas/in", &stanza).unwrap_or(Some(stanza))
}

/// Sends what waits for `stanzas/out` filters, filtered, in the order it was sent.
pub fn flush(core: &mut Core) {
    while let Some((sid, stanza)) = core.lua.as_ref().and_then(|h| h.filters.pop()) {
        let out = match run(core, sid, "stanzas/out", &stanza) {
            Some(Some(el)) => Arc::new(el),
            Some(None) => continue,
            None => stanza,
        };
        if let Some(s) = core.sessions.get(&sid) {
            s.send(out);
        }
    }
}

/// Calls the session's filter chain of `kind`: `Some(None)` dropped, `Some(Some(el))`
/// the (possibly changed) stanza, `None` when Lua failed (the stanza goes on as it was).
fn run(core: &mut Core, sid: SessionId, kind: &str, stanza: &Element) -> Option<Option<Element>> {
    let lua = core.lua.as_ref().map(|h| h.lua.clone())?;
    if let Some(h) = core.lua.as_mut() {
        h.entries += 1;
    }
    let guard = CoreGuard::enter(core);
    if guard.is_outermost() {
        sandbox::reset_budget(&lua);
    }
    let r = (|| -> mlua::Result<Option<Element>> {
        let f: Function = LuaHost::internal(&lua)?.get("run_filter")?;
        let st = convert::element_to_lua(&lua, stanza)?;
        match f.call::<Value>((sid, kind, st))? {
            Value::Table(t) => Ok(Some(
                convert::lua_to_element(&t).map_err(super::bridge::rt)?,
            )),
            _ => Ok(None),
        }
    })();
    drop(guard);
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::error!(target: "lua", "Error in {kind} filter: {e}");
            None
        }
    }
}
