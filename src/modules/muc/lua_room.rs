//! The native half of the Lua room methods that change a room (`room_mt.lua` calls
//! `native.muc_act(host, jid, method, …)`): Prosody's setters, `set_affiliation`,
//! `set_role`, `set_subject`, `save`, `destroy`, `broadcast`, `broadcast_message` and
//! `route_to_occupant`. Each runs on the live room (loading a stored one), routes what the
//! room sends, fires the room events it caused, and returns a fresh snapshot first.

use super::outbox::Outbox;
use mlua::{Lua, MultiValue, Table, Value};

use super::affiliation::{Affiliation, Role};
use super::join::After;
use super::options::Options;
use super::room::Room;
use super::MucState;
use crate::core::{Core, Origin};
use crate::lua::bridge::with_core;
use crate::lua::convert;
use crate::xml::Element;
use crate::xmpp::error::{StanzaCondition, StanzaError};

pub fn install(lua: &Lua, native: &Table) -> mlua::Result<()> {
    native.set(
        "muc_act",
        lua.create_function(
            |lua, (host, jid, method, args): (String, String, String, MultiValue)| {
                muc_act(lua, &host, &jid, &method, args)
            },
        )?,
    )?;
    native.set(
        "muc_route",
        lua.create_function(|_, (host, stanza): (String, Table)| {
            let el = convert::lua_to_element(&stanza)
                .map_err(|e| mlua::Error::runtime(format!("route_stanza: {e}")))?;
            with_core(|c| super::send(c, &host, el))
        })?,
    )?;
    Ok(())
}

/// What a Lua method asked the room to do (arguments already converted).
enum Action {
    Set(String, Value),
    Affiliation {
        actor: Option<String>,
        jid: String,
        aff: Option<Affiliation>,
        reason: Option<String>,
        data: Option<crate::storage::lua_value::LuaTable>,
    },
    Role {
        actor: Option<String>,
        nick: String,
        role: Option<Role>,
        reason: Option<String>,
    },
    Subject(String, String),
    Save,
    Destroy(Option<String>, Option<String>, Option<String>),
    Broadcast(Element),
    /// `muc-add-history` for a message about to be broadcast.
    History(Element),
    ToOccupant(String, Element),
}

