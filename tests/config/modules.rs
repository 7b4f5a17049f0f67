//! Which modules load on a host (reference §1.5): autoload, global and host lists,
//! `modules_disabled`, the components' inheritable set, providers, and Lilt's saslauth rule.

use std::path::Path;

use lilt::config::Config;

fn load(src: &str) -> Config {
    Config::load_str(Path::new("/virtual/prosody.cfg.lua"), src).expect("config loads")
}

fn has(c: &Config, host: &str, m: &str) -> bool {
    c.modules_for_host(host).contains(m)
}

#[test]
fn autoloaded_modules_load_on_every_virtualhost() {
    let c = load("VirtualHost \"h\"\n");
    for m in [
        "posix",
        "presence",
        "message",
        "iq",
        "offline",
        "c2s",
        "s2s",
        "s2s_auth_certs",
    ] {
        assert!(has(&c, "h", m), "{m}");
    }
}

#[test]
fn host_modules_enabled_adds_to_the_global_list() {
    let c = load("modules_enabled = { \"roster\" }\nVirtualHost \"h\"\nmodules_enabled = { \"ping\" }\nVirtualHost \"g\"\n");
    assert!(has(&c, "h", "roster") && has(&c, "h", "ping"));
    assert!(has(&c, "g", "roster") && !has(&c, "g", "ping"));
}

#[test]
fn modules_disabled_removes_autoloaded_and_enabled_modules() {
    let c = load("modules_enabled = { \"roster\", \"ping\" }\nmodules_disabled = { \"offline\" }\nVirtualHost \"h\"\nmodules_disabled = { \"ping\" }\n");
    assert!(!has(&c, "h", "offline"));
    assert!(!has(&c, "h", "ping"));
    assert!(has(&c, "h", "roster"));
}

#[test]
fn host_modules_enabled_wins_over_global_modules_disabled() {
    let c = load("modules_disabled = { \"offline\" }\nVirtualHost \"h\"\nmodules_enabled = { \"offline\" }\n");
    assert!(has(&c, "h", "offline"));
}

#[test]
fn components_only_inherit_the_inheritable_global_modules() {
    let c = load("modules_enabled = { \"tls\", \"roster\", \"smacks\" }\nComponent \"muc.h\" \"muc\"\nmodules_enabled = { \"ping\" }\n");
    let mods = c.modules_for_host("muc.h");
    let names: Vec<&str> = mods.iter().map(String::as_str).collect();
    assert_eq!(names, vec!["iq", "muc", "ping", "s2s", "smacks", "tls"]);
}

#[test]
fn components_get_no_auth_provider_and_no_saslauth() {
    let c = load("Component \"ext.h\"\n");
    let mods = c.modules_for_host("ext.h");
    assert!(mods.contains("component"));
    assert!(!mods
        .iter()
        .any(|m| m.starts_with("auth_") || m == "saslauth"));
}

#[test]
fn authentication_selects_the_auth_provider_and_null_loads_none() {
    let c = load("VirtualHost \"a\"\nVirtualHost \"b\"\nauthentication = \"anonymous\"\nVirtualHost \"c\"\nauthentication = \"null\"\n");
    assert!(has(&c, "a", "auth_internal_hashed") && has(&c, "a", "authz_internal"));
    assert!(has(&c, "b", "auth_anonymous"));
    assert!(!c
        .modules_for_host("c")
        .iter()
        .any(|m| m.starts_with("auth_")));
}

#[test]
fn vcard_is_dropped_when_vcard_legacy_is_also_enabled() {
    let c = load("modules_enabled = { \"vcard\", \"vcard_legacy\" }\nVirtualHost \"h\"\n");
    assert!(has(&c, "h", "vcard_legacy") && !has(&c, "h", "vcard"));
}

#[test]
fn lilt_loads_saslauth_where_c2s_or_websocket_is_active_and_prosody_does_not() {
    let c = load("modules_enabled = { \"websocket\" }\nVirtualHost \"h\"\n");
    assert!(has(&c, "h", "saslauth"));
    assert!(!c.prosody_modules_for_host("h").contains("saslauth"));
}

#[test]
fn saslauth_is_not_added_when_modules_disabled_names_it() {
    let c = load("modules_disabled = { \"saslauth\" }\nVirtualHost \"h\"\nVirtualHost \"g\"\nmodules_disabled = { \"saslauth\" }\n");
    assert!(!has(&c, "h", "saslauth"));
    assert!(!has(&c, "g", "saslauth"));
}

#[test]
fn an_unknown_host_gets_the_global_set() {
    let c = load("modules_enabled = { \"roster\" }\nVirtualHost \"h\"\n");
    assert!(has(&c, "nowhere.example", "roster"));
}
