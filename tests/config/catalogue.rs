//! The option catalogue: it holds every option the reference and the guide name, and the
//! docs show exactly the catalogue. `LILT_BLESS=1 cargo test --test config catalogue::`
//! rewrites the docs section after a catalogue change.

use std::path::Path;

use lilt::config::catalogue::{self, Scope, Status};

const BEGIN: &str = "<!-- catalogue:begin (generated from src/config/catalogue; see tests/config_catalogue.rs) -->\n";
const END: &str = "<!-- catalogue:end -->\n";

#[test]
fn every_option_the_guide_names_is_known() {
    let guide = [
        "modules_enabled",
        "http_paths",
        "network_settings",
        "trusted_proxies",
        "consider_websocket_secure",
        "http_cors_override",
        "websocket_config",
        "websocket_frame_buffer_limit",
        "websocket_frame_fragment_limit",
        "websocket_max_frame_size",
        "websocket_ping_interval",
        "websocket_pong_timeout",
        "websocket_close_timeout",
        "websocket_origin_check",
        "allowed_origins",
        "websocket_get_response_text",
        "websocket_get_response_body",
        "log",
        "connection_pooling",
        "https_redirect",
        "limits",
        "connection_monitoring",
        "http_ports",
        "https_ports",
        "http_host",
        "http_external_url",
    ];
    for name in guide {
        assert!(
            catalogue::lookup(name).is_some(),
            "{name} missing from the catalogue"
        );
    }
}

#[test]
fn guide_options_missing_from_prosody_are_extensions() {
    for name in [
        "websocket_config",
        "websocket_max_frame_size",
        "websocket_ping_interval",
        "websocket_pong_timeout",
        "websocket_close_timeout",
        "websocket_origin_check",
        "allowed_origins",
        "connection_pooling",
        "connection_monitoring",
        "https_redirect",
    ] {
        assert_eq!(
            catalogue::lookup(name).map(|o| o.status),
            Some(Status::Extension),
            "{name}"
        );
    }
}

#[test]
fn global_only_options_of_prosodyctl_check_are_global() {
    for name in [
        "c2s_close_timeout",
        "c2s_stanza_size_limit",
        "c2s_tcp_keepalives",
        "c2s_timeout",
        "consider_bosh_secure",
        "consider_websocket_secure",
        "http_default_host",
        "http_max_buffer_size",
        "http_max_content_size",
        "limits",
        "limits_resolution",
        "log",
        "network_backend",
        "network_default_read_size",
        "network_settings",
        "plugin_paths",
        "pidfile",
        "tls_profile",
        "trusted_proxies",
        "use_ipv4",
        "use_ipv6",
        "websocket_frame_buffer_limit",
        "websocket_frame_fragment_limit",
        "websocket_get_response_text",
        "websocket_get_response_body",
        "admin_socket",
        "access_control_allow_methods",
        "http_errors_detailed",
    ] {
        assert_eq!(
            catalogue::lookup(name).map(|o| o.scope),
            Some(Scope::Global),
            "{name}"
        );
        assert!(catalogue::is_global_only(name), "{name}");
    }
}

#[test]
fn obsolete_and_deprecated_options_name_a_replacement() {
    for name in [
        "archive_cleanup_interval",
        "cross_domain_bosh",
        "cross_domain_websocket",
        "dns_timeout",
        "muc_log_cleanup_interval",
        "s2s_dns_resolvers",
        "setgid",
        "setuid",
    ] {
        assert!(
            matches!(catalogue::lookup(name).map(|o| o.status), Some(Status::Obsolete(r)) if !r.is_empty()),
            "{name}"
        );
    }
    for name in [
        "anonymous_login",
        "daemonize",
        "disallow_s2s",
        "no_daemonize",
        "require_encryption",
        "vcard_compatibility",
        "use_libevent",
        "whitelist_registration_only",
        "registration_whitelist",
        "registration_blacklist",
        "blacklist_on_registration_throttle_overload",
        "bosh_ports",
        "legacy_ssl_ports",
    ] {
        assert!(
            matches!(catalogue::lookup(name).map(|o| o.status), Some(Status::Deprecated(r)) if !r.is_empty()),
            "{name}"
        );
    }
}

#[test]
fn docs_show_exactly_the_catalogue() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/config.md");
    let doc = std::fs::read_to_string(&path).expect("docs/config.md");
    let table = catalogue::markdown_table();
    let section = format!("{BEGIN}{table}{END}");
    let current = match (doc.find(BEGIN), doc.find(END)) {
        (Some(b), Some(e)) => Some(&doc[b..e + END.len()]),
        _ => None,
    };
    if current == Some(section.as_str()) {
        return;
    }
    if std::env::var_os("LILT_BLESS").is_some() {
        let updated = match current {
            Some(old) => doc.replace(old, &section),
            None => format!("{doc}\n## Option catalogue\n\n{section}"),
        };
        std::fs::write(&path, updated).expect("write docs");
        return;
    }
    panic!("docs/config.md's option catalogue is out of date; run LILT_BLESS=1 cargo test --test config catalogue::");
}
