//! `lilt check config` (reference §1.8 plus Lilt's checks) and `--json`, run through the
//! binary on temporary trees and on the bundled guide tree.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use lilt::config::check::{check, Severity};
use lilt::config::Config;

fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    fs::write(&p, text).expect("write");
    p
}

fn lilt(args: &[&str], cwd: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lilt"))
        .args(args)
        .current_dir(cwd)
        .env_remove("LILT_CONFIG")
        .env_remove("PROSODY_CONFIG")
        .output()
        .expect("run lilt");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A minimal clean config plus `extra`, checked through the binary.
fn check_text(extra: &str) -> (i32, String) {
    let d = tempfile::tempdir().expect("tmp");
    let src = format!(
        "modules_enabled = {{ \"roster\", \"tls\" }}\nadmins = {{ }}\n{extra}\nVirtualHost \"example.com\"\n"
    );
    let main = write(d.path(), "prosody.cfg.lua", &src);
    let (code, out, err) = lilt(&["-c", main.to_str().expect("utf8"), "check", "config"], d.path());
    assert!(err.is_empty() || code != 1, "load failed: {err}");
    (code, out)
}

fn bundled() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/prosody.cfg.lua")
}

#[test]
fn bundled_guide_tree_checks_clean_and_lists_files_in_load_order() {
    let (code, out, err) = lilt(&["-c", bundled().to_str().expect("utf8"), "check", "config"], Path::new(env!("CARGO_MANIFEST_DIR")));
    assert_eq!(code, 0, "{out}{err}");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let expected = [
        "prosody.cfg.lua",
        "stack/01-transport/connections.cfg.lua",
        "stack/07-interfaces/http.cfg.lua",
        "stack/07-interfaces/websocket.cfg.lua",
        "domains/primary/domain.cfg.lua",
        "domains/secondary/domain.cfg.lua",
    ];
    let listed: Vec<&str> = out.lines().map(str::trim).filter(|l| l.ends_with(".lua")).collect();
    let expected: Vec<String> = expected.iter().map(|f| dir.join(f).display().to_string()).collect();
    assert_eq!(listed, expected);
    assert!(out.contains("All checks passed, congratulations!"));
    assert!(!out.contains("Problem:"), "{out}");
    assert!(!out.contains("unknown option"), "guide options must be known: {out}");
}

#[test]
fn bundled_guide_tree_resolves_the_guide_options() {
    let c = Config::load(&bundled()).expect("bundled tree loads");
    assert_eq!(c.virtual_hosts(), vec!["localhost", "example.localhost"]);
    let g = c.global();
    assert_eq!(g.get("network_settings").and_then(|v| v.as_table()).and_then(|t| t.get("read_timeout")).and_then(|v| v.as_f64()), Some(840.0));
    assert_eq!(g.set("modules_enabled").into_iter().collect::<Vec<_>>(), vec!["http", "limits", "websocket"]);
    assert_eq!(g.integer("websocket_max_frame_size"), Some(1024 * 1024), "read through websocket_config");
    assert_eq!(g.integer("websocket_close_timeout"), Some(5));
    assert_eq!(g.integer("websocket_ping_interval"), Some(30));
    assert_eq!(g.boolean("consider_websocket_secure"), Some(true));
    assert_eq!(c.host("localhost").string("http_host").as_deref(), Some("localhost"));
    assert_eq!(c.host("example.localhost").string("http_external_url").as_deref(), Some("http://example.localhost:5280/"));
    assert_eq!(g.strings("http_ports"), vec!["5280"]);
    let mods = c.modules_for_host("localhost");
    assert!(mods.contains("websocket") && mods.contains("saslauth") && mods.contains("c2s"));
}

#[test]
fn bundled_tree_notes_that_prosody_would_not_load_saslauth() {
    let c = Config::load(&bundled()).expect("loads");
    let report = check(&c);
    assert!(!report.has_problems());
    assert!(report.of(Severity::Note).any(|n| n.contains("Prosody would not load saslauth")));
    assert!(report.of(Severity::Note).any(|n| n.contains("websocket_config entries are read as flat options")));
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
    assert!(out.contains("\"cross_domain_websocket\" is obsolete"), "{out}");
    assert!(out.contains("http_cors_override"), "{out}");
    assert!(out.contains("Problems found, see above."));
}

#[test]
fn deprecated_option_is_a_problem_naming_its_replacement() {
    let (code, out) = check_text("require_encryption = false\nc2s_require_encryption = false");
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("\"require_encryption\" is deprecated; replace it with: c2s_require_encryption"), "{out}");
}

#[test]
fn global_only_option_under_a_host_is_a_problem() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(d.path(), "p.cfg.lua", "modules_enabled = { \"tls\" }\nVirtualHost \"example.com\"\nhttp_ports = { 5280 }\nlimits = {}\nhttp_host = \"fine\"\n");
    let (code, out, _) = lilt(&["-c", main.to_str().expect("utf8"), "check", "config"], d.path());
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("You have 2 options set under example.com that should be in the global section"), "{out}");
    assert!(out.contains("http_ports") && out.contains("limits"), "{out}");
    assert!(!out.contains("http_host ("), "{out}");
}

