//! Fault injection on account storage: the disk full or read-only while accounts are
//! written (through the library and through the `lilt` command line), the store directory
//! replaced by a file, and the writer killed with SIGKILL in the middle of a burst. In
//! every case a write either is acknowledged and readable afterwards, or fails with an
//! error and leaves the previous file byte for byte as it was.
//!
//! The full/read-only cases mount a 64 KiB tmpfs, so they need root (CAP_SYS_ADMIN); run
//! as another user they say so on stderr and check nothing.

use crate::fault_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use lilt::modules::auth_internal_hashed::Accounts;
use lilt::storage::serialization::parse_lua_source;
use lilt::storage::Storage;
use lilt::xmpp::sasl::ScramHash;

use fault_support::disk::{files_under, leftover_temporaries, Tmpfs};

const HOST: &str = "example.test";

fn accounts(data: &Path) -> Accounts {
    Accounts::new(
        Arc::new(Storage::internal(data.to_path_buf())),
        ScramHash::Sha1,
    )
    .with_iteration_count(16)
}

fn account_file(data: &Path, user: &str) -> PathBuf {
    files_under(data)
        .into_iter()
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n == format!("{user}.dat").as_str())
        })
        .expect("account file exists")
}

fn write_config(dir: &Path, data: &Path) -> PathBuf {
    let cfg = dir.join("prosody.cfg.lua");
    std::fs::write(
        &cfg,
        format!(
            "data_path = {:?}\nlog = {{ {{ levels = {{ min = \"error\" }}, to = \"console\" }} }}\nVirtualHost \"{HOST}\"\n",
            data.display().to_string()
        ),
    )
    .expect("write config");
    cfg
}

fn lilt(cfg: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lilt"))
        .arg("--config")
        .arg(cfg)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run lilt")
}

#[test]
fn a_full_disk_fails_password_changes_and_registrations_and_keeps_the_old_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let Some(fs) = Tmpfs::mount(&data, "64k") else {
        return;
    };
    let acc = accounts(&data);
    acc.create(HOST, "alice", "old-password")
        .expect("create on an empty disk");
    let file = account_file(&data, "alice");
    let before = std::fs::read(&file).expect("read account");
    fs.fill();

    assert!(acc.set_password(HOST, "alice", "new-password").is_err());
    assert!(acc.create(HOST, "bob", "pw").is_err());
    // The command line reports it and exits non-zero.
    let cfg = write_config(dir.path(), &data);
    let out = lilt(&cfg, &["register", "carol", HOST, "pw"]);
    assert!(!out.status.success(), "register on a full disk must fail");
    assert!(String::from_utf8_lossy(&out.stderr).contains("Error"));

    assert_eq!(
        std::fs::read(&file).expect("reread"),
        before,
        "old file intact"
    );
    assert!(acc
        .test_password(HOST, "alice", "old-password")
        .expect("readable"));
    assert!(!acc.exists(HOST, "bob").expect("readable"));
    let leftovers = leftover_temporaries(&data);
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn a_read_only_data_dir_fails_writes_and_keeps_the_old_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let Some(fs) = Tmpfs::mount(&data, "1m") else {
        return;
    };
    let acc = accounts(&data);
    acc.create(HOST, "alice", "old-password").expect("create");
    let file = account_file(&data, "alice");
    let before = std::fs::read(&file).expect("read account");
    fs.remount("ro");

    assert!(acc.set_password(HOST, "alice", "new-password").is_err());
    assert!(acc.delete(HOST, "alice").is_err());
    let cfg = write_config(dir.path(), &data);
    let out = lilt(&cfg, &["register", "dave", HOST, "pw"]);
    assert!(
        !out.status.success(),
        "register on a read-only disk must fail"
    );

    assert_eq!(std::fs::read(&file).expect("reread"), before);
    assert!(acc
        .test_password(HOST, "alice", "old-password")
        .expect("readable"));
    fs.remount("rw");
}

