//! Fault injection on offline-message storage: the disk full or read-only when a message
//! for an offline user must be stored. As in Prosody (mod_offline's hook fails, mod_message
//! falls through), the sender gets the message back as a `cancel/service-unavailable`
//! error; the recipient's existing archive is byte for byte unchanged (a partly written
//! line is cut off again); what was stored before is delivered once, and nothing that was
//! refused is.
//!
//! The data directory is a tmpfs, so these need root; run as another user they say so on
//! stderr and check nothing. (SIGKILL during a burst of stores: fault_im_kill.rs.)

use crate::fault_support;
use crate::im_support;
use crate::support;

use std::path::{Path, PathBuf};

use fault_support::disk::{leftover_temporaries, Tmpfs};
use im_support::{find, im_config, must_find, Client};
use support::Server;

async fn server_on_tmpfs(size: &str) -> Option<(Server, Tmpfs)> {
    let mut fs = None;
    let server = Server::start_with(&im_config(), |dir| {
        fs = Tmpfs::mount(&dir.join("data"), size);
    })
    .await;
    let fs = fs?;
    for user in ["alice", "bob", "carol"] {
        server.add_user(user, "pw");
    }
    Some((server, fs))
}

fn list_file(data: &Path, user: &str) -> PathBuf {
    data.join(format!("example%2etest/offline/{user}.list"))
}

fn message(to: &str, id: &str, body: &str) -> String {
    format!("<message to='{to}@example.test' type='chat' id='{id}'><body>{body}</body></message>")
}

/// Sends a message the broken disk cannot store: it comes back as an error.
async fn bounced(a: &mut Client, to: &str, id: &str, body: &str) {
    let got = a.exchange(&message(to, id, body)).await;
    let err = must_find(&got, &[&format!("id='{id}'"), "<message", "type='error'"]);
    assert!(
        err.contains("<service-unavailable") && err.contains("type='cancel'"),
        "{err}"
    );
}

/// Stores m1 for bob, breaks the disk, checks that a large message to bob, one to carol
/// (no archive yet) and, when `small_too`, a small one to bob bounce and nothing on disk
/// changed. Returns alice. (On a full tmpfs a small append still fits in the slack of the
/// archive's last page, and is rightly stored.)
async fn bounced_while_broken(
    server: &Server,
    small_too: bool,
    break_disk: impl FnOnce(),
) -> Client {
    let data = server.dir.path().join("data");
    let mut a = Client::login(server, "alice", "pc").await;
    let got = a.exchange(&message("bob", "m1", "stored")).await;
    assert!(got.is_empty(), "m1 stored silently: {got:?}");
    let bob = list_file(&data, "bob");
    let before = std::fs::read(&bob).expect("archive written");

    break_disk();
    // Larger than a page: on a full tmpfs the append cannot fit in the file's last page,
    // so part of the line may be written before ENOSPC.
    bounced(&mut a, "bob", "m2", &"x".repeat(6000)).await;
    if small_too {
        bounced(&mut a, "bob", "m3", "small").await;
    }
    bounced(&mut a, "carol", "m4", "new archive").await;

    assert_eq!(
        std::fs::read(&bob).expect("reread"),
        before,
        "archive intact"
    );
    assert!(!list_file(&data, "carol").exists(), "no archive for carol");
    let leftovers = leftover_temporaries(&data);
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    a
}

/// Bob comes online: exactly m1 is delivered.
async fn bob_gets_only_m1(server: &Server) {
    let mut b = Client::login(server, "bob", "phone").await;
    let got = b.exchange("<presence/>").await;
    let delivered: Vec<_> = got.iter().filter(|f| f.starts_with("<message")).collect();
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert!(delivered[0].contains("id='m1'"), "{delivered:?}");
    assert!(find(&got, &["id='m2'"]).is_none() && find(&got, &["id='m3'"]).is_none());
}

#[tokio::test]
async fn a_full_disk_bounces_messages_to_offline_users_and_keeps_the_archive() {
    let Some((server, fs)) = server_on_tmpfs("64k").await else {
        return;
    };
    let mut a = bounced_while_broken(&server, false, || fs.fill()).await;
    fs.unfill();
    bob_gets_only_m1(&server).await;
    // Space is back: storing works again.
    let got = a.exchange(&message("carol", "m5", "later")).await;
    assert!(got.is_empty(), "{got:?}");
    let data = server.dir.path().join("data");
    let text = std::fs::read_to_string(list_file(&data, "carol")).expect("stored");
    assert!(text.contains("later"), "{text}");
}

#[tokio::test]
async fn a_read_only_disk_bounces_messages_to_offline_users_and_keeps_the_archive() {
    let Some((server, fs)) = server_on_tmpfs("1m").await else {
        return;
    };
    let _a = bounced_while_broken(&server, true, || fs.remount("ro")).await;
    fs.remount("rw");
    bob_gets_only_m1(&server).await;
    let data = server.dir.path().join("data");
    assert!(!list_file(&data, "bob").exists(), "cleared after delivery");
}
