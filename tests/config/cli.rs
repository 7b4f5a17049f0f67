//! The command line: config file search (`--config`/`-c`, LILT_CONFIG, PROSODY_CONFIG,
//! ./config then /etc/prosody), `about`, and the commands that wait for other slices.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::tree::write;

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

/// A port that is taken for as long as the returned listener lives.
fn busy_port() -> (std::net::TcpListener, u16) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    (l, port)
}

#[test]
fn run_reports_a_port_in_use_and_exits_1() {
    let (_hold, port) = busy_port();
    let d = tempfile::tempdir().expect("tmp");
    let cfg = format!("log = \"error\"\nhttp_ports = {{ {port} }}\nhttp_interfaces = {{ \"127.0.0.1\" }}\nhttps_ports = {{}}\nc2s_ports = {{}}\nVirtualHost \"example.com\"\n");
    write(d.path(), "config/prosody.cfg.lua", &cfg);
    let (code, _, err) = lilt(&[], d.path(), &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!(
            "cannot listen on 127.0.0.1:{port}: address in use"
        )),
        "{err}"
    );
}

#[test]
fn run_applies_the_log_option_and_reports_duplicate_warnings() {
    let (_hold, port) = busy_port();
    let d = tempfile::tempdir().expect("tmp");
    write(
        d.path(),
        "config/prosody.cfg.lua",
        &format!("log = {{ {{ levels = {{ min = \"warn\" }}, to = \"file\", filename = \"lilt.log\" }} }}\ndata_path = \"data\"\ndata_path = \"data\"\nhttp_ports = {{ {port} }}\nhttp_interfaces = {{ \"127.0.0.1\" }}\nhttps_ports = {{}}\nc2s_ports = {{}}\nVirtualHost \"example.com\"\n"),
    );
    let (code, _, _) = lilt(&["run"], d.path(), &[]);
    assert_eq!(code, 1);
    let log = fs::read_to_string(d.path().join("data/lilt.log")).expect("log file written");
    assert!(log.contains("Duplicate option 'data_path'"), "{log}");
}

fn lilt_stdin(args: &[&str], cwd: &Path, stdin: &str) -> (i32, String) {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_lilt"))
        .args(args)
        .current_dir(cwd)
        .env_remove("LILT_CONFIG")
        .env_remove("PROSODY_CONFIG")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn lilt");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn account_commands_create_change_and_delete_prosody_account_files() {
    let d = tempfile::tempdir().expect("tmp");
    write(
        d.path(),
        "config/prosody.cfg.lua",
        "data_path = \"data\"\nVirtualHost \"example.com\"\n",
    );
    let file = d.path().join("data/example%2ecom/accounts/a.dat");
    let (code, err) = lilt_stdin(&["adduser", "a@example.com"], d.path(), "secret\n");
    assert_eq!(code, 0, "{err}");
    let first = fs::read_to_string(&file).expect("account file");
    assert!(
        first.contains("[\"stored_key\"]") && first.contains("[\"iteration_count\"] = 10000;"),
        "{first}"
    );
    let (code, err) = lilt_stdin(&["adduser", "a@example.com"], d.path(), "again\n");
    assert_eq!(code, 1);
    assert!(err.contains("already exists"), "{err}");
    let (code, err) = lilt_stdin(&["passwd", "a@example.com"], d.path(), "changed\n");
    assert_eq!(code, 0, "{err}");
    assert_ne!(fs::read_to_string(&file).expect("account file"), first);
    let (code, err) = lilt_stdin(&["deluser", "a@example.com"], d.path(), "");
    assert_eq!(code, 0, "{err}");
    assert!(!file.exists());
    let (code, err) = lilt_stdin(&["register", "B", "example.com", "pw"], d.path(), "");
    assert_eq!(code, 0, "{err}");
    assert!(d.path().join("data/example%2ecom/accounts/b.dat").exists());
    let (code, err) = lilt_stdin(&["adduser", "c@nowhere.example"], d.path(), "pw\n");
    assert_eq!(code, 1);
    assert!(err.contains("not a VirtualHost"), "{err}");
}
