//! Which modules load on a host (reference §1.5): autoloaded modules, global and host
//! `modules_enabled`/`modules_disabled`, the components' inheritable set, and the
//! authentication providers.

use std::collections::BTreeSet;

use super::{Config, Value};

/// Loaded on every host unless `modules_disabled` names them (`posix` is the Linux
/// platform module).
pub const AUTOLOADED: &[&str] = &["posix", "presence", "message", "iq", "offline", "c2s", "s2s", "s2s_auth_certs"];

/// The global modules a Component inherits.
pub const COMPONENT_INHERITABLE: &[&str] =
    &["tls", "saslauth", "dialback", "iq", "s2s", "s2s_bidi", "smacks", "server_contact_info"];

fn list(value: Option<&Value>) -> BTreeSet<String> {
    match value {
        Some(Value::Table(t)) => t.seq().iter().filter_map(Value::to_lua_string).collect(),
        Some(v) => v.to_lua_string().into_iter().collect(),
        None => BTreeSet::new(),
    }
}

/// The global set: (autoload ∪ global modules_enabled) − global modules_disabled.
pub fn global_set(config: &Config) -> BTreeSet<String> {
    let g = config.global();
    let mut set: BTreeSet<String> = AUTOLOADED.iter().map(|s| s.to_string()).collect();
    set.extend(list(g.get_raw("modules_enabled")));
    for m in list(g.get_raw("modules_disabled")) {
        set.remove(&m);
    }
    set
}

/// The modules for `host`. With `lilt_rules`, Lilt's addition applies: `saslauth` (which
/// also does resource binding) loads on a VirtualHost wherever `c2s` or `websocket` is
/// active unless `modules_disabled` names it — without it, nobody could log in.
pub(super) fn for_host(config: &Config, host: &str, lilt_rules: bool) -> BTreeSet<String> {
    let Some(data) = config.section_data(host) else {
        return global_set(config);
    };
    let section = config.host(host);
    let mut set = global_set(config);
    let component = config.component_module(host);
    if let Some(module) = component {
        set.retain(|m| COMPONENT_INHERITABLE.contains(&m.as_str()));
        set.insert(module.to_string());
    }
    set.extend(list(section.get_raw("modules_enabled")));
    let host_disabled = list(section.get_raw("modules_disabled"));
    for m in &host_disabled {
        set.remove(m);
    }
    if set.contains("vcard") && set.contains("vcard_legacy") {
        set.remove("vcard");
    }
    if component.is_none() {
        let authz = section.string("authorization").unwrap_or_else(|| "internal".into());
        set.insert(format!("authz_{authz}"));
        let auth = section.string("authentication").unwrap_or_else(|| "internal_hashed".into());
        if auth != "null" {
            set.insert(format!("auth_{auth}"));
        }
        let global_disabled = list(config.global().get_raw("modules_disabled"));
        let disabled = |m: &str| host_disabled.contains(m) || global_disabled.contains(m);
        if lilt_rules && (set.contains("c2s") || set.contains("websocket")) && !disabled("saslauth") {
            set.insert("saslauth".into());
        }
    }
    let _ = data;
    set
}
