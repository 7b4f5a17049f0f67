//! `modules_disabled` for every native module, by Prosody's rules (reference §1.5): the
//! global list removes a module from every host (autoloaded ones included) even when the
//! global `modules_enabled` names it; a host's list removes it there only; a Component
//! keeps only the inheritable global modules and drops its own disabled ones.

use super::*;

fn config(text: &str) -> Config {
    let path = std::path::Path::new("/nonexistent/prosody.cfg.lua");
    Config::load_str(path, text).expect("config parses")
}

fn check(module: &str) {
    // Disabled globally while the global list enables it.
    let global = config(&format!(
        "modules_enabled = {{ \"{module}\" }}\nmodules_disabled = {{ \"{module}\" }}\n\
         VirtualHost \"a.test\"\nVirtualHost \"b.test\"\n"
    ));
    for host in ["a.test", "b.test"] {
        assert!(
            !host_modules(&global, host).contains(module),
            "{module} disabled globally still loads on {host}"
        );
    }
    assert!(!globally_enabled(&global, module), "{module} globally");
    // Disabled on one host only.
    let per_host = config(&format!(
        "modules_enabled = {{ \"{module}\" }}\n\
         VirtualHost \"a.test\"\nmodules_disabled = {{ \"{module}\" }}\nVirtualHost \"b.test\"\n"
    ));
    assert!(
        !host_modules(&per_host, "a.test").contains(module),
        "{module} disabled on a.test still loads there"
    );
    assert!(
        host_modules(&per_host, "b.test").contains(module),
        "{module} enabled globally is missing on b.test"
    );
    // A component: disabled there, it does not load even if inheritable.
    let component = config(&format!(
        "modules_enabled = {{ \"{module}\" }}\nVirtualHost \"a.test\"\n\
         Component \"c.a.test\" \"muc\"\nmodules_disabled = {{ \"{module}\" }}\n"
    ));
    assert!(
        !component_modules(&component, "c.a.test").contains(module),
        "{module} disabled on a component still loads there"
    );
}

macro_rules! disabled_tests {
    ($($name:ident => $module:literal),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check($module);
            }
        )*

        /// Every native module is covered (a new one must be added above): the list
        /// below and every name the core's module loader knows.
        #[test]
        fn every_native_module_has_a_modules_disabled_test() {
            let covered = [$($module),*];
            let loader_names = include_str!("../modules/mod.rs")
                .lines()
                .filter(|l| l.contains("::load"))
                .filter_map(|l| l.trim().strip_prefix('"')?.split('"').next());
            for m in NATIVE_MODULES.iter().copied().chain(loader_names) {
                assert!(covered.contains(&m), "no modules_disabled test for {m}");
            }
        }
    };
}

/// Modules with a native implementation: those with a loader on the core, and those the
/// listeners and the limits read (transports, metrics, admin socket, files).
const NATIVE_MODULES: &[&str] = &[
    "iq",
    "message",
    "presence",
    "saslauth",
    "disco",
    "ping",
    "version",
    "time",
    "uptime",
    "lastactivity",
    "vcard",
    "vcard_legacy",
    "private",
    "csi",
    "csi_simple",
    "smacks",
    "server_contact_info",
    "register",
    "roster",
    "offline",
    "carbons",
    "blocklist",
    "c2s",
    "websocket",
    "tls",
    "limits",
    "http_openmetrics",
    "http_files",
    "admin_shell",
    "admin_socket",
];

disabled_tests! {
    iq_honours_modules_disabled => "iq",
    message_honours_modules_disabled => "message",
    presence_honours_modules_disabled => "presence",
    saslauth_honours_modules_disabled => "saslauth",
    disco_honours_modules_disabled => "disco",
    ping_honours_modules_disabled => "ping",
    version_honours_modules_disabled => "version",
    time_honours_modules_disabled => "time",
    uptime_honours_modules_disabled => "uptime",
    lastactivity_honours_modules_disabled => "lastactivity",
    vcard_honours_modules_disabled => "vcard",
    vcard_legacy_honours_modules_disabled => "vcard_legacy",
    private_honours_modules_disabled => "private",
    csi_honours_modules_disabled => "csi",
    csi_simple_honours_modules_disabled => "csi_simple",
    smacks_honours_modules_disabled => "smacks",
    server_contact_info_honours_modules_disabled => "server_contact_info",
    register_honours_modules_disabled => "register",
    roster_honours_modules_disabled => "roster",
    offline_honours_modules_disabled => "offline",
    carbons_honours_modules_disabled => "carbons",
    blocklist_honours_modules_disabled => "blocklist",
    mam_honours_modules_disabled => "mam",
    component_honours_modules_disabled => "component",
    muc_honours_modules_disabled => "muc",
    muc_mam_honours_modules_disabled => "muc_mam",
    pep_honours_modules_disabled => "pep",
    bookmarks_honours_modules_disabled => "bookmarks",
    vcard4_honours_modules_disabled => "vcard4",
    pubsub_honours_modules_disabled => "pubsub",
    c2s_honours_modules_disabled => "c2s",
    websocket_honours_modules_disabled => "websocket",
    tls_honours_modules_disabled => "tls",
    limits_honours_modules_disabled => "limits",
    http_openmetrics_honours_modules_disabled => "http_openmetrics",
    http_files_honours_modules_disabled => "http_files",
    http_file_share_honours_modules_disabled => "http_file_share",
    admin_shell_honours_modules_disabled => "admin_shell",
    admin_socket_honours_modules_disabled => "admin_socket",
}

#[test]
fn limits_disabled_globally_is_off_even_when_the_global_list_enables_it() {
    // The guide's bench config: a later file's modules_disabled cancels limits.
    let c = config(
        "modules_enabled = { \"limits\" }\nmodules_disabled = { \"limits\" }\n\
         limits = { c2s = { rate = \"10kb/s\" } }\nVirtualHost \"a.test\"\n",
    );
    assert!(limits_config(&c).is_none());
    let on = config(
        "modules_enabled = { \"limits\" }\nlimits = { c2s = { rate = \"10kb/s\" } }\n\
         VirtualHost \"a.test\"\n",
    );
    assert!(limits_config(&on).is_some());
}

#[test]
fn the_admin_socket_is_off_when_disabled_globally() {
    let c = config(
        "modules_enabled = { \"admin_shell\" }\nmodules_disabled = { \"admin_shell\" }\n\
         VirtualHost \"a.test\"\n",
    );
    assert!(!crate::modules::admin_shell::enabled(&c));
}
