//! MUC events for Lua plugins on the component host: `muc-occupant-pre-join` (a truthy
//! return vetoes the join; the plugin answers through `origin.send`) and
//! `muc-config-form` (fields a plugin inserts into `event.form` are added to the owner's
//! form), and after the fact `muc-room-created`, `muc-occupant-joined`,
//! `muc-occupant-left`, `muc-set-affiliation`, `muc-broadcast-message` and
//! `muc-room-destroyed`. Events are built only when a Lua handler is in the chain, so rooms without
//! plugins never touch the VM. The `room` in the event is a read-only snapshot with
//! Prosody's getters (`get_name`, `get_affiliation`, `each_occupant`, …).

use mlua::{Function, Lua, Table, Value};

use super::room::Room;
use crate::core::{Core, Origin};
use crate::lua::bridge::CoreGuard;
use crate::lua::{convert, LuaHost};
use crate::xml::Element;

/// Prosody's room methods over snapshots (getters) and the native room (the rest).
const ROOM_MT: &str = include_str!("room_mt.lua");

/// The Lua side of the room objects (compiled once per VM).
fn room_lib(lua: &Lua) -> mlua::Result<Table> {
    if let Some(t) = lua.named_registry_value::<Option<Table>>("lilt.muc")? {
        return Ok(t);
    }
    let native: Table = lua.load("return require 'lilt.native'").eval()?;
    let t: Table = lua.load(ROOM_MT).set_name("muc room").call(native)?;
    lua.set_named_registry_value("lilt.muc", t.clone())?;
    Ok(t)
}

/// Adds `muc_rooms(host, live_only)`, `muc_room(host, jid)` and `muc_api(host)` (the
/// table `hosts[host].modules.muc` and `module:depends("muc")` give) to `lilt.native`.
pub fn install(lua: &Lua, native: &Table) -> mlua::Result<()> {
    native.set(
        "muc_room",
        lua.create_function(|lua, (host, jid): (String, String)| {
            let room = crate::lua::bridge::with_core(|c| find_room(c, &host, &jid))?;
            room.map(|r| snapshot(lua, &r)).transpose()
        })?,
    )?;
    native.set(
        "muc_rooms",
        lua.create_function(|lua, (host, live_only): (String, Option<bool>)| {
            let rooms = crate::lua::bridge::with_core(|c| {
                list_rooms(c, &host, live_only.unwrap_or(false))
            })?;
            rooms
                .iter()
                .map(|r| snapshot(lua, r))
                .collect::<mlua::Result<Vec<_>>>()
        })?,
    )?;
    native.set(
        "muc_api",
        lua.create_function(|lua, host: String| {
            let api: Function = room_lib(lua)?.get("api")?;
            api.call::<Table>(host)
        })?,
    )?;
    super::lua_room::install(lua, native)
}

pub fn find_room(core: &mut Core, host: &str, jid: &str) -> Option<Room> {
    let store = core.shared.store.clone();
    let service = core.state::<super::MucState>().services.get(host)?;
    if let Some(r) = service.rooms.get(jid) {
        return Some(r.clone());
    }
    let rs = super::storage::RoomStore {
        store: &store,
        host,
    };
    rs.load(jid).ok().flatten()
}

fn list_rooms(core: &mut Core, host: &str, live_only: bool) -> Vec<Room> {
    let store = core.shared.store.clone();
    let Some(service) = core.state::<super::MucState>().services.get(host) else {
        return Vec::new();
    };
    let mut rooms: Vec<Room> = service.rooms.values().cloned().collect();
    if !live_only {
        let rs = super::storage::RoomStore {
            store: &store,
            host,
        };
        for jid in rs.list().unwrap_or_default() {
            if !service.rooms.contains_key(&jid) {
                rooms.extend(rs.load(&jid).ok().flatten());
            }
        }
    }
    rooms.sort_by(|a, b| a.jid.cmp(&b.jid));
    rooms
}

