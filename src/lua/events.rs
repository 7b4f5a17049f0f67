//! Prosody's account and authentication events with their payload fields (wave-2
//! reference §20.1): `authentication-success`/`-failure`, `user-registering` (with its
//! veto), `user-registered`, `user-deregistered`, `user-deleted` and `roster-load`.
//!
//! Lua handlers get Prosody's table (`session`, `username`, `host`, ...); the VM is only
//! entered when the event's bus has handlers. Native code that sees these moments off the
//! core thread (the c2s drivers) sends them over with [`notify`].

use std::sync::Arc;

use mlua::{Lua, Table, Value};

use super::bridge::CoreGuard;
use super::{convert, dispatch, sandbox, LuaHost};
use crate::core::session::{CoreMsg, CoreTask, StreamInfo};
use crate::core::{Bus, Core, Event, Shared};
use crate::storage::LuaValue;

/// One field of an event's payload.
pub enum Field<'a> {
    Str(&'a str),
    Bool(bool),
    /// A bound session (its proxy table).
    Session(u64),
    /// A stream that is not bound yet, as `stream-features` handlers see it.
    Stream(&'a StreamInfo),
    Value(&'a LuaValue),
    /// A stanza, as a `util.stanza` object.
    Stanza(&'a crate::xml::Element),
    /// A list of stanzas (mod_smacks' `queue`).
    Stanzas(&'a [crate::xml::Element]),
    /// A reply being built, positioned inside its first child (`st.reply(iq):query(ns)`).
    Reply(&'a crate::xml::Element),
    /// An event's `origin`: a session proxy or the host object.
    Origin(&'a crate::core::Origin),
}

pub fn has_handlers(core: &Core, bus: &Bus, name: &str) -> bool {
    match bus {
        Bus::Global => core.global_events.has_handlers(name),
        Bus::Host(h) => core
            .hosts
            .get(h)
            .is_some_and(|h| h.events.has_handlers(name)),
    }
}

fn field_value(lua: &Lua, internal: &Table, f: &Field) -> mlua::Result<Value> {
    Ok(match f {
        Field::Str(s) => Value::String(lua.create_string(s)?),
        Field::Bool(b) => Value::Boolean(*b),
        Field::Session(sid) => {
            let proxy: mlua::Function = internal.get("origin_proxy")?;
            proxy.call(("session", *sid))?
        }
        Field::Stream(info) => dispatch::stream_origin(lua, internal, info)?,
        Field::Value(v) => convert::stored_to_lua(lua, v)?,
        Field::Stanza(el) => Value::Table(convert::element_to_lua(lua, el)?),
        Field::Stanzas(list) => {
            let t = lua.create_table()?;
            for (i, el) in list.iter().enumerate() {
                t.raw_set(i + 1, convert::element_to_lua(lua, el)?)?;
            }
            Value::Table(t)
        }
        Field::Reply(el) => {
            let t = convert::element_to_lua(lua, el)?;
            let first = t.get::<Table>("tags")?.get::<Value>(1)?;
            if let Value::Table(child) = first {
                t.set("last_add", lua.create_sequence_from([child])?)?;
            }
            Value::Table(t)
        }
        Field::Origin(o) => {
            let proxy: mlua::Function = internal.get("origin_proxy")?;
            match o {
                crate::core::Origin::Session(sid) => proxy.call(("session", *sid))?,
                crate::core::Origin::Host(h) => proxy.call(("host", h.as_str()))?,
            }
        }
    })
}

/// Fires `name` on `bus` with a payload of `fields`; `read` looks at the table after the
/// handlers ran (what they set) and the first non-nil value one returned. `None` when
/// nobody listens.
pub fn fire_fields<R>(
    core: &mut Core,
    bus: &Bus,
    name: &str,
    fields: &[(&str, Field)],
    read: impl FnOnce(&Table, Value) -> mlua::Result<R>,
) -> Option<R> {
    if !has_handlers(core, bus, name) {
        return None;
    }
    let Some(lua) = core.lua.as_ref().map(|h| h.lua.clone()) else {
        // Only native handlers can be there; they get the plain event.
        let mut ev = Event::global();
        core.fire(bus, name, &mut ev);
        return None;
    };
    let guard = CoreGuard::enter(core);
    if guard.is_outermost() {
        sandbox::reset_budget(&lua);
    }
    let bus_name = match bus {
        Bus::Global => "*".to_owned(),
        Bus::Host(h) => h.clone(),
    };
    let run = || -> mlua::Result<R> {
        let internal = LuaHost::internal(&lua)?;
        let data = lua.create_table()?;
        for (k, f) in fields {
            data.raw_set(*k, field_value(&lua, &internal, f)?)?;
        }
        let returned = dispatch::fire_table(bus_name, name.to_owned(), data.clone())?;
        read(&data, returned)
    };
    let r = run();
    drop(guard);
    super::flush_filtered(core);
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::error!(target: "lua", "Error firing {name}: {e}");
            None
        }
    }
}

/// Has the core thread run `f` (from a connection task); nothing happens once the core
/// is gone.
pub fn notify(shared: &Shared, f: impl FnOnce(&mut Core) + Send + 'static) {
    let _ = shared.core_tx.send(CoreMsg::Task(CoreTask(Box::new(f))));
}

/// `authentication-success`: a c2s stream logged in (before the stream restart).
pub fn authentication_success(core: &mut Core, info: &StreamInfo) {
    let bus = Bus::Host(info.host.clone());
    fire_fields(
        core,
        &bus,
        "authentication-success",
        &[("session", Field::Stream(info))],
        |_, _| Ok(()),
    );
}

/// `authentication-failure` with the SASL condition and text sent to the client.
pub fn authentication_failure(core: &mut Core, info: &StreamInfo, failure: &crate::xml::Element) {
    let condition = failure
        .child_elements()
        .find(|c| c.name != "text")
        .map(|c| c.name.to_string())
        .unwrap_or_else(|| "not-authorized".into());
    let text = failure
        .child_elements()
        .find(|c| c.name == "text")
        .map(|c| c.text());
    let bus = Bus::Host(info.host.clone());
    let mut fields = vec![
        ("session", Field::Stream(info)),
        ("condition", Field::Str(&condition)),
    ];
    if let Some(t) = &text {
        fields.push(("text", Field::Str(t)));
    }
    fire_fields(core, &bus, "authentication-failure", &fields, |_, _| Ok(()));
}

/// For the c2s drivers: fires the authentication events on the core thread.
pub fn notify_authentication(
    shared: &Shared,
    info: StreamInfo,
    failure: Option<crate::xml::Element>,
) {
    notify(shared, move |core| match failure {
        None => authentication_success(core, &info),
        Some(f) => authentication_failure(core, &info, &f),
    });
}

/// A registration refused by a `user-registering` handler: the stanza error to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Veto {
    pub error_type: String,
    pub condition: String,
    pub text: Option<String>,
}

fn read_veto(t: &Table) -> mlua::Result<Option<Veto>> {
    if t.raw_get::<Value>("allowed")? != Value::Boolean(false) {
        return Ok(None);
    }
    let (mut etype, mut cond, mut text) = (
        t.raw_get::<Option<String>>("error_type")?,
        t.raw_get::<Option<String>>("error_condition")?,
        t.raw_get::<Option<String>>("reason")?,
    );
    if let Value::Table(e) = t.raw_get::<Value>("error")? {
        etype = e.get::<Option<String>>("type")?.or(etype);
        cond = e.get::<Option<String>>("condition")?.or(cond);
        text = e.get::<Option<String>>("text")?.or(text);
    }
    Ok(Some(Veto {
        error_type: etype.unwrap_or_else(|| "modify".into()),
        condition: cond.unwrap_or_else(|| "not-acceptable".into()),
        text,
    }))
}

/// `user-registering` before an in-band registration; `Err` when a handler refused it.
pub fn user_registering(
    core: &mut Core,
    info: &StreamInfo,
    username: &str,
    password: &str,
) -> Result<(), Veto> {
    let ip = info.ip.map(|i| i.to_string());
    let mut fields = vec![
        ("username", Field::Str(username)),
        ("password", Field::Str(password)),
        ("host", Field::Str(&info.host)),
        ("session", Field::Stream(info)),
        ("allowed", Field::Bool(true)),
    ];
    if let Some(ip) = &ip {
        fields.push(("ip", Field::Str(ip)));
    }
    let bus = Bus::Host(info.host.clone());
    match fire_fields(core, &bus, "user-registering", &fields, |t, _| read_veto(t)) {
        Some(Some(veto)) => Err(veto),
        _ => Ok(()),
    }
}

/// `user-registered` after an in-band registration created the account.
pub fn user_registered(core: &mut Core, info: &StreamInfo, username: &str) {
    let bus = Bus::Host(info.host.clone());
    let fields = [
        ("username", Field::Str(username)),
        ("host", Field::Str(&info.host)),
        ("source", Field::Str("mod_register")),
        ("session", Field::Stream(info)),
    ];
    fire_fields(core, &bus, "user-registered", &fields, |_, _| Ok(()));
}

/// `user-deleted` (global) after the account is gone, before its stores are purged.
pub fn user_deleted(core: &mut Core, host: &str, username: &str) {
    let fields = [
        ("username", Field::Str(username)),
        ("host", Field::Str(host)),
    ];
    fire_fields(core, &Bus::Global, "user-deleted", &fields, |_, _| Ok(()));
}

/// `user-deregistered` after a logged-in user removed their own account.
pub fn user_deregistered(core: &mut Core, host: &str, username: &str, session: u64) {
    let bus = Bus::Host(host.to_owned());
    let fields = [
        ("username", Field::Str(username)),
        ("host", Field::Str(host)),
        ("source", Field::Str("mod_register")),
        ("session", Field::Session(session)),
    ];
    fire_fields(core, &bus, "user-deregistered", &fields, |_, _| Ok(()));
}

/// `roster-load` after a roster was read from storage; handlers may add contacts. Returns
/// the roster as they left it when anyone listened.
pub fn roster_load(
    core: &mut Core,
    username: &str,
    host: &str,
    roster: &LuaValue,
) -> Option<LuaValue> {
    let bus = Bus::Host(host.to_owned());
    let fields = [
        ("username", Field::Str(username)),
        ("host", Field::Str(host)),
        ("roster", Field::Value(roster)),
    ];
    fire_fields(core, &bus, "roster-load", &fields, |t, _| {
        convert::lua_to_stored(&t.raw_get::<Value>("roster")?)
    })
}

/// Runs an in-band registration with its events: `user-registering` may refuse it, the
/// account is created off the core thread, then `user-registered` fires.
pub async fn register_with_events(
    shared: Arc<Shared>,
    info: StreamInfo,
    username: String,
    password: String,
    iq: crate::xml::Element,
) -> crate::xml::Element {
    use crate::xmpp::error::{named_error_reply, StanzaCondition, StanzaError};
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (i, u, p) = (info.clone(), username.clone(), password.clone());
    notify(&shared, move |core| {
        let _ = tx.send(user_registering(core, &i, &u, &p));
    });
    // The core gone means the server is stopping: nothing to veto, nothing to create.
    let Ok(decision) = rx.await else {
        return StanzaError::wait(StanzaCondition::InternalServerError).reply(&iq);
    };
    if let Err(v) = decision {
        return named_error_reply(&iq, &v.error_type, &v.condition, v.text.as_deref());
    }
    let host = info.host.clone();
    let reply = crate::modules::register::ibr::register_blocking(
        shared.clone(),
        host,
        username.clone(),
        password,
        iq,
    )
    .await;
    if reply.attr("type") == Some("result") {
        notify(&shared, move |core| user_registered(core, &info, &username));
    }
    reply
}
