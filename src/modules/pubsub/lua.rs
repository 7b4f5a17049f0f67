//! The native pubsub services as Lua plugins see them (reference §14.3, §14.4): the
//! table `module:depends("pep")` gives has `get_pep_service(username)`, the one
//! `module:depends("pubsub")` gives on a component has `service`; both are
//! util.pubsub-shaped objects (`publish`, `get_items`, `get_last_item`, `may`, `nodes`,
//! `events`, …) whose methods run on the native engine, so access checks, storage and
//! notifications are the real ones. The engine's events (`node-created`,
//! `item-published` and `item-published/<node>`, `item-retracted`, `node-purged`,
//! `node-deleted`, `subscription-added`, `subscription-removed`) are fired on the
//! object's `events` with Prosody's fields; the VM is entered only for services a
//! plugin has asked for.

use std::collections::HashSet;

use mlua::{Function, Lua, MultiValue, Table, Value as LuaValue};

use super::config::{ConfigMap, Value};
use super::error::PubsubError;
use super::service::{Item, Relations, Service, ServiceEvent, SubOptions, PUBSUB};
use crate::core::Core;
use crate::lua::bridge::{with_core, CoreGuard};
use crate::lua::convert;
use crate::xml::Element;

/// The services (bare JID or component domain) whose Lua objects exist.
#[derive(Default)]
pub struct Watched(HashSet<String>);

const SERVICE_LUA: &str = include_str!("service.lua");

fn lib(lua: &Lua) -> mlua::Result<Table> {
    if let Some(t) = lua.named_registry_value::<Option<Table>>("lilt.pubsub")? {
        return Ok(t);
    }
    let t: Table = lua
        .load(SERVICE_LUA)
        .set_name("@lilt/pubsub_service.lua")
        .eval()?;
    lua.set_named_registry_value("lilt.pubsub", t.clone())?;
    Ok(t)
}

fn key(host: &str, user: Option<&str>) -> String {
    match user {
        Some(u) => format!("{u}@{host}"),
        None => host.to_owned(),
    }
}

/// Adds `pubsub_call`, `pubsub_watch`, `pep_api` and `pubsub_api` to `lilt.native`.
pub fn install(lua: &Lua, native: &Table) -> mlua::Result<()> {
    native.set(
        "pubsub_call",
        lua.create_function(
            |lua, (host, user, method, args): (String, Option<String>, String, MultiValue)| {
                let args: Vec<LuaValue> = args.into_iter().collect();
                with_core(|core| call(lua, core, &host, user.as_deref(), &method, &args))?
            },
        )?,
    )?;
    native.set(
        "pubsub_watch",
        lua.create_function(|_, (host, user): (String, Option<String>)| {
            with_core(|core| {
                core.state::<Watched>()
                    .0
                    .insert(key(&host, user.as_deref()))
            })?;
            Ok(())
        })?,
    )?;
    for (name, ctor) in [("pep_api", "pep_api"), ("pubsub_api", "component_api")] {
        let native_ref = native.clone();
        native.set(
            name,
            lua.create_function(move |lua, host: String| {
                let f: Function = lib(lua)?.get(ctor)?;
                f.call::<Table>((native_ref.clone(), host))
            })?,
        )?;
    }
    Ok(())
}

/// Fires a native service event on its Lua object, if one exists.
pub fn fire(core: &mut Core, host: &str, user: Option<&str>, ev: &ServiceEvent) {
    if !core.state::<Watched>().0.contains(&key(host, user)) {
        return;
    }
    let Some(lua) = core.lua.as_ref().map(|h| h.lua.clone()) else {
        return;
    };
    let guard = CoreGuard::enter(core);
    let run = || -> mlua::Result<()> {
        let data = event_table(&lua, ev)?;
        let f: Function = lib(&lua)?.get("fire")?;
        f.call::<()>((host, user, ev.name(), data))
    };
    let r = run();
    drop(guard);
    crate::lua::flush_filtered(core);
    if let Err(e) = r {
        tracing::error!(target: "lua", "Error firing pubsub {}: {e}", ev.name());
    }
}

fn actor_value(lua: &Lua, actor: &Option<String>) -> mlua::Result<LuaValue> {
    Ok(match actor {
        Some(a) => LuaValue::String(lua.create_string(a)?),
        None => LuaValue::Boolean(true),
    })
}

