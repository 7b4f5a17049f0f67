//! `lilt check config` (reference §1.8 plus Lilt's checks), run through the binary on
//! temporary trees: each check, its message and the exit code (0 clean, 2 problems).

use crate::tree::{lilt, write};

/// A minimal clean config plus `extra`, checked through the binary.
fn check_text(extra: &str) -> (i32, String) {
    let d = tempfile::tempdir().expect("tmp");
    let src = format!(
        "modules_enabled = {{ \"roster\", \"tls\" }}\nadmins = {{ }}\n{extra}\nVirtualHost \"example.com\"\n"
    );
    let main = write(d.path(), "prosody.cfg.lua", &src);
    let (code, out, err) = lilt(
        &["-c", main.to_str().expect("utf8"), "check", "config"],
        d.path(),
    );
    assert!(err.is_empty() || code != 1, "load failed: {err}");
    (code, out)
}

#[test]
fn clean_minimal_config_exits_0() {
    let (code, out) = check_text("");
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("Checking config...\n"));
    assert!(out.contains("Done.\n"));
}

#[test]
fn obsolete_option_is_a_problem_naming_its_replacement() {
    let (code, out) = check_text("cross_domain_websocket = true");
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("\"cross_domain_websocket\" is obsolete"),
        "{out}"
    );
    assert!(out.contains("http_cors_override"), "{out}");
    assert!(out.contains("Problems found, see above."));
}

#[test]
fn deprecated_option_is_a_problem_naming_its_replacement() {
    let (code, out) = check_text("require_encryption = false\nc2s_require_encryption = false");
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(
            "\"require_encryption\" is deprecated; replace it with: c2s_require_encryption"
        ),
        "{out}"
    );
}

#[test]
fn global_only_option_under_a_host_is_a_problem() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(d.path(), "p.cfg.lua", "modules_enabled = { \"tls\" }\nVirtualHost \"example.com\"\nhttp_ports = { 5280 }\nlimits = {}\nhttp_host = \"fine\"\n");
    let (code, out, _) = lilt(
        &["-c", main.to_str().expect("utf8"), "check", "config"],
        d.path(),
    );
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(
            "You have 2 options set under example.com that should be in the global section"
        ),
        "{out}"
    );
    assert!(
        out.contains("http_ports") && out.contains("limits"),
        "{out}"
    );
    assert!(!out.contains("http_host ("), "{out}");
}

#[test]
fn unknown_option_is_a_warning_with_did_you_mean() {
    let (code, out) = check_text("http_prots = { 5280 }\nfoo_unknown = 1");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("Warning:")
            && out.contains("unknown option \"http_prots\" (did you mean \"http_ports\"?)"),
        "{out}"
    );
    assert!(out.contains("unknown option \"foo_unknown\";"), "{out}");
}

#[test]
fn guide_extension_options_are_known_not_unknown() {
    let (code, out) = check_text("websocket_ping_interval = 30\nhttps_redirect = true\nconnection_monitoring = { enabled = true }");
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("unknown option"), "{out}");
    assert!(
        out.contains("\"https_redirect\" is a Lilt extension"),
        "{out}"
    );
}

#[test]
fn modules_enabled_replaced_by_a_later_file_names_both_files_and_lost_modules() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(d.path(), "p.cfg.lua", "modules_enabled = { \"roster\", \"tls\", \"websocket\" }\nInclude \"later.cfg.lua\"\nVirtualHost \"example.com\"\n");
    let later = write(
        d.path(),
        "later.cfg.lua",
        "\nmodules_enabled = { \"websocket\", \"http\" }\n",
    );
    let (code, out, _) = lilt(
        &["-c", main.to_str().expect("utf8"), "check", "config"],
        d.path(),
    );
    let line = out
        .lines()
        .find(|l| l.contains("replaces the list set at"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains(&format!("{}:2", later.display())), "{line}");
    assert!(line.contains(&format!("{}:1", main.display())), "{line}");
    assert!(line.contains("no longer enabled: roster, tls"), "{line}");
    // Losing tls while encryption is required is a real problem.
    assert_eq!(code, 2, "{out}");
}

