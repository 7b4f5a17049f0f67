//! Fault injection on roster storage: the disk full or read-only while a client changes its
//! roster. The roster set gets `<internal-server-error/>` (type wait, "Unable to save
//! roster", as Prosody's rostermanager), no roster push goes out, the old roster file is
//! byte for byte unchanged, no temporary file is left, the cached roster is the old one,
//! and once space is back the next set works.
//!
//! The data directory is a tmpfs, so these need root; run as another user they say so on
//! stderr and check nothing. (SIGKILL during a burst of roster writes: fault_im_kill.rs.)

use crate::fault_support;
use crate::im_support;
use crate::support;

use std::path::{Path, PathBuf};

use fault_support::disk::{leftover_temporaries, Tmpfs};
use im_support::{find, im_config, must_find, Client};
use support::Server;

/// A server whose data directory is a fresh tmpfs of `size`, with alice and bob.
async fn server_on_tmpfs(size: &str) -> Option<(Server, Tmpfs)> {
    let mut fs = None;
    let server = Server::start_with(&im_config(), |dir| {
        fs = Tmpfs::mount(&dir.join("data"), size);
    })
    .await;
    let fs = fs?;
    server.add_user("alice", "pw");
    server.add_user("bob", "pw");
    Some((server, fs))
}

fn data(server: &Server) -> PathBuf {
    server.dir.path().join("data")
}

fn roster_file(data: &Path, user: &str) -> PathBuf {
    data.join(format!("example%2etest/roster/{user}.dat"))
}

fn set(id: &str, jid: &str, name: &str) -> String {
    format!(
        "<iq type='set' id='{id}'><query xmlns='jabber:iq:roster'>\
         <item jid='{jid}' name='{name}'><group>G</group></item></query></iq>"
    )
}

fn remove(id: &str, jid: &str) -> String {
    format!(
        "<iq type='set' id='{id}'><query xmlns='jabber:iq:roster'>\
         <item jid='{jid}' subscription='remove'/></query></iq>"
    )
}

/// Sends a roster set that the broken disk must refuse, and checks the answer and that no
/// push went out.
async fn refused(c: &mut Client, xml: &str, id: &str) {
    let got = c.exchange(xml).await;
    let err = must_find(&got, &[&format!("id='{id}'"), "type='error'"]);
    assert!(
        err.contains("<internal-server-error") && err.contains("type='wait'"),
        "{err}"
    );
    assert!(err.contains("Unable to save roster"), "{err}");
    assert!(
        find(&got, &["type='set'", "jabber:iq:roster"]).is_none(),
        "no roster push for a change that was not saved: {got:?}"
    );
}

/// The roster the server holds now, as returned by a roster get.
async fn roster_get(c: &mut Client) -> String {
    let got = c
        .exchange("<iq type='get' id='get'><query xmlns='jabber:iq:roster'/></iq>")
        .await;
    must_find(&got, &["id='get'", "type='result'"]).clone()
}

/// Adds carol (saved), breaks the disk with `break_disk`, then tries an add, a rename and
/// a remove: all refused, file and cache unchanged. Returns the logged-in client.
async fn refused_while_broken(server: &Server, break_disk: impl FnOnce()) -> Client {
    let mut a = Client::login(server, "alice", "pc").await;
    // An interested resource, so a push would be seen.
    roster_get(&mut a).await;
    let got = a.exchange(&set("s1", "carol@example.test", "Carol")).await;
    must_find(&got, &["id='s1'", "type='result'"]);
    let file = roster_file(&data(server), "alice");
    let before = std::fs::read(&file).expect("roster saved");

    break_disk();
    refused(&mut a, &set("s2", "dave@example.test", "Dave"), "s2").await;
    refused(&mut a, &set("s3", "carol@example.test", "Renamed"), "s3").await;
    refused(&mut a, &remove("s4", "carol@example.test"), "s4").await;

    assert_eq!(
        std::fs::read(&file).expect("reread"),
        before,
        "old file intact"
    );
    let leftovers = leftover_temporaries(&data(server));
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    let roster = roster_get(&mut a).await;
    assert!(roster.contains("name='Carol'"), "{roster}");
    assert!(
        !roster.contains("dave@") && !roster.contains("Renamed"),
        "{roster}"
    );
    a
}

#[tokio::test]
async fn a_full_disk_refuses_roster_sets_and_keeps_the_old_file() {
    let Some((server, fs)) = server_on_tmpfs("64k").await else {
        return;
    };
    let mut a = refused_while_broken(&server, || fs.fill()).await;
    fs.unfill();
    let got = a.exchange(&set("s5", "dave@example.test", "Dave")).await;
    must_find(&got, &["id='s5'", "type='result'"]);
    must_find(&got, &["type='set'", "jid='dave@example.test'"]);
    let text = std::fs::read_to_string(roster_file(&data(&server), "alice")).expect("read");
    assert!(text.contains("dave@example.test") && text.contains("carol@example.test"));
}

#[tokio::test]
async fn a_read_only_disk_refuses_roster_sets_and_keeps_the_old_file() {
    let Some((server, fs)) = server_on_tmpfs("1m").await else {
        return;
    };
    let mut a = refused_while_broken(&server, || fs.remount("ro")).await;
    fs.remount("rw");
    let got = a.exchange(&remove("s5", "carol@example.test")).await;
    must_find(&got, &["id='s5'", "type='result'"]);
    assert!(!roster_get(&mut a).await.contains("carol@"));
}