fn event_table(lua: &Lua, ev: &ServiceEvent) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    match ev {
        ServiceEvent::NodeCreated { node, actor }
        | ServiceEvent::NodeDeleted { node, actor }
        | ServiceEvent::NodePurged { node, actor } => {
            t.set("node", node.as_str())?;
            t.set("actor", actor_value(lua, actor)?)?;
        }
        ServiceEvent::ItemPublished {
            node,
            actor,
            id,
            item,
        } => {
            t.set("node", node.as_str())?;
            t.set("actor", actor_value(lua, actor)?)?;
            t.set("id", id.as_str())?;
            t.set("item", convert::element_to_lua(lua, item)?)?;
        }
        ServiceEvent::ItemRetracted { node, actor, id } => {
            t.set("node", node.as_str())?;
            t.set("actor", actor_value(lua, actor)?)?;
            t.set("id", id.as_str())?;
        }
        ServiceEvent::SubscriptionAdded { node, jid, options } => {
            t.set("node", node.as_str())?;
            t.set("jid", jid.as_str())?;
            t.set("normalized_jid", jid.as_str())?;
            t.set("options", options_value(lua, options)?)?;
        }
        ServiceEvent::SubscriptionRemoved { node, jid } => {
            t.set("node", node.as_str())?;
            t.set("jid", jid.as_str())?;
            t.set("normalized_jid", jid.as_str())?;
        }
    }
    Ok(t)
}

fn config_table(lua: &Lua, c: &ConfigMap) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    for (k, v) in c {
        match v {
            Value::Bool(b) => t.set(k.as_str(), *b)?,
            Value::Int(n) => t.set(k.as_str(), *n)?,
            Value::Str(s) => t.set(k.as_str(), s.as_str())?,
        }
    }
    Ok(t)
}

fn options_value(lua: &Lua, o: &SubOptions) -> mlua::Result<LuaValue> {
    Ok(match o {
        Some(c) => LuaValue::Table(config_table(lua, c)?),
        None => LuaValue::Boolean(true),
    })
}

fn config_of(v: Option<&LuaValue>) -> mlua::Result<Option<ConfigMap>> {
    let Some(LuaValue::Table(t)) = v else {
        return Ok(None);
    };
    let mut c = ConfigMap::new();
    for pair in t.pairs::<String, LuaValue>() {
        let (k, v) = pair?;
        let v = match v {
            LuaValue::Boolean(b) => Value::Bool(b),
            LuaValue::Integer(n) => Value::Int(n),
            LuaValue::Number(n) => Value::Int(n as i64),
            LuaValue::String(s) => Value::Str(s.to_str()?.to_owned()),
            _ => continue,
        };
        c.insert(k, v);
    }
    Ok(Some(c))
}

fn str_arg(args: &[LuaValue], i: usize) -> mlua::Result<Option<String>> {
    Ok(match args.get(i) {
        Some(LuaValue::String(s)) => Some(s.to_str()?.to_owned()),
        Some(LuaValue::Integer(n)) => Some(n.to_string()),
        _ => None,
    })
}

/// Prosody's actor: `true` is the server (no checks), a string a JID; anything else
/// acts as nobody in particular.
fn actor_arg(args: &[LuaValue], i: usize) -> mlua::Result<Option<String>> {
    Ok(match args.get(i) {
        Some(LuaValue::Boolean(true)) => None,
        Some(LuaValue::String(s)) => Some(s.to_str()?.to_owned()),
        _ => Some(String::new()),
    })
}

fn item_element(v: Option<&LuaValue>) -> mlua::Result<Option<Element>> {
    match v {
        Some(LuaValue::Table(t)) => convert::lua_to_element(t)
            .map(Some)
            .map_err(|e| mlua::Error::runtime(e.to_string())),
        _ => Ok(None),
    }
}

/// `<item>` elements as util.pubsub's `get_items` gives them: ids in order, then each
/// id mapped to its stanza.
fn items_table(lua: &Lua, items: &[Item], expose: bool) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    for (i, item) in items.iter().enumerate() {
        t.raw_set(i + 1, item.id.as_str())?;
        t.raw_set(
            item.id.as_str(),
            convert::element_to_lua(lua, &item.element(expose))?,
        )?;
    }
    Ok(t)
}