#[test]
fn no_global_options_is_a_problem() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(
        d.path(),
        "p.cfg.lua",
        "VirtualHost \"example.com\"\nmodules_enabled = { \"tls\" }\n",
    );
    let (code, out, _) = lilt(&["-c", main.to_str().expect("utf8"), "check"], d.path());
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("No global options defined"), "{out}");
    assert!(out.contains("No global modules_enabled is set?"), "{out}");
}

#[test]
fn no_hosts_is_a_problem_not_a_load_error() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(d.path(), "p.cfg.lua", "modules_enabled = { \"tls\" }\n");
    let (code, out, _) = lilt(
        &["-c", main.to_str().expect("utf8"), "check", "config"],
        d.path(),
    );
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("No hosts are defined"), "{out}");
}

#[test]
fn module_names_with_prefixes_are_problems() {
    let (code, out) = check_text("modules_disabled = {}\nVirtualHost \"x.example\"\nmodules_enabled = { \"mod_ping\", \"auth_ldap\", \"storage_sql\" }");
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("without the mod_ prefix: \"ping\""), "{out}");
    assert!(out.contains("authentication = \"ldap\""), "{out}");
    assert!(out.contains("storage = \"sql\""), "{out}");
}

#[test]
fn vcard_and_vcard_legacy_together_are_a_problem() {
    let (code, out) =
        check_text("VirtualHost \"v.example\"\nmodules_enabled = { \"vcard\", \"vcard_legacy\" }");
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("mod_vcard and mod_vcard_legacy are both enabled"),
        "{out}"
    );
}

#[test]
fn encryption_required_without_tls_is_a_problem() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(
        d.path(),
        "p.cfg.lua",
        "modules_enabled = { \"roster\" }\nVirtualHost \"example.com\"\n",
    );
    let (code, out, _) = lilt(
        &["-c", main.to_str().expect("utf8"), "check", "config"],
        d.path(),
    );
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("You require encryption but mod_tls is not enabled"),
        "{out}"
    );
}

#[test]
fn chat_prefixed_host_is_only_a_suggestion() {
    let (code, out) = check_text("VirtualHost \"chat.example.org\"");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("Suggestion:") && out.contains("example.org"),
        "{out}"
    );
}

#[test]
fn duplicate_option_warning_is_shown_but_does_not_fail() {
    let (code, out) = check_text("name = \"a\"\nname = \"b\"");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Duplicate option 'name'"), "{out}");
}

#[test]
fn component_module_also_enabled_globally_is_a_warning() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(d.path(), "p.cfg.lua", "modules_enabled = { \"tls\", \"muc\" }\nVirtualHost \"example.com\"\nComponent \"rooms.example.com\" \"muc\"\n");
    let (_code, out, _) = lilt(
        &["-c", main.to_str().expect("utf8"), "check", "config"],
        d.path(),
    );
    assert!(
        out.contains("mod_muc is used by Component \"rooms.example.com\""),
        "{out}"
    );
}

#[test]
fn cors_override_fields_without_enabled_true_are_a_warning() {
    let (code, out) =
        check_text("http_cors_override = { websocket = { origins = { \"https://a.example\" } } }");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("without enabled = true"), "{out}");
}

#[test]
fn option_with_the_wrong_type_is_a_warning() {
    let (code, out) = check_text(
        "c2s_require_encryption = \"yes\"\nhttp_ports = { 5280 }\nc2s_timeout = \"soon\"",
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("c2s_require_encryption should be true or false"),
        "{out}"
    );
    assert!(out.contains("c2s_timeout should be a duration"), "{out}");
    assert!(!out.contains("http_ports should"), "{out}");
}