#[test]
fn an_accounts_directory_replaced_by_a_file_fails_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let acc = accounts(&data);
    acc.create(HOST, "alice", "pw").expect("create");
    let accounts_dir = account_file(&data, "alice")
        .parent()
        .expect("parent")
        .to_path_buf();
    std::fs::rename(&accounts_dir, dir.path().join("moved")).expect("move away");
    std::fs::write(&accounts_dir, b"not a directory").expect("file in its place");

    assert!(acc.create(HOST, "bob", "pw").is_err());
    assert!(acc.set_password(HOST, "alice", "x").is_err());
    let cfg = write_config(dir.path(), &data);
    let out = lilt(&cfg, &["register", "bob", HOST, "pw"]);
    assert!(!out.status.success());
    assert_eq!(
        std::fs::read(&accounts_dir).expect("still there"),
        b"not a directory"
    );
}

/// The writer side of the SIGKILL test: run only as a child of
/// `acknowledged_account_writes_survive_sigkill`, with LILT_FAULT_BURST_DIR set. Prints
/// `begin <user> <password>` before and `ack <user> <password>` after each write.
#[test]
fn burst_writer_child() {
    let Ok(data) = std::env::var("LILT_FAULT_BURST_DIR") else {
        return;
    };
    use std::io::Write;
    let acc = accounts(Path::new(&data));
    let mut out = std::io::stdout().lock();
    for i in 0u64.. {
        let user = format!("u{}", i % 50);
        let password = format!("pw{i}");
        writeln!(out, "begin {user} {password}").expect("stdout");
        out.flush().expect("flush");
        let result = if i < 50 {
            acc.create(HOST, &user, &password)
        } else {
            acc.set_password(HOST, &user, &password)
        };
        result.expect("write succeeds");
        writeln!(out, "ack {user} {password}").expect("stdout");
        out.flush().expect("flush");
    }
}

#[test]
fn acknowledged_account_writes_survive_sigkill() {
    use std::collections::HashMap;
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    for round in 0..5u64 {
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "accounts::burst_writer_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("LILT_FAULT_BURST_DIR", &data)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn writer");
        let stdout = child.stdout.take().expect("stdout");
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<_>>()
        });
        // Kill at a different moment each round, mid-burst.
        std::thread::sleep(Duration::from_millis(150 + 97 * round));
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        let lines = reader.join().expect("reader");
        let mut acked: HashMap<String, String> = HashMap::new();
        let mut begun: HashMap<String, String> = HashMap::new();
        for l in &lines {
            let parts: Vec<&str> = l.split(' ').collect();
            match parts.as_slice() {
                ["ack", u, p] => {
                    acked.insert((*u).into(), (*p).into());
                }
                ["begin", u, p] => {
                    begun.insert((*u).into(), (*p).into());
                }
                _ => {}
            }
        }
        assert!(
            !acked.is_empty(),
            "round {round}: the writer acknowledged something"
        );
        // Every file that is there parses (temporary siblings are never read).
        for f in files_under(&data) {
            if f.extension().is_some_and(|e| e == "dat") {
                let text = std::fs::read_to_string(&f).expect("utf-8");
                parse_lua_source(&text).unwrap_or_else(|e| {
                    panic!("round {round}: {} does not parse: {e}", f.display())
                });
            }
        }
        // Every acknowledged write is there: the password is the last acknowledged one,
        // or the one being written when the kill came.
        let acc = accounts(&data);
        for (user, pw) in &acked {
            let ok = acc.test_password(HOST, user, pw).expect("readable");
            let in_flight = begun
                .get(user)
                .filter(|b| *b != pw)
                .map(|b| acc.test_password(HOST, user, b).expect("readable"))
                .unwrap_or(false);
            assert!(
                ok || in_flight,
                "round {round}: {user} lost its acknowledged password"
            );
        }
        // The next round starts from this state: creations become password changes.
        let _ = std::fs::remove_dir_all(&data);
    }
}
