//! Stores and accounts for Lua: keyval and archive access through the store seam
//! (`module:open_store`) and `core.usermanager`'s account operations.

use mlua::{Lua, Table, Value};

use super::{rt, with_core};
use crate::lua::convert;

fn opt_user(user: &Option<String>) -> Option<&str> {
    user.as_deref().filter(|u| !u.is_empty())
}

pub(super) fn install_stores(lua: &Lua, n: &Table) -> mlua::Result<()> {
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
                    Err(e) => {
                        // The details (paths, OS errors) are for the log, as in Prosody.
                        tracing::error!("Unable to write to {store} storage: {e}");
                        let text = crate::storage::error::SAVE_FAILED;
                        Ok((false, Value::String(lua.create_string(text)?)))
                    }
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

pub(super) fn install_accounts(lua: &Lua, n: &Table) -> mlua::Result<()> {
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
                let r = c
                    .shared
                    .accounts
                    .delete(&host, &user)
                    .map_err(|e| e.to_string());
                if r.is_ok() {
                    // mod_pep's `user-deleted` handler (native, so it needs no Lua hook).
                    crate::modules::pep::delete_user(c, &host, &user);
                }
                r
            })?
            .map_err(rt)
        })?,
    )?;
    Ok(())
}