#[test]
fn unknown_option_is_a_warning_with_did_you_mean() {
    let (code, out) = check_text("http_prots = { 5280 }\nfoo_unknown = 1");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Warning:") && out.contains("unknown option \"http_prots\" (did you mean \"http_ports\"?)"), "{out}");
    assert!(out.contains("unknown option \"foo_unknown\";"), "{out}");
}

#[test]
fn guide_extension_options_are_known_not_unknown() {
    let (code, out) = check_text("websocket_ping_interval = 30\nhttps_redirect = true\nconnection_monitoring = { enabled = true }");
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("unknown option"), "{out}");
    assert!(out.contains("\"https_redirect\" is a Lilt extension"), "{out}");
}

#[test]
fn modules_enabled_replaced_by_a_later_file_names_both_files_and_lost_modules() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(d.path(), "p.cfg.lua", "modules_enabled = { \"roster\", \"tls\", \"websocket\" }\nInclude \"later.cfg.lua\"\nVirtualHost \"example.com\"\n");
    let later = write(d.path(), "later.cfg.lua", "\nmodules_enabled = { \"websocket\", \"http\" }\n");
    let (code, out, _) = lilt(&["-c", main.to_str().expect("utf8"), "check", "config"], d.path());
    let line = out.lines().find(|l| l.contains("replaces the list set at")).unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains(&format!("{}:2", later.display())), "{line}");
    assert!(line.contains(&format!("{}:1", main.display())), "{line}");
    assert!(line.contains("no longer enabled: roster, tls"), "{line}");
    // Losing tls while encryption is required is a real problem.
    assert_eq!(code, 2, "{out}");
}

#[test]
fn no_global_options_is_a_problem() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(d.path(), "p.cfg.lua", "VirtualHost \"example.com\"\nmodules_enabled = { \"tls\" }\n");
    let (code, out, _) = lilt(&["-c", main.to_str().expect("utf8"), "check"], d.path());
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("No global options defined"), "{out}");
    assert!(out.contains("No global modules_enabled is set?"), "{out}");
}

#[test]
fn no_hosts_is_a_problem_not_a_load_error() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(d.path(), "p.cfg.lua", "modules_enabled = { \"tls\" }\n");
    let (code, out, _) = lilt(&["-c", main.to_str().expect("utf8"), "check", "config"], d.path());
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
    let (code, out) = check_text("VirtualHost \"v.example\"\nmodules_enabled = { \"vcard\", \"vcard_legacy\" }");
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("mod_vcard and mod_vcard_legacy are both enabled"), "{out}");
}

#[test]
fn encryption_required_without_tls_is_a_problem() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(d.path(), "p.cfg.lua", "modules_enabled = { \"roster\" }\nVirtualHost \"example.com\"\n");
    let (code, out, _) = lilt(&["-c", main.to_str().expect("utf8"), "check", "config"], d.path());
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("You require encryption but mod_tls is not enabled"), "{out}");
}

#[test]
fn chat_prefixed_host_is_only_a_suggestion() {
    let (code, out) = check_text("VirtualHost \"chat.example.org\"");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Suggestion:") && out.contains("example.org"), "{out}");
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
    let (_code, out, _) = lilt(&["-c", main.to_str().expect("utf8"), "check", "config"], d.path());
    assert!(out.contains("mod_muc is used by Component \"rooms.example.com\""), "{out}");
}

#[test]
fn cors_override_fields_without_enabled_true_are_a_warning() {
    let (code, out) = check_text("http_cors_override = { websocket = { origins = { \"https://a.example\" } } }");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("without enabled = true"), "{out}");
}

#[test]
fn json_prints_files_and_exactly_the_options_set_per_section() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(
        d.path(),
        "p.cfg.lua",
        "ports = { 5280, 5281 }\nt = { a = 1, \"x\" }\nempty = {}\nf = 0.5\nInclude \"h.cfg.lua\"\n",
    );
    let inc = write(d.path(), "h.cfg.lua", "VirtualHost \"Example.com\"\nhttp_host = \"example.com\"\n");
    let (code, out, err) = lilt(&["-c", main.to_str().expect("utf8"), "check", "config", "--json"], d.path());
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("one JSON object");
    assert_eq!(v["files"], serde_json::json!([main.display().to_string(), inc.display().to_string()]));
    assert_eq!(v["global"]["ports"], serde_json::json!([5280, 5281]));
    assert_eq!(v["global"]["t"], serde_json::json!({"1": "x", "a": 1}));
    assert_eq!(v["global"]["empty"], serde_json::json!([]));
    assert_eq!(v["global"]["f"], serde_json::json!(0.5));
    assert_eq!(v["hosts"]["example.com"], serde_json::json!({"http_host": "example.com"}));
    assert!(v["hosts"]["example.com"].get("ports").is_none(), "inherited options are not repeated");
    assert_eq!(v.as_object().map(|o| o.len()), Some(3));
}

#[test]
fn json_shows_component_sections_with_their_module() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(d.path(), "p.cfg.lua", "x = 1\nComponent \"muc.example.com\" \"muc\" { name = \"Rooms\" }\n");
    let (code, out, _) = lilt(&["-c", main.to_str().expect("utf8"), "check", "config", "--json"], d.path());
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["hosts"]["muc.example.com"]["component_module"], "muc");
    assert_eq!(v["hosts"]["muc.example.com"]["name"], "Rooms");
}