fn nodes_table(lua: &Lua, s: &Service) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    for (name, n) in &s.nodes {
        let node = lua.create_table()?;
        node.set("name", name.as_str())?;
        node.set("config", config_table(lua, &s.effective(&n.config))?)?;
        let subs = lua.create_table()?;
        for (jid, o) in &n.subscribers {
            subs.set(jid.as_str(), options_value(lua, o)?)?;
        }
        node.set("subscribers", subs)?;
        let affs = lua.create_table()?;
        for (jid, a) in &n.affiliations {
            affs.set(jid.as_str(), a.as_str())?;
        }
        node.set("affiliations", affs)?;
        t.set(name.as_str(), node)?;
    }
    Ok(t)
}

type Answer = mlua::Result<MultiValue>;

fn answer(lua: &Lua, r: Result<Vec<LuaValue>, PubsubError>) -> Answer {
    match r {
        Ok(mut v) => {
            v.insert(0, LuaValue::Boolean(true));
            Ok(v.into_iter().collect())
        }
        Err(e) => {
            // service.lua turns a precondition failure into util.error's object.
            let (cond, field) = match &e {
                PubsubError::PreconditionNotMet(f) => ("precondition-not-met".to_owned(), Some(f)),
                PubsubError::Other(e) => (e.condition.name().to_owned(), None),
                other => (other.to_string(), None),
            };
            let mut v = vec![
                LuaValue::Boolean(false),
                LuaValue::String(lua.create_string(&cond)?),
            ];
            if let Some(f) = field {
                v.push(LuaValue::String(lua.create_string(f)?));
            }
            Ok(v.into_iter().collect())
        }
    }
}

fn call(
    lua: &Lua,
    core: &mut Core,
    host: &str,
    user: Option<&str>,
    method: &str,
    args: &[LuaValue],
) -> Answer {
    match user {
        Some(u) => {
            crate::modules::pep::with_service(core, host, u, |s, rel| op(lua, s, rel, method, args))
        }
        None => {
            let done = super::component::with_service(core, host, |s| {
                op(lua, s, &super::service::NoRelations, method, args)
            });
            let Some((r, before, after)) = done else {
                return Err(mlua::Error::runtime(format!("no pubsub service on {host}")));
            };
            super::component::send_all(core, host, before);
            super::component::send_all(core, host, after);
            r
        }
    }
}

