//! The s2s events Lua plugins see (reference §17.6), fired on the core thread as streams
//! authenticate and end: `s2s-authenticated` { session, host, mechanism } on the local
//! host, `s2sin-established`/`s2sout-established` { session } globally and on the local
//! host, `s2s-destroyed` and `s2sin-destroyed`/`s2sout-destroyed` { session, reason }. And
//! the read surface `hosts[local].s2sout[remote]`, kept up to date with the outgoing routes
//! (incoming bidi streams included, as Prosody registers them there).
//!
//! The `session` is a snapshot table with Prosody's field names (`type`, `direction`,
//! `from_host`, `to_host`, `host`, `secure`); handlers cannot veto or steer the native
//! negotiation, which has already applied the policy by the time these fire.

use crate::core::{Bus, Core};
use crate::lua::events::{fire_fields, has_handlers, Field};
use crate::storage::lua_value::{LuaTable, LuaValue};

/// One s2s stream as the events describe it.
#[derive(Debug, Clone)]
pub struct StreamView {
    /// The served host on this side.
    pub local: String,
    /// The remote domain.
    pub remote: String,
    pub outgoing: bool,
    pub secure: bool,
    /// Authenticated (`s2sin`/`s2sout`) or not yet (`*_unauthed`).
    pub authed: bool,
}

impl StreamView {
    fn session(&self) -> LuaValue {
        let kind = if self.outgoing { "s2sout" } else { "s2sin" };
        let (from, to) = if self.outgoing {
            (&self.local, &self.remote)
        } else {
            (&self.remote, &self.local)
        };
        let mut t = LuaTable::new();
        let stype = if self.authed {
            kind.to_owned()
        } else {
            format!("{kind}_unauthed")
        };
        t.set("type", LuaValue::Str(stype));
        let direction = if self.outgoing {
            "outgoing"
        } else {
            "incoming"
        };
        t.set("direction", LuaValue::Str(direction.into()));
        t.set("from_host", LuaValue::Str(from.clone()));
        t.set("to_host", LuaValue::Str(to.clone()));
        t.set("host", LuaValue::Str(self.local.clone()));
        t.set("secure", LuaValue::Bool(self.secure));
        LuaValue::Table(t)
    }

    fn kind(&self) -> &'static str {
        if self.outgoing {
            "s2sout"
        } else {
            "s2sin"
        }
    }
}

fn fire_both(core: &mut Core, local: &str, name: &str, fields: &[(&str, Field)]) {
    if core.lua.is_none() {
        return;
    }
    for bus in [Bus::Global, Bus::Host(local.to_owned())] {
        if has_handlers(core, &bus, name) {
            fire_fields(core, &bus, name, fields, |_, _| Ok(()));
        }
    }
}

/// `s2s-authenticated` on the local host: `remote` authenticated with `mechanism`
/// ("EXTERNAL" or "dialback").
pub fn authenticated(core: &mut Core, view: &StreamView, mechanism: &str) {
    let bus = Bus::Host(view.local.clone());
    if core.lua.is_none() || !has_handlers(core, &bus, "s2s-authenticated") {
        return;
    }
    let session = StreamView {
        authed: false,
        ..view.clone()
    }
    .session();
    fire_fields(
        core,
        &bus,
        "s2s-authenticated",
        &[
            ("session", Field::Value(&session)),
            ("host", Field::Str(&view.remote)),
            ("mechanism", Field::Str(mechanism)),
        ],
        |_, _| Ok(()),
    );
}

/// `s2sin-established` / `s2sout-established`, globally and on the local host.
pub fn established(core: &mut Core, view: &StreamView) {
    let session = view.session();
    let name = format!("{}-established", view.kind());
    fire_both(
        core,
        &view.local,
        &name,
        &[("session", Field::Value(&session))],
    );
}

/// `s2s-destroyed` (global) and `s2sin-destroyed` / `s2sout-destroyed` (global and host).
pub fn destroyed(core: &mut Core, view: &StreamView, reason: Option<&str>) {
    if core.lua.is_none() {
        return;
    }
    let session = view.session();
    let mut fields = vec![("session", Field::Value(&session))];
    if let Some(r) = reason {
        fields.push(("reason", Field::Str(r)));
    }
    if has_handlers(core, &Bus::Global, "s2s-destroyed") {
        fire_fields(core, &Bus::Global, "s2s-destroyed", &fields, |_, _| Ok(()));
    }
    let name = format!("{}-destroyed", view.kind());
    fire_both(core, &view.local, &name, &fields);
}

/// Sets (or clears, with `None`) `hosts[local].s2sout[remote]` for Lua plugins.
pub fn set_s2sout(core: &mut Core, local: &str, remote: &str, view: Option<&StreamView>) {
    let Some(lua) = core.lua.as_ref().map(|h| h.lua.clone()) else {
        return;
    };
    let guard = crate::lua::bridge::CoreGuard::enter(core);
    let run = || -> mlua::Result<()> {
        let value = match view {
            Some(v) => crate::lua::convert::stored_to_lua(&lua, &v.session())?,
            None => mlua::Value::Nil,
        };
        lua.load(
            "local l, r, s = ...; local p = rawget(_G, 'prosody'); \
             local h = p and p.hosts and p.hosts[l]; \
             if h and h.s2sout then h.s2sout[r] = s end",
        )
        .set_name("=s2sout")
        .call::<()>((local, remote, value))
    };
    if let Err(e) = run() {
        tracing::debug!("s2s: hosts[{local}].s2sout[{remote}] not updated: {e}");
    }
    drop(guard);
}
