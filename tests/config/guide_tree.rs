//! The bundled tree in config/ (the guide's layered layout) loads, checks clean, and with
//! the guide's own production values reports only the real problems.

use std::fs;
use std::path::{Path, PathBuf};

use lilt::config::check::{check, Severity};
use lilt::config::Config;

use crate::tree::lilt;

fn bundled() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/prosody.cfg.lua")
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            fs::create_dir_all(&target).expect("mkdir");
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = fs::read_to_string(path).expect("read");
    assert!(text.contains(from), "{} lacks {from:?}", path.display());
    fs::write(path, text.replace(from, to)).expect("write");
}

#[test]
fn bundled_guide_tree_checks_clean_and_lists_files_in_load_order() {
    let (code, out, err) = lilt(
        &["-c", bundled().to_str().expect("utf8"), "check", "config"],
        Path::new(env!("CARGO_MANIFEST_DIR")),
    );
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
    let listed: Vec<&str> = out
        .lines()
        .map(str::trim)
        .filter(|l| l.ends_with(".lua"))
        .collect();
    let expected: Vec<String> = expected
        .iter()
        .map(|f| dir.join(f).display().to_string())
        .collect();
    assert_eq!(listed, expected);
    assert!(out.contains("All checks passed, congratulations!"));
    assert!(!out.contains("Problem:"), "{out}");
    assert!(
        !out.contains("unknown option"),
        "guide options must be known: {out}"
    );
}

#[test]
fn bundled_guide_tree_resolves_the_guide_options() {
    let c = Config::load(&bundled()).expect("bundled tree loads");
    assert_eq!(c.virtual_hosts(), vec!["localhost", "example.localhost"]);
    let g = c.global();
    assert_eq!(
        g.get("network_settings")
            .and_then(|v| v.as_table())
            .and_then(|t| t.get("read_timeout"))
            .and_then(|v| v.as_f64()),
        Some(840.0)
    );
    assert_eq!(
        g.set("modules_enabled").into_iter().collect::<Vec<_>>(),
        vec!["http", "limits", "websocket"]
    );
    assert_eq!(
        g.integer("websocket_max_frame_size"),
        Some(1024 * 1024),
        "read through websocket_config"
    );
    assert_eq!(g.integer("websocket_close_timeout"), Some(5));
    assert_eq!(g.integer("websocket_ping_interval"), Some(30));
    assert_eq!(g.boolean("consider_websocket_secure"), Some(true));
    assert_eq!(
        c.host("localhost").string("http_host").as_deref(),
        Some("localhost")
    );
    assert_eq!(
        c.host("example.localhost")
            .string("http_external_url")
            .as_deref(),
        Some("http://example.localhost:5280/")
    );
    assert_eq!(g.strings("http_ports"), vec!["5280"]);
    let mods = c.modules_for_host("localhost");
    assert!(mods.contains("websocket") && mods.contains("saslauth") && mods.contains("c2s"));
}

#[test]
fn bundled_tree_notes_that_prosody_would_not_load_saslauth() {
    let c = Config::load(&bundled()).expect("loads");
    let report = check(&c);
    assert!(!report.has_problems());
    assert!(report
        .of(Severity::Note)
        .any(|n| n.contains("Prosody would not load saslauth")));
    assert!(report
        .of(Severity::Note)
        .any(|n| n.contains("websocket_config entries are read as flat options")));
}

#[test]
fn the_guide_with_its_production_values_reports_only_real_problems() {
    let d = tempfile::tempdir().expect("tmp");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("config"),
        d.path(),
    );
    // Undo the laptop-local changes: back to the guide's own values.
    edit(
        &d.path().join("prosody.cfg.lua"),
        "c2s_require_encryption = false",
        "",
    );
    let ws = d.path().join("stack/07-interfaces/websocket.cfg.lua");
    edit(
        &ws,
        "trusted_proxies = { \"127.0.0.1\", \"::1\" }",
        "trusted_proxies = { \"127.0.0.1\", \"::1\", \"proxy.ip.here\" }",
    );
    edit(
        &ws,
        "allowed_origins = { \"http://localhost:5280\", \"http://localhost:8080\" }",
        "allowed_origins = { \"https://yourapp.com\" }",
    );
    edit(
        &d.path().join("domains/primary/domain.cfg.lua"),
        "\"localhost\"",
        "\"domain1.com\"",
    );
    edit(
        &d.path().join("domains/secondary/domain.cfg.lua"),
        "\"example.localhost\"",
        "\"domain2.com\"",
    );
    let main = d.path().join("prosody.cfg.lua");
    let c = Config::load(&main).expect("loads");
    assert_eq!(c.virtual_hosts(), vec!["domain1.com", "domain2.com"]);
    let report = check(&c);
    let problems: Vec<&str> = report.of(Severity::Problem).collect();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("You require encryption but mod_tls is not enabled"),
        "{problems:?}"
    );
    let warnings: Vec<&str> = report.of(Severity::Warning).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("\"proxy.ip.here\""), "{warnings:?}");
    let (code, _, _) = lilt(
        &["-c", main.to_str().expect("utf8"), "check", "config"],
        d.path(),
    );
    assert_eq!(code, 2);
}
