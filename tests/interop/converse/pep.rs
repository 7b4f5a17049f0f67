//! Issue 17: an avatar and a nickname set in Converse.js's profile form reach a second
//! Converse.js user (vCard, XEP-0084 through vcard_legacy, XEP-0172 in the contact
//! request), and the room bookmark Converse 14 makes on joining (XEP-0402) comes back on
//! a fresh device.

use super::runner;

#[test]
fn converse_avatar_and_nickname_reach_a_contact_and_the_bookmark_survives_a_fresh_login() {
    if !runner::ready(&[]) {
        return;
    }
    let _one_browser = runner::browser_lock();
    let server = runner::start(&runner::config(&[], "", ""), &["alice", "bob"]);
    let run = runner::scenario(
        &server,
        "pep.mjs",
        "converse pep",
        &[("LILT_ROOM", "lounge@conference.localhost".to_owned())],
    );
    assert_eq!(run.step("nick")["nickname"], "Alice in Lilt");
    assert_eq!(run.step("bookmark kept")["autojoin"], true);
    run.step("avatar seen");
    run.step("xep0084");
}
