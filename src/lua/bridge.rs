//! The native side of the runtime: the `lilt.native` table the bundled Lua calls to reach
//! the core (hooks, routing, sessions, config, stores, accounts, timers, crypto).
//!
//! Lua callbacks reach `Core` through a pointer set for the duration of each entry into
//! Lua ([`CoreGuard`]); entries nest (a hook that sends a stanza that fires a hook).

use std::cell::Cell;
use std::path::Path;
use std::sync::Arc;

use mlua::{Lua, Table, Value};

use super::{convert, dispatch, loader, sources};
use crate::core::{Bus, Core, Origin};

thread_local! {
    static CORE: Cell<*mut Core> = const { Cell::new(std::ptr::null_mut()) };
}

/// Makes `core` reachable from Lua callbacks until dropped (restoring the outer entry).
pub struct CoreGuard {
    prev: *mut Core,
}

impl CoreGuard {
    pub fn enter(core: &mut Core) -> CoreGuard {
        let prev = CORE.with(|c| c.replace(core as *mut Core));
        CoreGuard { prev }
    }

    /// Whether this is the outermost entry into Lua (no Lua frame below it).
    pub fn is_outermost(&self) -> bool {
        self.prev.is_null()
    }
}

impl Drop for CoreGuard {
    fn drop(&mut self) {
        CORE.with(|c| c.set(self.prev));
    }
}

/// Runs `f` with the core of the current entry into Lua.
pub fn with_core<R>(f: impl FnOnce(&mut Core) -> R) -> mlua::Result<R> {
    let ptr = CORE.with(Cell::get);
    if ptr.is_null() {
        return Err(mlua::Error::runtime("the core is not reachable here"));
    }
    // SAFETY: the pointer was made from a `&mut Core` by `CoreGuard::enter` in a frame
    // that is still on this thread's stack (the guard restores the previous pointer when
    // that frame ends), and that frame does not touch the core while Lua runs. Each
    // callback's borrow ends before it returns to Lua, so no two borrows overlap.
    let core = unsafe { &mut *ptr };
    Ok(f(core))
}

pub fn bus_of(name: &str) -> Bus {
    if name == "*" {
        Bus::Global
    } else {
        Bus::Host(name.to_owned())
    }
}

fn rt(e: impl std::fmt::Display) -> mlua::Error {
    mlua::Error::runtime(e.to_string())
}

/// Creates `lilt.native`, installs the module searcher for bundled libraries and runs
/// `lua/core/init.lua`.
pub fn install(lua: &Lua) -> mlua::Result<()> {
    let n = lua.create_table()?;
    basics(lua, &n)?;
    dispatch::install(lua, &n)?;
    sessions(lua, &n)?;
    config_and_hosts(lua, &n)?;
    stores(lua, &n)?;
    accounts(lua, &n)?;
    crypto(lua, &n)?;
    super::http::install(lua, &n)?;
    let loaded: Table = lua.globals().get::<Table>("package")?.get("loaded")?;
    loaded.set("lilt.native", n)?;
    let init = sources::library("core.init").ok_or_else(|| rt("core.init is missing"))?;
    lua.load(init).set_name("@lilt/core/init.lua").exec()
}

