//! Smoke tests of the load bench binaries: `lilt-bench accounts` writes Prosody's storage
//! layout, and a short `echo` run against `ws-echo` completes with nothing lost.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const BENCH: &str = env!("CARGO_BIN_EXE_lilt-bench");
const ECHO: &str = env!("CARGO_BIN_EXE_ws-echo");

/// Kills the echo server when the test ends, pass or fail.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_echo() -> (Server, String) {
    let mut child = Command::new(ECHO)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("ws-echo starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("ws-echo prints its address");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .expect("address line")
        .to_string();
    (Server(child), addr)
}

#[test]
fn echo_scenario_against_ws_echo_reports_no_loss() {
    let (server, addr) = start_echo();
    let out = Command::new(BENCH)
        .args([
            "--url",
            &format!("ws://{addr}/xmpp-websocket"),
            "--scenario",
            "echo",
        ])
        .args([
            "--users",
            "20",
            "--duration",
            "0.3",
            "--window",
            "2",
            "--json",
            "--label",
            "ws-echo",
        ])
        .args(["--pid", &server.0.id().to_string()])
        .output()
        .expect("lilt-bench runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("one JSON object on stdout");
    assert_eq!(json["passed"], true);
    assert_eq!(json["connect"]["ok"], 20);
    assert_eq!(json["lost"], 0);
    assert!(json["ops"].as_u64().unwrap() > 0);
    assert_eq!(json["sent"], json["received"]);
    assert!(
        json["server"]["rss_after_kib"].as_u64().unwrap() > 0,
        "server /proc sampled"
    );
}

#[test]
fn run_against_a_closed_port_fails_with_errors() {
    let (server, addr) = start_echo();
    drop(server);
    let out = Command::new(BENCH)
        .args([
            "--url",
            &format!("ws://{addr}/x"),
            "--scenario",
            "echo",
            "--users",
            "3",
        ])
        .args(["--duration", "0.1", "--json"])
        .output()
        .expect("lilt-bench runs");
    assert!(!out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["passed"], false);
    assert_eq!(json["connect"]["failed"], 3);
}

#[test]
fn accounts_writes_prosody_internal_hashed_files_and_rosters() {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new(BENCH)
        .args([
            "accounts",
            "--count",
            "3",
            "--domain",
            "bench.local",
            "--roster-size",
            "2",
        ])
        .args(["--iterations", "4096", "--data"])
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let host = dir.path().join("bench%2elocal");
    let acc = std::fs::read_to_string(host.join("accounts/bench0002.dat")).unwrap();
    assert!(
        acc.starts_with("return {\n\t[\"stored_key\"] = \""),
        "{acc}"
    );
    assert!(
        acc.ends_with("\t[\"iteration_count\"] = 4096;\n};\n"),
        "{acc}"
    );
    let roster = std::fs::read_to_string(host.join("roster/bench0000.dat")).unwrap();
    assert!(roster.contains("[\"bench0001@bench.local\"]"), "{roster}");
    assert!(
        !roster.contains("bench0002@"),
        "groups of two: 0 and 1 only"
    );
    let last = std::fs::read_to_string(host.join("roster/bench0002.dat")).unwrap();
    assert!(
        !last.contains("@bench.local\"]"),
        "a group of one has no contacts: {last}"
    );
}
