//! Issue 16: Converse.js over WebSocket in a room that a slixmpp occupant (xep_0045, c2s
//! TCP) created, configured, gave a subject and talked in first.

use std::time::Duration;

use super::runner::{self, Peer, DOMAIN};

const ROOM: &str = "lounge@conference.localhost";
const SUBJECT: &str = "Lilt and Converse.js, live";
const HISTORY: [&str; 2] = ["said before you came", "and this one too <&>"];
const TO_PEER: &str = "hello from Converse.js over WebSocket";
const FROM_PEER: &str = "hello back from slixmpp over TCP \u{e9}";

#[test]
fn converse_joins_a_room_sees_subject_and_history_and_chats_with_a_slixmpp_occupant() {
    if !runner::ready(&[(
        "slixmpp (pip install -r tests/interop/requirements.txt)",
        runner::slixmpp_installed(),
    )]) {
        return;
    }
    let _one_browser = runner::browser_lock();
    // No muc_mam: the history Converse shows is the room's own (<history/> on join).
    let server = runner::start(&runner::config(&[], "", ""), &["alice", "carol"]);
    let mut args: Vec<String> = [
        "--port",
        &server.c2s_port().to_string(),
        "--jid",
        &format!("carol@{DOMAIN}/slix"),
        "--password",
        "carol-secret",
        "--room",
        ROOM,
        "--nick",
        "carol",
        "--subject",
        SUBJECT,
        "--peer-nick",
        "alice",
        "--expect",
        TO_PEER,
        "--reply",
        FROM_PEER,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for h in HISTORY {
        args.extend(["--history".to_owned(), h.to_owned()]);
    }
    let mut peer = Peer::spawn(
        &runner::web_dir().join("converse/slixmpp_occupant.py"),
        &args,
    );
    if let Err(e) = peer.wait_step("ready", Duration::from_secs(40)) {
        panic!(
            "{e}\n--- lilt log ---\n{}",
            runner::tail(&server.log(), 200)
        );
    }
    let run = runner::scenario(
        &server,
        "muc.mjs",
        "converse muc",
        &[
            ("LILT_ROOM", ROOM.to_owned()),
            ("LILT_SUBJECT", SUBJECT.to_owned()),
            ("LILT_HISTORY", serde_json::json!(HISTORY).to_string()),
            ("LILT_PEER_NICK", "carol".to_owned()),
            ("LILT_TO_PEER", TO_PEER.to_owned()),
            ("LILT_FROM_PEER", FROM_PEER.to_owned()),
        ],
    );
    assert_eq!(
        run.step("history")["count"],
        HISTORY.len(),
        "{}",
        run.stdout
    );
    assert_eq!(run.step("received")["nick"], "carol", "{}", run.stdout);
    // The other direction, seen by slixmpp: Converse's message came from alice's nick.
    let heard = peer
        .wait_step("heard", Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(heard["sender"], format!("{ROOM}/alice"));
    peer.finish("done").unwrap_or_else(|e| panic!("{e}"));
}
