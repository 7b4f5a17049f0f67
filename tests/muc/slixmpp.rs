//! A real client: two slixmpp (xep_0045) sessions over c2s TCP with STARTTLS create and
//! configure a room, chat, and the owner's ban takes effect.

use std::process::Stdio;

use crate::tcp_support::{TcpServer, HOST};

fn python() -> String {
    std::env::var("LILT_PYTHON").unwrap_or_else(|_| "python3".into())
}

#[tokio::test]
async fn slixmpp_owner_configures_a_room_chats_and_bans_a_guest() {
    let ok = std::process::Command::new(python())
        .args(["-c", "import slixmpp"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok
        && !crate::common::missing_dependency(
            "slixmpp is not importable (pip install -r tests/interop/requirements.txt)",
        )
    {
        return;
    }
    let server = TcpServer::start("Component \"conference.example.test\" \"muc\"").await;
    server.add_user("alice", "secret");
    server.add_user("bob", "secret");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/slixmpp_muc.py");
    let out = tokio::process::Command::new(python())
        .arg(script)
        .args(["--port", &server.c2s.port().to_string()])
        .args(["--owner", &format!("alice@{HOST}/slix")])
        .args(["--guest", &format!("bob@{HOST}/slix")])
        .args([
            "--password",
            "secret",
            "--room",
            "slixroom@conference.example.test",
        ])
        .args(["--ca", &server.ca_path.display().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output()
        .await
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("\"step\": \"done\""),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for step in ["configured", "chat", "banned", "outcasts"] {
        assert!(
            stdout.contains(&format!("\"step\": \"{step}\", \"ok\": true")),
            "{step}: {stdout}"
        );
    }
}
