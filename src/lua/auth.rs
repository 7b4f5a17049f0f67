//! Lua authentication providers (`authentication = "ldap"` -> `mod_auth_ldap` from
//! `plugin_paths`, reference §20.3): the c2s streams check passwords against the
//! provider's `test_password` on the core thread. Such hosts offer PLAIN only: a Lua
//! provider keeps no SCRAM keys Lilt could use (Prosody's mod_auth_ldap does the same).

use std::sync::Arc;

use mlua::{Function, Value};

use super::bridge::CoreGuard;
use super::{sandbox, LuaHost};
use crate::config::Config;
use crate::core::{Core, Shared};

/// Providers Lilt implements natively (its account files hold hashed or plain passwords,
/// as Prosody's internal_hashed and internal_plain write them).
const NATIVE: &[&str] = &["internal_hashed", "internal_plain"];

/// The host's authentication provider when it is a Lua module (`auth_<name>`).
pub fn lua_provider(config: &Config, host: &str) -> Option<String> {
    let name = config.host(host).string("authentication")?;
    (!NATIVE.contains(&name.as_str()) && name != "null").then_some(name)
}

/// SASL mechanisms a Lua-provider host does not offer (they need stored SCRAM keys).
pub const SCRAM_MECHANISMS: &[&str] = &[
    "SCRAM-SHA-1",
    "SCRAM-SHA-1-PLUS",
    "SCRAM-SHA-256",
    "SCRAM-SHA-256-PLUS",
];

/// Calls `method` of the host's provider with `args` (on the core thread); `None` when
/// no Lua provider is loaded or it failed.
pub fn call(core: &mut Core, host: &str, method: &str, args: Vec<String>) -> Option<Value> {
    let lua = core.lua.as_ref().map(|h| h.lua.clone())?;
    let guard = CoreGuard::enter(core);
    if guard.is_outermost() {
        sandbox::reset_budget(&lua);
    }
    let r = LuaHost::internal(&lua)
        .and_then(|i| i.get::<Function>("auth_call"))
        .and_then(|f| {
            let mut a = mlua::MultiValue::new();
            a.push_back(Value::String(lua.create_string(host)?));
            a.push_back(Value::String(lua.create_string(method)?));
            for s in &args {
                a.push_back(Value::String(lua.create_string(s)?));
            }
            f.call::<Value>(a)
        });
    drop(guard);
    match r {
        Ok(Value::Nil) => None,
        Ok(v) => Some(v),
        Err(e) => {
            tracing::error!(target: "lua", "Auth provider of {host} failed in {method}: {e}");
            None
        }
    }
}

/// A PLAIN login on a Lua-provider host, from a connection task.
pub async fn verify_plain(
    shared: &Arc<Shared>,
    host: &str,
    username: String,
    password: String,
) -> bool {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let host = host.to_owned();
    super::events::notify(shared, move |core| {
        let ok = call(core, &host, "test_password", vec![username, password]);
        let _ = tx.send(matches!(ok, Some(Value::Boolean(true))));
    });
    rx.await.unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::lua_provider;

    fn config(auth: &str) -> crate::config::Config {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("prosody.cfg.lua");
        std::fs::write(&path, format!("{auth}\nVirtualHost \"h.test\"\n")).expect("write");
        crate::config::Config::load(&path).expect("config")
    }

    #[test]
    fn only_non_native_providers_are_lua() {
        assert_eq!(lua_provider(&config(""), "h.test"), None);
        assert_eq!(
            lua_provider(&config("authentication = \"internal_plain\""), "h.test"),
            None
        );
        assert_eq!(
            lua_provider(&config("authentication = \"ldap\""), "h.test").as_deref(),
            Some("ldap")
        );
    }
}