fn string(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.to_string_lossy().to_string()),
        Value::Integer(n) => Some(n.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn stanza(v: Option<&Value>) -> mlua::Result<Element> {
    match v {
        Some(Value::Table(t)) => {
            convert::lua_to_element(t).map_err(|e| mlua::Error::runtime(format!("{e}")))
        }
        _ => Err(mlua::Error::runtime("a stanza was expected")),
    }
}

/// `true` as an actor is the system (no permission checks); nil is refused later.
fn actor(v: Option<&Value>) -> Result<Option<String>, ()> {
    match v {
        Some(Value::Boolean(true)) => Ok(None),
        Some(v) => string(Some(v)).map(Some).ok_or(()),
        None => Err(()),
    }
}

fn parse(method: &str, args: &[Value]) -> mlua::Result<Result<Action, StanzaError>> {
    let arg = |i: usize| args.get(i);
    Ok(Ok(match method {
        "set_affiliation" | "set_role" => {
            let Ok(actor) = actor(arg(0)) else {
                return Ok(Err(StanzaError::modify(StanzaCondition::NotAcceptable)));
            };
            let target = string(arg(1)).unwrap_or_default();
            let value = string(arg(2));
            let reason = string(arg(3));
            if method == "set_role" {
                Action::Role {
                    actor,
                    nick: target,
                    role: Role::parse(value.as_deref().unwrap_or("none")),
                    reason,
                }
            } else {
                let data = match arg(4) {
                    Some(v @ Value::Table(_)) => convert::lua_to_stored(v)?.as_table().cloned(),
                    Some(Value::Boolean(false)) => Some(Default::default()),
                    _ => None,
                };
                Action::Affiliation {
                    actor,
                    jid: target,
                    aff: Affiliation::parse(value.as_deref().unwrap_or("none")),
                    reason,
                    data,
                }
            }
        }
        "set_subject" => Action::Subject(
            string(arg(0)).unwrap_or_default(),
            string(arg(1)).unwrap_or_default(),
        ),
        "save" => Action::Save,
        "destroy" => Action::Destroy(string(arg(0)), string(arg(1)), string(arg(2))),
        "broadcast" => Action::Broadcast(stanza(arg(0))?),
        "add_history" => Action::History(stanza(arg(0))?),
        "route_to_occupant" => {
            Action::ToOccupant(string(arg(0)).unwrap_or_default(), stanza(arg(1))?)
        }
        m if m.starts_with("set_") => Action::Set(
            m["set_".len()..].to_owned(),
            arg(0).cloned().unwrap_or(Value::Nil),
        ),
        m => return Err(mlua::Error::runtime(format!("no room method {m}"))),
    }))
}

fn muc_act(
    lua: &Lua,
    host: &str,
    jid: &str,
    method: &str,
    args: MultiValue,
) -> mlua::Result<MultiValue> {
    let args: Vec<Value> = args.into_iter().collect();
    let action = match parse(method, &args)? {
        Ok(a) => a,
        Err(e) => {
            return Ok(MultiValue::from_vec(vec![
                Value::Nil,
                Value::Nil,
                Value::String(lua.create_string(e.kind.name())?),
                Value::String(lua.create_string(e.condition.name())?),
            ]))
        }
    };
    let result = with_core(|core| {
        act(core, host, jid, |room, opts, now, out| {
            apply(room, action, opts, now, out)
        })
    })?;
    let Some((results, snap)) = result else {
        return Ok(MultiValue::new());
    };
    let mut values = vec![Value::Table(super::lua::snapshot(lua, &snap)?)];
    for r in results {
        values.push(match r {
            Reply::Bool(b) => Value::Boolean(b),
            Reply::Nil => Value::Nil,
            Reply::Str(s) => Value::String(lua.create_string(s)?),
            Reply::String(s) => Value::String(lua.create_string(s)?),
        });
    }
    Ok(MultiValue::from_vec(values))
}

enum Reply {
    Bool(bool),
    Nil,
    Str(&'static str),
    String(String),
}

/// Prosody's `true | nil, type, condition`.
fn refusal(r: Result<(), StanzaError>) -> Vec<Reply> {
    match r {
        Ok(()) => vec![Reply::Bool(true)],
        Err(e) => vec![
            Reply::Nil,
            Reply::Str(e.kind.name()),
            Reply::Str(e.condition.name()),
        ],
    }
}

fn apply(
    room: &mut Room,
    action: Action,
    opts: &Options,
    now: f64,
    out: &mut Outbox,
) -> (Vec<Reply>, After) {
    let kept = |r| (r, After::Kept);
    match action {
        Action::Set(name, value) => {
            let changed = set(room, &name, &value);
            if changed && name == "members_only" && room.config.members_only {
                room.remove_non_members(opts, out);
            }
            kept(vec![Reply::Bool(changed)])
        }
        Action::Affiliation {
            actor,
            jid,
            aff,
            reason,
            data,
        } => {
            let r = match aff {
                Some(aff) => room.set_affiliation(
                    actor.as_deref(),
                    &jid,
                    aff,
                    reason.as_deref(),
                    data,
                    opts,
                    out,
                ),
                None => Err(StanzaError::modify(StanzaCondition::NotAcceptable)),
            };
            kept(refusal(r))
        }
        Action::Role {
            actor,
            nick,
            role,
            reason,
        } => {
            let r = match role {
                Some(role) => {
                    room.set_role(actor.as_deref(), &nick, role, reason.as_deref(), opts, out)
                }
                None => Err(StanzaError::modify(StanzaCondition::NotAcceptable)),
            };
            kept(refusal(r))
        }
        Action::Subject(from, text) => {
            room.set_subject(&from, &text, now, out);
            kept(vec![Reply::Bool(true)])
        }
        Action::Save => kept(vec![Reply::Bool(true)]),
        Action::Destroy(newjid, reason, password) => {
            let after = room.destroy_room(newjid, reason, password, now, opts, out);
            (vec![Reply::Bool(true)], after)
        }
        Action::Broadcast(st) => {
            room.broadcast(&st, |_| true, out);
            kept(vec![Reply::Bool(true)])
        }
        Action::History(mut st) => {
            room.history_of_broadcast(&mut st, now, opts);
            // The room's stanza-id, for room_mt.lua to add to the Lua stanza.
            let id = st
                .get_child("stanza-id", super::mam::SID)
                .and_then(|s| s.attr("id"))
                .map(str::to_owned);
            kept(vec![id.map_or(Reply::Nil, Reply::String)])
        }
        Action::ToOccupant(nick, st) => {
            if let Some(occ) = room.occupant(&nick) {
                room.send_to_occupant(occ, &st, out);
            }
            kept(vec![Reply::Bool(true)])
        }
    }
}

fn truthy(v: &Value) -> bool {
    !matches!(v, Value::Nil | Value::Boolean(false))
}

/// Prosody's `set_<name>`: true when the value changed.
fn set(room: &mut Room, name: &str, value: &Value) -> bool {
    let c = &mut room.config;
    let text = || string(Some(value)).filter(|s| !s.is_empty());
    fn swap<T: PartialEq>(slot: &mut T, v: T) -> bool {
        if *slot == v {
            return false;
        }
        *slot = v;
        true
    }
    match name {
        "name" => swap(&mut c.name, text()),
        "description" => swap(&mut c.description, text()),
        "language" => swap(&mut c.language, text()),
        "password" => swap(&mut c.password, text()),
        "members_only" => swap(&mut c.members_only, truthy(value)),
        "allow_member_invites" => swap(&mut c.allow_member_invites, truthy(value)),
        "moderated" => swap(&mut c.moderated, truthy(value)),
        "persistent" => swap(&mut c.persistent, truthy(value)),
        "hidden" => swap(&mut c.hidden, truthy(value)),
        "public" => swap(&mut c.hidden, !truthy(value)),
        "changesubject" => swap(&mut c.changesubject, truthy(value)),
        "whois" => swap(&mut c.whois_anyone, text().as_deref() == Some("anyone")),
        "historylength" => {
            let len = string(Some(value))
                .and_then(|s| s.parse::<f64>().ok())
                .map_or(super::room::DEFAULT_HISTORY_LENGTH, |n| n.max(0.0) as u32);
            let v = (len != super::room::DEFAULT_HISTORY_LENGTH).then_some(len);
            swap(&mut c.history_length, v)
        }
        _ => false,
    }
}

/// Runs `f` on the room `jid` of `host`, routes what it sent and fires the room events it
/// caused; returns `f`'s result and the room as it is afterwards. None: no such room.
pub fn act<R>(
    core: &mut Core,
    host: &str,
    jid: &str,
    f: impl FnOnce(&mut Room, &Options, f64, &mut Outbox) -> (R, After),
) -> Option<(R, Room)> {
    let store = core.shared.store.clone();
    let now = super::now();
    let mut out = Outbox::new();
    let lua_stanzas = super::message_events_hooked(core, host);
    let (r, events) = {
        let service = core.state::<MucState>().services.get_mut(host)?;
        service.lua_stanzas = lua_stanzas;
        let r = service.act(jid, now, &store, &mut out, |room, opts, out| {
            f(room, opts, now, out)
        })?;
        (r, std::mem::take(&mut service.events))
    };
    for item in out.into_items() {
        super::route(core, host, item);
    }
    super::mam::flush(core, host);
    for (room_jid, _) in events
        .iter()
        .filter(|(_, e)| e.name == "muc-room-destroyed")
    {
        super::mam::forget(core, host, room_jid);
    }
    let origin = Origin::Host(host.to_owned());
    for (room_jid, e) in events {
        if core
            .hosts
            .get(host)
            .is_some_and(|h| h.events.has_handlers(e.name))
        {
            super::notify(core, host, &room_jid, &origin, &e);
        }
    }
    let room = core
        .state::<MucState>()
        .services
        .get(host)
        .and_then(|s| s.rooms.get(jid).cloned())
        .unwrap_or_else(|| Room::new(jid));
    Some((r, room))
}
