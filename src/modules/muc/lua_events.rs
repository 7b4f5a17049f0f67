//! Room events Lua handlers may answer, fired before the native room handles the stanza
//! (only when a Lua handler is hooked): `muc-room-pre-create` (truthy aborts the
//! creation), `muc-occupant-pre-leave`, `muc-occupant-groupchat` (truthy stops the
//! message), `muc-broadcast-message` (truthy suppresses the broadcast, not the history
//! entry made before it, as in Prosody; a
//! rewritten `event.stanza` is what is broadcast) and `muc-private-message` (`false`
//! suppresses the private message). `muc-occupant-pre-join` is in mod.rs.

use mlua::{Table, Value};

use super::join::After;
use super::lua::{fire, hooked, occupant_table, origin_value};
use super::message::Groupchat;
use super::room::Room;
use super::{bare, MucState};
use crate::core::{Core, Event};
use crate::lua::convert;
use crate::xml::Element;

fn truthy(v: &Value) -> bool {
    !matches!(v, Value::Nil | Value::Boolean(false))
}

/// Some(true): a Lua handler took the stanza (the room does not handle it).
pub fn before(core: &mut Core, host: &str, ev: &Event) -> Option<bool> {
    let stanza = ev.stanza.as_ref()?;
    let to = stanza.attr("to")?;
    let full = to.contains('/');
    let kind = stanza.attr("type");
    match (stanza.name.as_str(), full, kind) {
        ("presence", true, None) => pre_create(core, host, ev, stanza),
        ("presence", true, Some("unavailable")) => {
            pre_leave(core, host, ev, stanza);
            None
        }
        ("message", false, Some("groupchat")) => groupchat(core, host, ev, stanza),
        ("message", true, k) if k != Some("groupchat") && k != Some("error") => {
            private_message(core, host, ev, stanza)
        }
        _ => None,
    }
}

fn live_room(core: &mut Core, host: &str, jid: &str) -> Option<Room> {
    let state = core.state::<MucState>();
    state.services.get(host)?.rooms.get(jid).cloned()
}

fn pre_create(core: &mut Core, host: &str, ev: &Event, stanza: &Element) -> Option<bool> {
    hooked(core, host, "muc-room-pre-create")?;
    stanza.get_child("x", super::broadcast::MUC)?;
    let jid = bare(stanza.attr("to")?);
    let exists = live_room(core, host, &jid).is_some() || {
        let store = core.shared.store.clone();
        let rs = super::storage::RoomStore {
            store: &store,
            host,
        };
        rs.load(&jid).ok().flatten().is_some()
    };
    if exists {
        return None;
    }
    let room = Room::new(&jid);
    let r = fire(core, host, "muc-room-pre-create", &room, |lua, e| {
        e.set("stanza", convert::element_to_lua(lua, stanza)?)?;
        e.set("origin", origin_value(lua, &ev.origin)?)?;
        Ok(())
    });
    report(r, "muc-room-pre-create")
        .filter(|(v, _)| truthy(v))
        .map(|_| true)
}

fn pre_leave(core: &mut Core, host: &str, ev: &Event, stanza: &Element) {
    if hooked(core, host, "muc-occupant-pre-leave").is_none() {
        return;
    }
    let from = stanza.attr("from").unwrap_or_default();
    let Some(room) = live_room(core, host, &bare(stanza.attr("to").unwrap_or_default())) else {
        return;
    };
    let Some(occ) = room.occupant_by_real(from).cloned() else {
        return;
    };
    let r = fire(core, host, "muc-occupant-pre-leave", &room, |lua, e| {
        e.set("stanza", convert::element_to_lua(lua, stanza)?)?;
        e.set("origin", origin_value(lua, &ev.origin)?)?;
        e.set("occupant", occupant_table(lua, &occ)?)?;
        e.set("is_last_session", occ.sessions.len() <= 1)?;
        Ok(())
    });
    report(r, "muc-occupant-pre-leave");
}

