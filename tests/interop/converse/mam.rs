//! Issue 18: a conversation typed in Converse.js shows up, from MAM, when the user logs
//! in on a second device with empty storage.

use super::runner;

#[test]
fn converse_on_a_second_device_shows_the_conversation_from_the_archive() {
    if !runner::ready(&[]) {
        return;
    }
    let _one_browser = runner::browser_lock();
    let server = runner::start(&runner::config(&["mam"], "", ""), &["alice", "bob"]);
    let run = runner::scenario(&server, "mam.mjs", "converse mam", &[]);
    let shown = run.step("history on second device");
    assert_eq!(shown["messages"], 3, "{}", run.stdout);
    let ids = shown["ids"].as_array().expect("stanza ids");
    assert!(
        ids.iter()
            .all(|i| i.as_str().is_some_and(|s| !s.is_empty())),
        "every message carries the archive's id: {ids:?}"
    );
}
