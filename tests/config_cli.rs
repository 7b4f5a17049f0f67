//! The command line: config file search (`--config`/`-c`, LILT_CONFIG, PROSODY_CONFIG,
//! ./config then /etc/prosody), `about`, and the commands that wait for other slices.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    fs::write(&p, text).expect("write");
    p
}

fn lilt(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lilt"));
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("LILT_CONFIG")
        .env_remove("PROSODY_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run lilt");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const MARKED: &str = "modules_enabled = { \"tls\" }\nVirtualHost \"example.com\"\n";

fn first_file(stdout: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(stdout).expect("json");
    v["files"][0].as_str().expect("a file").to_string()
}

#[test]
fn default_search_finds_config_prosody_cfg_lua_in_the_working_directory() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(d.path(), "config/prosody.cfg.lua", MARKED);
    let (code, out, err) = lilt(&["check", "config", "--json"], d.path(), &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(first_file(&out), main.display().to_string());
}

#[test]
fn config_flag_is_tried_as_given_then_relative_to_the_config_directory() {
    let d = tempfile::tempdir().expect("tmp");
    let in_dir = write(d.path(), "config/other.cfg.lua", MARKED);
    let (code, out, err) = lilt(
        &["--config", "other.cfg.lua", "check", "config", "--json"],
        d.path(),
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(first_file(&out), in_dir.display().to_string());
    let here = write(d.path(), "other.cfg.lua", MARKED);
    let (_, out, _) = lilt(
        &["-c", "other.cfg.lua", "check", "config", "--json"],
        d.path(),
        &[],
    );
    assert_eq!(first_file(&out), here.display().to_string());
}

#[test]
fn lilt_config_env_wins_over_prosody_config_env() {
    let d = tempfile::tempdir().expect("tmp");
    let a = write(d.path(), "a.cfg.lua", MARKED);
    let b = write(d.path(), "b.cfg.lua", MARKED);
    let (_, out, _) = lilt(
        &["check", "config", "--json"],
        d.path(),
        &[
            ("LILT_CONFIG", a.to_str().expect("utf8")),
            ("PROSODY_CONFIG", b.to_str().expect("utf8")),
        ],
    );
    assert_eq!(first_file(&out), a.display().to_string());
    let (_, out, _) = lilt(
        &["check", "config", "--json"],
        d.path(),
        &[("PROSODY_CONFIG", b.to_str().expect("utf8"))],
    );
    assert_eq!(first_file(&out), b.display().to_string());
}

#[test]
fn config_flag_wins_over_the_environment() {
    let d = tempfile::tempdir().expect("tmp");
    let a = write(d.path(), "a.cfg.lua", MARKED);
    let b = write(d.path(), "b.cfg.lua", MARKED);
    let (_, out, _) = lilt(
        &["-c", b.to_str().expect("utf8"), "check", "config", "--json"],
        d.path(),
        &[("LILT_CONFIG", a.to_str().expect("utf8"))],
    );
    assert_eq!(first_file(&out), b.display().to_string());
}

#[test]
fn about_prints_the_version_and_the_config_file() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(d.path(), "config/prosody.cfg.lua", MARKED);
    let (code, out, _) = lilt(&["about"], d.path(), &[]);
    assert_eq!(code, 0);
    assert!(
        out.contains(&format!("Lilt {}", env!("CARGO_PKG_VERSION"))),
        "{out}"
    );
    assert!(out.contains(&main.display().to_string()), "{out}");
}

#[test]
fn run_loads_the_config_and_says_serving_is_not_here_yet() {
    let d = tempfile::tempdir().expect("tmp");
    write(
        d.path(),
        "config/prosody.cfg.lua",
        "log = \"error\"\nmodules_enabled = { \"tls\" }\nVirtualHost \"example.com\"\n",
    );
    let (code, _, err) = lilt(&[], d.path(), &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains("serving is not implemented on this branch"),
        "{err}"
    );
}

#[test]
fn run_applies_the_log_option_and_reports_duplicate_warnings() {
    let d = tempfile::tempdir().expect("tmp");
    write(
        d.path(),
        "config/prosody.cfg.lua",
        "log = { { levels = { min = \"warn\" }, to = \"file\", filename = \"lilt.log\" } }\ndata_path = \"data\"\ndata_path = \"data\"\nVirtualHost \"example.com\"\n",
    );
    let (code, _, _) = lilt(&["run"], d.path(), &[]);
    assert_eq!(code, 1);
    let log = fs::read_to_string(d.path().join("data/lilt.log")).expect("log file written");
    assert!(log.contains("Duplicate option 'data_path'"), "{log}");
}

#[test]
fn account_commands_are_placeholders_that_fail() {
    let d = tempfile::tempdir().expect("tmp");
    write(d.path(), "config/prosody.cfg.lua", MARKED);
    for args in [
        &["adduser", "a@example.com"][..],
        &["passwd", "a@example.com"],
        &["deluser", "a@example.com"],
        &["register", "a", "example.com", "pw"],
    ] {
        let (code, _, err) = lilt(args, d.path(), &[]);
        assert_eq!(code, 1, "{args:?}");
        assert!(err.contains("not implemented on this branch"), "{err}");
    }
}