fn basics(lua: &Lua, n: &Table) -> mlua::Result<()> {
    n.set(
        "log",
        lua.create_function(|_, (level, source, msg): (String, String, String)| {
            match level.as_str() {
                "error" => tracing::error!(target: "lua", "{source}: {msg}"),
                "warn" => tracing::warn!(target: "lua", "{source}: {msg}"),
                "info" => tracing::info!(target: "lua", "{source}: {msg}"),
                _ => tracing::debug!(target: "lua", "{source}: {msg}"),
            }
            Ok(())
        })?,
    )?;
    n.set(
        "now",
        lua.create_function(|_, ()| {
            let d = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(rt)?;
            Ok(d.as_secs_f64())
        })?,
    )?;
    n.set(
        "start_time",
        lua.create_function(|_, ()| {
            with_core(|c| {
                c.start_time
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0)
            })
        })?,
    )?;
    n.set(
        "set_internal",
        lua.create_function(|lua, t: Table| lua.set_named_registry_value("lilt.internal", t))?,
    )?;
    n.set(
        "set_stanza_mt",
        lua.create_function(|lua, t: Table| lua.set_named_registry_value("lilt.stanza_mt", t))?,
    )?;
    n.set(
        "prefer_lua",
        lua.create_function(|_, name: String| {
            with_core(|c| super::lua_takes(&c.shared.config, &name))
        })?,
    )?;
    n.set(
        "source",
        lua.create_function(|lua, name: String| match sources::library(&name) {
            Some(src) => Ok(Value::String(lua.create_string(src)?)),
            None => Ok(Value::Nil),
        })?,
    )?;
    n.set(
        "locate_plugin",
        lua.create_function(|_, name: String| {
            let found = with_core(|c| loader::locate(&c.shared.config, &name))?;
            Ok(match found {
                Some(f) => (
                    Some(f.source),
                    Some(f.path),
                    f.dir.map(|d| d.display().to_string()),
                ),
                None => (None, None, None),
            })
        })?,
    )?;
    n.set(
        "locate_lib",
        lua.create_function(|_, (dir, lib): (Option<String>, String)| {
            let found = with_core(|c| {
                loader::locate_lib(&c.shared.config, dir.as_deref().map(Path::new), &lib)
            })?;
            Ok(match found {
                Some(f) => (Some(f.source), Some(f.path)),
                None => (None, None),
            })
        })?,
    )?;
    n.set(
        "timer_add",
        lua.create_function(|_, delay: f64| {
            with_core(|c| {
                c.lua
                    .as_mut()
                    .map(|h| h.timers.add(std::time::Instant::now(), delay))
            })
        })?,
    )?;
    n.set(
        "timer_cancel",
        lua.create_function(|_, id: u64| {
            with_core(|c| {
                if let Some(h) = c.lua.as_mut() {
                    h.timers.cancel(id);
                }
            })
        })?,
    )?;
    n.set(
        "memory",
        lua.create_function(|lua, ()| Ok(super::sandbox::used_memory(lua)))?,
    )?;
    n.set(
        "xml_parse",
        lua.create_function(|lua, text: String| match parse_xml(&text) {
            Ok(el) => Ok((Value::Table(convert::element_to_lua(lua, &el)?), Value::Nil)),
            Err(e) => Ok((Value::Nil, Value::String(lua.create_string(&e)?))),
        })?,
    )?;
    n.set(
        "serialize",
        lua.create_function(|_, t: Table| {
            let el = convert::lua_to_element(&t).map_err(rt)?;
            let mut out = String::new();
            el.write_xml(&mut out, &el.ns);
            Ok(out)
        })?,
    )?;
    Ok(())
}

/// Parses one element (with its children) the way a stream would deliver it.
fn parse_xml(text: &str) -> Result<crate::xml::Element, String> {
    use crate::xml::{Limits, StreamEvent, StreamParser};
    let mut p = StreamParser::new(Limits {
        max_stanza_bytes: 1 << 24,
        max_depth: 500,
        max_child_elements: 100_000,
    });
    let head =
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";
    p.feed(head.as_bytes()).map_err(|e| e.to_string())?;
    p.feed(text.as_bytes()).map_err(|e| e.to_string())?;
    loop {
        match p.next_event().map_err(|e| e.to_string())? {
            Some(StreamEvent::Stanza(el)) => return Ok(el),
            Some(StreamEvent::Open(_)) => continue,
            _ => return Err("incomplete XML".into()),
        }
    }
}