/// The Lua VM, if a Lua handler is hooked on `event` of `host`.
pub fn hooked<'a>(core: &'a Core, host: &str, event: &str) -> Option<&'a LuaHost> {
    let h = core.hosts.get(host)?;
    if !h.events.has_handlers(event) {
        return None;
    }
    core.lua.as_ref()
}

/// A room as Lua sees it: `jid`, `_host`, `_data`, `_affiliations`, `_occupants`.
pub fn snapshot(lua: &Lua, room: &Room) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set("jid", room.jid.as_str())?;
    t.set("_host", room.jid.split_once('@').map_or("", |(_, h)| h))?;
    let d = lua.create_table()?;
    let c = &room.config;
    d.set("name", c.name.as_deref())?;
    d.set("description", c.description.as_deref())?;
    d.set("language", c.language.as_deref())?;
    d.set("password", c.password.as_deref())?;
    d.set("members_only", c.members_only.then_some(true))?;
    d.set(
        "allow_member_invites",
        c.allow_member_invites.then_some(true),
    )?;
    d.set("moderated", c.moderated.then_some(true))?;
    d.set("persistent", c.persistent.then_some(true))?;
    d.set("hidden", c.hidden.then_some(true))?;
    d.set("changesubject", c.changesubject.then_some(true))?;
    d.set("whois", c.whois_anyone.then_some("anyone"))?;
    d.set("subject", c.subject.as_deref())?;
    d.set("subject_from", c.subject_from.as_deref())?;
    d.set("history_length", c.history_length)?;
    d.set("locked", c.locked)?;
    t.set("_data", d)?;
    let affs = lua.create_table()?;
    for (j, a) in &room.affiliations {
        affs.set(j.as_str(), a.as_str())?;
    }
    t.set("_affiliations", affs)?;
    let occs = lua.create_table()?;
    for o in &room.occupants {
        occs.set(o.nick.as_str(), occupant_table(lua, o)?)?;
    }
    t.set("_occupants", occs)?;
    Ok(t)
}

/// An occupant as Lua sees it: `nick`, `bare_jid`, `role`, `jid`, `sessions`.
pub fn occupant_table(lua: &Lua, o: &super::occupant::Occupant) -> mlua::Result<Table> {
    let ot = lua.create_table()?;
    ot.set("nick", o.nick.as_str())?;
    ot.set("bare_jid", o.bare_jid.as_str())?;
    ot.set("role", o.role.as_str())?;
    ot.set("jid", o.primary.as_str())?;
    let sessions = lua.create_table()?;
    for real in o.real_jids() {
        sessions.set(real, true)?;
    }
    ot.set("sessions", sessions)?;
    Ok(ot)
}

pub fn fire(
    core: &mut Core,
    host: &str,
    name: &str,
    room: &Room,
    fill: impl FnOnce(&Lua, &Table) -> mlua::Result<()>,
) -> mlua::Result<(Value, Table)> {
    let lua = core
        .lua
        .as_ref()
        .map(|h| h.lua.clone())
        .ok_or_else(|| mlua::Error::runtime("no Lua host"))?;
    // Origin proxies and `native.fire` reach the core through the guard.
    let _guard = CoreGuard::enter(core);
    let event = lua.create_table()?;
    fill(&lua, &event)?;
    let snap = snapshot(&lua, room)?;
    let runner: Function = room_lib(&lua)?.get("fire")?;
    let r: Value = runner.call((snap, host, name, event.clone()))?;
    Ok((r, event))
}

pub fn origin_value(lua: &Lua, origin: &Origin) -> mlua::Result<Value> {
    let proxy: Function = LuaHost::internal(lua)?.get("origin_proxy")?;
    match origin {
        Origin::Session(sid) => proxy.call(("session", *sid)),
        Origin::Host(h) => proxy.call(("host", h.as_str())),
    }
}