#[test]
fn unknown_network_setting_is_a_warning_with_did_you_mean() {
    let (code, out) = check_text("network_settings = { read_timout = 840, send_timeout = 180 }");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("network_settings.read_timout is not a known network setting (did you mean \"read_timeout\"?)"), "{out}");
    assert!(!out.contains("network_settings.send_timeout"), "{out}");
}

#[test]
fn limits_that_mod_limits_cannot_parse_are_warnings() {
    let (code, out) = check_text("limits = { c2s = { rate = \"10kb\", burst = \"50kb\" }, s2sin = { rate = \"30kb/s\" }, wss = { rate = \"1kb/s\" } }");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("limits.c2s.rate = \"10kb\" is not of the form"),
        "{out}"
    );
    assert!(
        out.contains("limits.c2s.burst = \"50kb\" is not a number of seconds"),
        "{out}"
    );
    assert!(!out.contains("limits.s2sin.rate"), "{out}");
    assert!(out.contains("limits.wss names no session type"), "{out}");
}

#[test]
fn trusted_proxy_that_is_not_an_address_is_a_warning() {
    let (code, out) = check_text("trusted_proxies = { \"127.0.0.1\", \"::1\", \"proxy.ip.here\" }");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("trusted_proxies entry \"proxy.ip.here\" is not an IP address"),
        "{out}"
    );
    assert!(!out.contains("entry \"::1\""), "{out}");
}

#[test]
fn network_settings_without_effect_in_lilt_are_named() {
    let (code, out) = check_text(
        "network_settings = { read_timeout = 600, max_wait = 10, keep_buffers = false }\nnetwork_backend = \"epoll\"",
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("network_settings.max_wait has no effect in Lilt"),
        "{out}"
    );
    assert!(
        out.contains("network_settings.keep_buffers has no effect in Lilt"),
        "{out}"
    );
    assert!(
        out.contains("network_backend has no effect in Lilt"),
        "{out}"
    );
    assert!(!out.contains("read_timeout has no effect"), "{out}");
}

#[test]
fn modules_nothing_provides_are_problems_with_what_would_provide_them() {
    let d = tempfile::tempdir().expect("tmp");
    let plugins = d.path().join("plugins");
    write(&plugins, "mod_here.lua", "-- a plugin that exists\n");
    let src = format!(
        "plugin_paths = {{ {:?} }}\nmodules_enabled = {{ \"roster\", \"tls\", \"here\", \"nosuchmod\" }}\n\
         VirtualHost \"example.com\"\n    authentication = \"insecure\"\n\
         Component \"rooms.example.com\" \"nosuchcomponent\"\nComponent \"ext.example.com\"\n",
        plugins.display().to_string()
    );
    let main = write(d.path(), "prosody.cfg.lua", &src);
    let (code, out, _) = lilt(
        &["-c", main.to_str().expect("utf8"), "check", "config"],
        d.path(),
    );
    assert_eq!(code, 2, "{out}");
    let problem = |name: &str| {
        out.lines()
            .find(|l| l.contains(&format!("Problem: Module \"{name}\" is not provided")))
            .unwrap_or_else(|| panic!("{name} reported: {out}"))
            .to_owned()
    };
    let nosuch = problem("nosuchmod");
    assert!(nosuch.contains("prosody.cfg.lua:2"), "{nosuch}");
    assert!(nosuch.contains("put mod_nosuchmod.lua"), "{nosuch}");
    assert!(problem("auth_insecure").contains("authentication = \"insecure\""));
    assert!(problem("nosuchcomponent").contains("for rooms.example.com"));
    assert!(
        out.contains("Warning: Component \"ext.example.com\" is an external component without component_secret"),
        "{out}"
    );
    assert!(
        !out.contains("Module \"here\""),
        "a plugin on plugin_paths is provided: {out}"
    );
    assert!(!out.contains("Module \"roster\""), "{out}");
}