fn op(lua: &Lua, s: &mut Service, rel: &dyn Relations, method: &str, args: &[LuaValue]) -> Answer {
    let node = str_arg(args, 0)?.unwrap_or_default();
    let actor = actor_arg(args, 1)?;
    let a = actor.as_deref();
    let expose = s.config.expose_publisher;
    let r: Result<Vec<LuaValue>, PubsubError> = match method {
        "create" => s
            .create(&node, a, config_of(args.get(2))?, rel)
            .map(|_| vec![]),
        "delete" => s.delete(&node, a, rel).map(|_| vec![]),
        "publish" => {
            let id = str_arg(args, 2)?.unwrap_or_else(super::notify::new_id);
            let item = item_element(args.get(3))?;
            let required = config_of(args.get(4))?;
            s.publish(&node, a, &id, item.as_ref(), required, rel)
                .map(|_| vec![])
        }
        "retract" => {
            let id = str_arg(args, 2)?.unwrap_or_default();
            let notify = match args.get(3) {
                Some(LuaValue::Table(_)) => item_element(args.get(3))?,
                Some(LuaValue::Boolean(true)) => {
                    Some(Element::new("retract", PUBSUB).with_attr("id", id.as_str()))
                }
                _ => None,
            };
            s.retract(&node, a, &id, notify, rel).map(|_| vec![])
        }
        "purge" => {
            let notify = matches!(args.get(2), Some(v) if !matches!(v, LuaValue::Nil | LuaValue::Boolean(false)));
            s.purge(&node, a, notify, rel).map(|_| vec![])
        }
        "get_items" => {
            let ids = match args.get(2) {
                Some(LuaValue::String(id)) => Some(vec![id.to_str()?.to_owned()]),
                Some(LuaValue::Table(t)) => Some(
                    t.sequence_values::<String>()
                        .collect::<mlua::Result<Vec<_>>>()?,
                ),
                _ => None,
            };
            let max = match args.get(3) {
                Some(LuaValue::Table(t)) => t.get::<Option<usize>>("max")?,
                _ => None,
            };
            match s.get_items(&node, a, ids.as_deref(), max, rel) {
                Ok(items) => Ok(vec![LuaValue::Table(items_table(lua, &items, expose)?)]),
                Err(e) => Err(e),
            }
        }
        "get_last_item" => match s.get_last_item(&node, a, rel) {
            Ok(Some(item)) => Ok(vec![
                LuaValue::String(lua.create_string(&item.id)?),
                LuaValue::Table(convert::element_to_lua(lua, &item.element(expose))?),
            ]),
            Ok(None) => Ok(vec![]),
            Err(e) => Err(e),
        },
        "add_subscription" => {
            let jid = str_arg(args, 2)?.unwrap_or_default();
            let options = config_of(args.get(3))?;
            s.add_subscription(&node, a, &jid, options, rel)
                .map(|_| vec![])
        }
        "remove_subscription" => {
            let jid = str_arg(args, 2)?.unwrap_or_default();
            s.remove_subscription(&node, a, &jid, rel).map(|_| vec![])
        }
        "get_subscription" => {
            let jid = str_arg(args, 2)?.unwrap_or_default();
            match s.get_subscription(&node, a, &jid, rel) {
                Ok(Some(o)) => Ok(vec![options_value(lua, &o)?]),
                Ok(None) => Ok(vec![]),
                Err(e) => Err(e),
            }
        }
        "get_subscriptions" => {
            let n = str_arg(args, 0)?;
            let jid = str_arg(args, 2)?;
            match s.get_subscriptions(n.as_deref(), a, jid.as_deref(), rel) {
                Ok(list) => {
                    let t = lua.create_table()?;
                    for (i, (n, j)) in list.iter().enumerate() {
                        let e = lua.create_table()?;
                        e.set("node", n.as_str())?;
                        e.set("jid", j.as_str())?;
                        let o = s
                            .nodes
                            .get(n)
                            .and_then(|x| x.subscribers.get(j))
                            .cloned()
                            .flatten();
                        e.set("subscription", options_value(lua, &o)?)?;
                        t.raw_set(i + 1, e)?;
                    }
                    Ok(vec![LuaValue::Table(t)])
                }
                Err(e) => Err(e),
            }
        }
        "set_affiliation" => {
            let jid = str_arg(args, 2)?.unwrap_or_default();
            let aff = str_arg(args, 3)?;
            s.set_affiliation(&node, a, &jid, aff.as_deref(), rel)
                .map(|_| vec![])
        }
        "get_node_config" => match s.get_node_config(&node, a, rel) {
            Ok(c) => Ok(vec![LuaValue::Table(config_table(lua, &c)?)]),
            Err(e) => Err(e),
        },
        "set_node_config" => {
            let new = config_of(args.get(2))?.unwrap_or_default();
            s.set_node_config(&node, a, new, rel).map(|_| vec![])
        }
        "get_nodes" => match s.get_nodes(a, rel) {
            Ok(_) => Ok(vec![LuaValue::Table(nodes_table(lua, s)?)]),
            Err(e) => Err(e),
        },
        // Plain reads without an actor: (jid, node) as util.pubsub orders them.
        "get_affiliation" => {
            let jid = str_arg(args, 0)?.unwrap_or_default();
            let n = str_arg(args, 1)?;
            let aff = s.affiliation(n.as_deref(), &jid, rel);
            return Ok([LuaValue::String(lua.create_string(&aff)?)]
                .into_iter()
                .collect());
        }
        "may" => {
            let action = str_arg(args, 2)?.unwrap_or_default();
            let n = str_arg(args, 0)?;
            let ok = s.may(n.as_deref(), a, &action, rel);
            return Ok([LuaValue::Boolean(ok)].into_iter().collect());
        }
        "nodes" => {
            return Ok([LuaValue::Table(nodes_table(lua, s)?)]
                .into_iter()
                .collect())
        }
        "jid" => {
            return Ok([LuaValue::String(lua.create_string(&s.config.jid)?)]
                .into_iter()
                .collect())
        }
        other => {
            return Err(mlua::Error::runtime(format!(
                "pubsub service has no method {other}"
            )))
        }
    };
    answer(lua, r)
}