/// `muc-occupant-pre-join`: true when a Lua handler vetoed the join.
pub fn pre_join(
    core: &mut Core,
    host: &str,
    room: &Room,
    origin: &Origin,
    stanza: &Element,
    is_new_room: bool,
) -> bool {
    if hooked(core, host, "muc-occupant-pre-join").is_none() {
        return false;
    }
    let nick = stanza.attr("to").unwrap_or_default().to_owned();
    let bare = super::bare(stanza.attr("from").unwrap_or_default());
    let result = fire(core, host, "muc-occupant-pre-join", room, |lua, ev| {
        ev.set("stanza", convert::element_to_lua(lua, stanza)?)?;
        ev.set("origin", origin_value(lua, origin)?)?;
        let occ = lua.create_table()?;
        occ.set("nick", nick.as_str())?;
        occ.set("bare_jid", bare.as_str())?;
        ev.set("occupant", occ)?;
        ev.set("is_first_session", true)?;
        ev.set("is_new_room", is_new_room.then_some(true))?;
        Ok(())
    });
    match result {
        Ok((v, _)) => !matches!(v, Value::Nil | Value::Boolean(false)),
        Err(e) => {
            tracing::error!(target: "lua", "Error in muc-occupant-pre-join: {e}");
            false
        }
    }
}

/// `muc-config-form`: fields Lua handlers appended to `event.form` become `<field/>`s
/// at the end of `form`.
pub fn config_form(core: &mut Core, host: &str, room: &Room, actor: &str, form: &mut Element) {
    if hooked(core, host, "muc-config-form").is_none() {
        return;
    }
    let result = fire(core, host, "muc-config-form", room, |lua, ev| {
        ev.set("actor", actor)?;
        ev.set("form", lua.create_table()?)?;
        Ok(())
    });
    let fields: Table = match result.and_then(|(_, ev)| ev.get("form")) {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(target: "lua", "Error in muc-config-form: {e}");
            return;
        }
    };
    for f in fields.sequence_values::<Table>().flatten() {
        let Ok(Some(name)) = f.get::<Option<String>>("name") else {
            continue;
        };
        let ftype = f
            .get::<Option<String>>("type")
            .ok()
            .flatten()
            .unwrap_or_else(|| "text-single".into());
        let label = f.get::<Option<String>>("label").ok().flatten();
        let mut field = super::config_form::Field::new(Some(&name), &ftype, label.as_deref());
        if let Ok(Some(desc)) = f.get::<Option<String>>("desc") {
            field = field.desc(&desc);
        }
        field = match f.get::<Value>("value") {
            Ok(Value::Boolean(b)) => field.flag(Some(b)),
            Ok(Value::String(s)) => field.value(&s.to_string_lossy()),
            Ok(Value::Integer(n)) => field.value(&n.to_string()),
            Ok(Value::Number(n)) => field.value(&n.to_string()),
            _ => field,
        };
        form.push_child(field.done());
    }
}

/// A room event after the fact (`muc-occupant-joined`, `muc-occupant-left`,
/// `muc-room-created`, `muc-room-destroyed`, `muc-set-affiliation`,
/// `muc-broadcast-message`): what the handlers return is ignored.
pub fn notify(
    core: &mut Core,
    host: &str,
    room: &Room,
    origin: &Origin,
    e: &super::room::MucEvent,
) {
    let result = fire(core, host, e.name, room, |lua, ev| {
        if e.with_origin {
            ev.set("origin", origin_value(lua, origin)?)?;
        }
        if let Some(nick) = &e.nick {
            ev.set("nick", nick.as_str())?;
            let occ = match room.occupant(nick) {
                Some(o) => occupant_table(lua, o)?,
                None => {
                    let occ = lua.create_table()?;
                    occ.set("nick", nick.as_str())?;
                    occ.set("bare_jid", e.jid.as_deref())?;
                    occ
                }
            };
            ev.set("occupant", occ)?;
        } else if let Some(j) = &e.jid {
            ev.set("jid", j.as_str())?;
        }
        if let Some(real) = &e.real {
            ev.set("jid", real.as_str())?;
        }
        if let Some(a) = e.affiliation {
            ev.set("affiliation", a)?;
        }
        if let Some(st) = &e.stanza {
            ev.set("stanza", convert::element_to_lua(lua, st)?)?;
        }
        Ok(())
    });
    if let Err(err) = result {
        tracing::error!(target: "lua", "Error in {}: {err}", e.name);
    }
}
