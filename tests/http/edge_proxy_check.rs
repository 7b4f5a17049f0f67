//! `lilt check proxy`: each mistake of the guide is flagged in deliberately broken nginx and
//! Apache files, the examples pass, and the command's exit codes match `check config`.

use std::path::{Path, PathBuf};
use std::process::Command;

use lilt::modules::proxycheck::{check_files, LiltSide, ProxyReport, Severity};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(files: &[&str], lilt: &LiltSide) -> ProxyReport {
    let paths: Vec<PathBuf> = files.iter().map(|f| root().join(f)).collect();
    check_files(&paths, lilt)
}

/// The problem messages at one line.
fn at(report: &ProxyReport, severity: Severity, line: usize) -> Vec<String> {
    report
        .findings
        .iter()
        .filter(|f| f.severity == severity && f.line == line)
        .map(|f| f.message.clone())
        .collect()
}

fn has(report: &ProxyReport, severity: Severity, line: usize, needle: &str) -> bool {
    at(report, severity, line)
        .iter()
        .any(|m| m.contains(needle))
}

#[test]
fn good_examples_pass() {
    let r = run(
        &[
            "examples/proxy/nginx/lilt-websocket.conf",
            "examples/proxy/apache/apache2.conf",
            "examples/proxy/apache/lilt-websocket.conf",
        ],
        &LiltSide::default(),
    );
    assert_eq!(r.exit_code(), 0, "{r:#?}");
    assert!(
        r.findings.iter().all(|f| f.severity == Severity::Note),
        "{r:#?}"
    );
    assert_eq!(r.locations.iter().map(|(_, n)| n).sum::<usize>(), 2);
}

#[test]
fn broken_nginx_has_each_mistake_flagged() {
    let r = run(
        &["tests/fixtures/proxy/broken/nginx-broken.conf"],
        &LiltSide::default(),
    );
    assert_eq!(r.exit_code(), 2);
    let first = 9; // the first location
    assert!(
        has(&r, Severity::Problem, first, "proxy_http_version 1.1"),
        "{r:#?}"
    );
    assert!(has(&r, Severity::Problem, first, "Upgrade $http_upgrade"));
    assert!(has(&r, Severity::Problem, first, "Connection \"Upgrade\""));
    assert!(has(&r, Severity::Problem, first, "Host is not forwarded"));
    assert!(has(
        &r,
        Severity::Problem,
        first,
        "X-Forwarded-For is not set"
    ));
    assert!(has(
        &r,
        Severity::Problem,
        first,
        "X-Forwarded-Proto is not set"
    ));
    assert!(has(
        &r,
        Severity::Problem,
        first,
        "proxy_read_timeout is not set"
    ));
    // The second location: proxy_set_header at server level is replaced by the location's.
    assert!(has(&r, Severity::Problem, 26, "$proxy_host"));
    assert!(has(&r, Severity::Problem, 29, "600s, not above"));
    assert!(has(&r, Severity::Warning, 30, "proxy_buffering is on"));
    assert!(has(&r, Severity::Problem, 22, "trusted_proxies"));
}

#[test]
fn broken_apache_has_each_mistake_flagged() {
    let r = run(
        &["tests/fixtures/proxy/broken/apache-broken.conf"],
        &LiltSide::default(),
    );
    assert_eq!(r.exit_code(), 2);
    assert!(
        has(&r, Severity::Problem, 9, "no comment after a directive"),
        "{r:#?}"
    );
    assert!(has(
        &r,
        Severity::Problem,
        11,
        "mod_proxy_wstunnel, which is not loaded"
    ));
    assert!(has(&r, Severity::Warning, 11, "<IfModule"));
    assert!(has(&r, Severity::Problem, 11, "ProxyPreserveHost On"));
    assert!(has(
        &r,
        Severity::Problem,
        11,
        "X-Forwarded-Proto is not set"
    ));
    assert!(has(&r, Severity::Problem, 19, "ProxyAddHeaders Off"));
    assert!(has(&r, Severity::Problem, 20, "ProxyTimeout is 300s"));
    assert!(has(
        &r,
        Severity::Problem,
        22,
        "no Upgrade/Connection handling"
    ));
    assert!(has(&r, Severity::Warning, 22, "flushpackets=off"));
    assert!(has(&r, Severity::Problem, 22, "trusted_proxies"));
}