fn sessions(lua: &Lua, n: &Table) -> mlua::Result<()> {
    n.set(
        "session_info",
        lua.create_function(|lua, sid: u64| {
            with_core(|c| -> mlua::Result<Value> {
                let Some(s) = c.sessions.get(&sid) else {
                    return Ok(Value::Nil);
                };
                let t = lua.create_table()?;
                t.set("username", s.username.as_str())?;
                t.set("host", s.host.as_str())?;
                t.set("resource", s.resource.as_str())?;
                t.set("full_jid", s.full_jid.as_str())?;
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
    n.set(
        "session_close",
        lua.create_function(
            |_, (sid, condition, text): (u64, Option<String>, Option<String>)| {
                with_core(|c| {
                    let err = condition
                        .map(|cond| crate::xmpp::error::stream_error(&cond, text.as_deref(), None));
                    c.close_session(sid, err);
                })
            },
        )?,
    )?;
    n.set(
        "full_session",
        lua.create_function(|_, jid: String| with_core(|c| c.full_sessions.get(&jid).copied()))?,
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

fn config_and_hosts(lua: &Lua, n: &Table) -> mlua::Result<()> {
    n.set(
        "config",
        lua.create_function(|lua, (host, key): (String, String)| {
            with_core(|c| {
                let sec = if host == "*" {
                    c.shared.config.global()
                } else {
                    c.shared.config.host(&host)
                };
                match sec.get(&key) {
                    Some(v) => convert::config_to_lua(lua, v),
                    None => Ok(Value::Nil),
                }
            })?
        })?,
    )?;
    n.set(
        "paths",
        lua.create_function(|_, ()| {
            with_core(|c| {
                let cfg = &c.shared.config;
                (
                    cfg.main_file().display().to_string(),
                    cfg.config_dir().display().to_string(),
                    c.shared.store.data_path().display().to_string(),
                )
            })
        })?,
    )?;
    n.set(
        "hosts",
        lua.create_function(|_, ()| {
            with_core(|c| {
                let mut v: Vec<String> = c.hosts.keys().cloned().collect();
                v.sort();
                v
            })
        })?,
    )?;
    n.set(
        "host_modules",
        lua.create_function(|_, host: String| {
            with_core(|c| {
                c.hosts
                    .get(&host)
                    .map(|h| h.modules.iter().cloned().collect::<Vec<_>>())
            })
        })?,
    )?;
    n.set(
        "is_component",
        lua.create_function(|_, host: String| {
            with_core(|c| c.hosts.get(&host).map(|h| h.is_component))
        })?,
    )?;
    n.set(
        "add_feature",
        lua.create_function(|_, (host, var, add): (String, String, bool)| {
            with_core(|c| {
                if let Some(h) = c.hosts.get_mut(&host) {
                    if add {
                        h.features.insert(var);
                    } else {
                        h.features.remove(&var);
                    }
                }
            })
        })?,
    )?;
    n.set(
        "add_identity",
        lua.create_function(
            |_, (host, cat, typ, name): (String, String, String, Option<String>)| {
                with_core(|c| {
                    if let Some(h) = c.hosts.get_mut(&host) {
                        h.identities.push((cat, typ, name.unwrap_or_default()));
                    }
                })
            },
        )?,
    )?;
    n.set(
        "mark_loaded",
        lua.create_function(|_, (host, name, loaded): (String, String, bool)| {
            with_core(|c| {
                if let Some(h) = c.hosts.get_mut(&host) {
                    if loaded {
                        h.modules.insert(name);
                    } else {
                        h.modules.remove(&name);
                    }
                }
            })
        })?,
    )?;
    n.set(
        "load_native",
        lua.create_function(|_, (host, name): (String, String)| {
            let Some(load) = crate::modules::loader(&name) else {
                return Ok(false);
            };
            with_core(|c| {
                load(c, &host);
                if let Some(h) = c.hosts.get_mut(&host) {
                    h.modules.insert(name);
                }
                true
            })
        })?,
    )?;
    n.set(
        "is_core_native",
        lua.create_function(|_, name: String| Ok(loader::is_core_native(&name)))?,
    )?;
    n.set(
        "has_native",
        lua.create_function(|_, name: String| Ok(crate::modules::loader(&name).is_some()))?,
    )?;
    Ok(())
}

fn opt_user(user: &Option<String>) -> Option<&str> {
    user.as_deref().filter(|u| !u.is_empty())
}

fn stores(lua: &Lua, n: &Table) -> mlua::Result<()> {
    n.set(
        "store_get",
        lua.create_function(
            |lua, (host, user, store): (String, Option<String>, String)| {
                let v = with_core(|c| c.shared.store.get(&host, opt_user(&user), &store))?;
                match v {
                    Ok(Some(v)) => Ok((convert::stored_to_lua(lua, &v)?, Value::Nil)),
                    Ok(None) => Ok((Value::Nil, Value::Nil)),
                    Err(e) => Ok((Value::Nil, Value::String(lua.create_string(e.to_string())?))),
                }
            },
        )?,
    )?;
    n.set(
        "store_set",
        lua.create_function(
            |lua, (host, user, store, value): (String, Option<String>, String, Value)| {
                let v = convert::lua_to_stored(&value)?;
                let r =
                    with_core(|c| c.shared.store.set(&host, opt_user(&user), &store, Some(&v)))?;
                match r {
                    Ok(()) => Ok((true, Value::Nil)),
                    Err(e) => Ok((false, Value::String(lua.create_string(e.to_string())?))),
                }
            },
        )?,
    )?;
    n.set(
        "archive_list",
        lua.create_function(
            |lua, (host, user, store): (String, Option<String>, String)| {
                let items =
                    with_core(|c| c.shared.store.archive_list(&host, opt_user(&user), &store))?
                        .map_err(rt)?;
                let t = lua.create_table()?;
                for (i, item) in items.iter().enumerate() {
                    t.raw_set(i + 1, convert::stored_to_lua(lua, item)?)?;
                }
                Ok(t)
            },
        )?,
    )?;
    n.set(
        "archive_append",
        lua.create_function(
            |_, (host, user, store, item): (String, Option<String>, String, Value)| {
                let v = convert::lua_to_stored(&item)?;
                with_core(|c| {
                    c.shared
                        .store
                        .archive_append_item(&host, opt_user(&user), &store, &v)
                })?
                .map_err(rt)
            },
        )?,
    )?;
    n.set(
        "archive_replace",
        lua.create_function(
            |_, (host, user, store, items): (String, Option<String>, String, Vec<Value>)| {
                let items = items
                    .iter()
                    .map(convert::lua_to_stored)
                    .collect::<mlua::Result<Vec<_>>>()?;
                with_core(|c| {
                    c.shared
                        .store
                        .archive_replace(&host, opt_user(&user), &store, &items)
                })?
                .map_err(rt)
            },
        )?,
    )?;
    Ok(())
}

fn accounts(lua: &Lua, n: &Table) -> mlua::Result<()> {
    n.set(
        "user_exists",
        lua.create_function(|_, (host, user): (String, String)| {
            with_core(|c| c.shared.accounts.exists(&host, &user).unwrap_or(false))
        })?,
    )?;
    n.set(
        "test_password",
        lua.create_function(|_, (host, user, pw): (String, String, String)| {
            with_core(|c| {
                c.shared
                    .accounts
                    .test_password(&host, &user, &pw)
                    .unwrap_or(false)
            })
        })?,
    )?;
    n.set(
        "create_user",
        lua.create_function(|_, (host, user, pw): (String, String, String)| {
            with_core(|c| {
                c.shared
                    .accounts
                    .create(&host, &user, &pw)
                    .map_err(|e| e.to_string())
            })?
            .map_err(rt)
        })?,
    )?;
    n.set(
        "set_password",
        lua.create_function(|_, (host, user, pw): (String, String, String)| {
            with_core(|c| {
                c.shared
                    .accounts
                    .set_password(&host, &user, &pw)
                    .map_err(|e| e.to_string())
            })?
            .map_err(rt)
        })?,
    )?;
    n.set(
        "delete_user",
        lua.create_function(|_, (host, user): (String, String)| {
            with_core(|c| {
                c.shared
                    .accounts
                    .delete(&host, &user)
                    .map_err(|e| e.to_string())
            })?
            .map_err(rt)
        })?,
    )?;
    Ok(())
}

fn crypto(lua: &Lua, n: &Table) -> mlua::Result<()> {
    super::crypto::install(lua, n)?;
    type Prep = fn(&str) -> Option<String>;
    let preps: [(&str, Prep); 4] = [
        ("nodeprep", |s| crate::xmpp::jid::nodeprep(s).ok()),
        ("nameprep", |s| crate::xmpp::jid::nameprep(s).ok()),
        ("resourceprep", |s| crate::xmpp::jid::resourceprep(s).ok()),
        ("saslprep", |s| {
            stringprep::saslprep(s).ok().map(|c| c.into_owned())
        }),
    ];
    for (name, f) in preps {
        n.set(name, lua.create_function(move |_, s: String| Ok(f(&s)))?)?;
    }
    Ok(())
}