fn groupchat(core: &mut Core, host: &str, ev: &Event, stanza: &Element) -> Option<bool> {
    let on_groupchat = hooked(core, host, "muc-occupant-groupchat").is_some();
    let on_broadcast = hooked(core, host, "muc-broadcast-message").is_some();
    if !on_groupchat && !on_broadcast {
        return None;
    }
    let jid = bare(stanza.attr("to")?);
    let (room, msg, nick) = {
        let service = core.state::<MucState>().services.get(host)?;
        let room = service.rooms.get(&jid)?;
        match room.groupchat_checks(stanza, &service.opts) {
            Groupchat::Broadcast(msg, nick) => (room.clone(), msg, nick),
            // Refusals and subject changes are the room's own.
            _ => return None,
        }
    };
    if on_groupchat {
        let occ = room.occupant(&nick).cloned()?;
        let r = fire(core, host, "muc-occupant-groupchat", &room, |lua, e| {
            let mut original = msg.clone();
            original.set_attr("from", stanza.attr("from").unwrap_or_default());
            e.set("stanza", convert::element_to_lua(lua, &original)?)?;
            e.set("origin", origin_value(lua, &ev.origin)?)?;
            e.set("from", stanza.attr("from"))?;
            e.set("occupant", occupant_table(lua, &occ)?)?;
            Ok(())
        });
        if report(r, "muc-occupant-groupchat").is_some_and(|(v, _)| truthy(&v)) {
            return Some(true);
        }
    }
    let mut msg = msg;
    if on_broadcast {
        let unstamped = msg.clone();
        msg = super::lua_room::act(core, host, &jid, |room, opts, now, _| {
            let mut m = unstamped;
            room.history_of_broadcast(&mut m, now, opts);
            (m, After::Kept)
        })
        .map(|(m, _)| m)
        .unwrap_or(msg);
        let room = live_room(core, host, &jid).unwrap_or(room);
        let r = fire(core, host, "muc-broadcast-message", &room, |lua, e| {
            e.set("stanza", convert::element_to_lua(lua, &msg)?)?;
            Ok(())
        });
        match report(r, "muc-broadcast-message") {
            Some((v, _)) if truthy(&v) => return Some(true),
            Some((_, e)) => {
                if let Some(st) = e.get::<Option<Table>>("stanza").ok().flatten() {
                    msg = convert::lua_to_element(&st).unwrap_or(msg);
                }
            }
            None => {}
        }
    }
    super::lua_room::act(core, host, &jid, |room, opts, now, out| {
        if on_broadcast {
            room.broadcast(&msg, |_| true, out);
        } else {
            room.broadcast_message(msg, now, opts, out);
        }
        ((), After::Kept)
    });
    Some(true)
}

fn private_message(core: &mut Core, host: &str, ev: &Event, stanza: &Element) -> Option<bool> {
    hooked(core, host, "muc-private-message")?;
    let to = stanza.attr("to")?;
    let room = live_room(core, host, &bare(to))?;
    let sender = room.occupant_by_real(stanza.attr("from")?)?;
    room.occupant(to)?;
    let mut copy = stanza.clone();
    copy.children.retain(|n| match n {
        crate::xml::Node::Element(e) => {
            !(e.name == "x"
                && (e.ns == super::broadcast::MUC || e.ns == super::broadcast::MUC_USER))
        }
        crate::xml::Node::Text(_) => true,
    });
    copy.push_child(Element::new("x", super::broadcast::MUC_USER));
    copy.set_attr("from", sender.nick.as_str());
    let r = fire(core, host, "muc-private-message", &room, |lua, e| {
        e.set("stanza", convert::element_to_lua(lua, &copy)?)?;
        e.set("origin", origin_value(lua, &ev.origin)?)?;
        Ok(())
    });
    report(r, "muc-private-message")
        .filter(|(v, _)| matches!(v, Value::Boolean(false)))
        .map(|_| true)
}

fn report(r: mlua::Result<(Value, Table)>, name: &str) -> Option<(Value, Table)> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::error!(target: "lua", "Error in {name}: {e}");
            None
        }
    }
}