#[test]
fn timeout_threshold_follows_lilts_keepalive_and_trusted_proxies() {
    let good = ["examples/proxy/nginx/lilt-websocket.conf"];
    let slow = LiltSide {
        read_timeout: 1200.0,
        ..LiltSide::default()
    };
    let r = run(&good, &slow);
    assert!(
        r.messages(Severity::Problem)
            .iter()
            .any(|m| m.contains("network_settings.read_timeout (1200s)")),
        "{r:#?}"
    );
    let pinging = LiltSide {
        read_timeout: 1200.0,
        ping_interval: Some(30.0),
        ..LiltSide::default()
    };
    assert_eq!(
        run(&good, &pinging).exit_code(),
        0,
        "a 30 s ping keeps the 900 s proxy timeout busy"
    );
    let v4_only = LiltSide {
        trusted: lilt::modules::http::TrustedProxies::parse(["127.0.0.1"]).0,
        ..LiltSide::default()
    };
    let r = run(&good, &v4_only);
    assert!(
        r.messages(Severity::Problem)
            .iter()
            .any(|m| m.contains("from ::1")),
        "localhost may be ::1: {r:#?}"
    );
}

/// The guide's two site configs, copied verbatim from the seed guide.
#[test]
fn guide_configs_as_printed_are_flagged() {
    let r = run(
        &["tests/fixtures/proxy/guide/guide-apache.conf"],
        &LiltSide::default(),
    );
    assert!(
        r.messages(Severity::Problem)
            .iter()
            .any(|m| m.contains("no comment after a directive")),
        "{r:#?}"
    );
    assert!(r
        .messages(Severity::Problem)
        .iter()
        .any(|m| m.contains("X-Forwarded-Proto")));
    let r = run(
        &["tests/fixtures/proxy/guide/guide-nginx.conf"],
        &LiltSide::default(),
    );
    assert_eq!(
        r.exit_code(),
        0,
        "the guide's nginx config is sound: {r:#?}"
    );
}

fn lilt(args: &[&str], dir: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lilt"))
        .args(args)
        .current_dir(dir)
        .env_remove("LILT_CONFIG")
        .env_remove("PROSODY_CONFIG")
        .output()
        .expect("run lilt");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

#[test]
fn cli_exit_codes_are_those_of_check_config() {
    let dir = tempfile::tempdir().expect("dir");
    let good = root().join("examples/proxy/nginx/lilt-websocket.conf");
    let bad = root().join("tests/fixtures/proxy/broken/nginx-broken.conf");
    let (code, out) = lilt(
        &["check", "proxy", good.to_str().expect("utf-8")],
        dir.path(),
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("All checks passed"));
    let (code, out) = lilt(
        &["check", "proxy", bad.to_str().expect("utf-8")],
        dir.path(),
    );
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("Problem: "));
    let (code, _) = lilt(&["check", "proxy", "/nonexistent/site.conf"], dir.path());
    assert_eq!(code, 1);
    // With a Lilt config, its read_timeout is the bar.
    let cfg = dir.path().join("lilt.cfg.lua");
    std::fs::write(&cfg, "network_settings = { read_timeout = 1000 }\n").expect("write");
    let (code, out) = lilt(
        &[
            "--config",
            cfg.to_str().expect("utf-8"),
            "check",
            "proxy",
            good.to_str().expect("utf-8"),
        ],
        dir.path(),
    );
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("1000s"));
}
