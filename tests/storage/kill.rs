//! A SIGKILL during writes loses nothing that was acknowledged: a child process (this
//! test binary, re-run on the ignored `writer_child` test) writes and prints an ack after
//! each write returns; the parent kills it mid-stream and checks every acked write.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use lilt::storage::driver::item_str;
use lilt::storage::migrate::Location;
use lilt::storage::{LuaTable, LuaValue};

const ENV: &str = "LILT_KILL_WRITER";
const USERS: usize = 4;

/// The child's loop (only when the parent asks for it).
#[test]
#[ignore = "run by sigkill_during_writes_loses_nothing_acknowledged"]
fn writer_child() {
    let Ok(spec) = std::env::var(ENV) else {
        // Run directly (`--include-ignored`): there is no parent to write for.
        eprintln!("{ENV} is not set: this is the child of the SIGKILL tests");
        return;
    };
    let d = Location::parse(&spec).and_then(|l| l.open()).expect("open");
    let stdout = std::io::stdout();
    for i in 0u64.. {
        let mut value = LuaTable::new();
        value.set("n", i as i64);
        let item = lilt::storage::internal::archive_item(
            &format!("k{i}"),
            i as f64,
            "",
            &LuaValue::Table(value.clone()),
        );
        d.archive_append_item("example.test", Some("w"), "archive", &item)
            .expect("append");
        let user = format!("u{}", i as usize % USERS);
        d.set(
            "example.test",
            Some(&user),
            "kv",
            Some(&LuaValue::Table(value)),
        )
        .expect("set");
        let mut out = stdout.lock();
        writeln!(out, "ack {i}").expect("stdout");
        out.flush().expect("flush");
    }
}

fn kill_during_writes(spec: &str) {
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "kill::writer_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ENV, spec)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn writer");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout"));
    let mut acked: Option<u64> = None;
    let mut line = String::new();
    while acked.is_none_or(|a| a < 120) {
        line.clear();
        if lines.read_line(&mut line).expect("read") == 0 {
            panic!("writer exited early (last ack {acked:?})");
        }
        if let Some(n) = line.trim().strip_prefix("ack ") {
            acked = n.parse().ok();
        }
    }
    child.kill().expect("SIGKILL");
    // Acks already written to the pipe count too.
    for l in lines.lines() {
        if let Some(n) = l.expect("line").trim().strip_prefix("ack ") {
            acked = n.parse().ok().or(acked);
        }
    }
    let _ = child.wait();
    let last = acked.expect("some ack");
    let d = Location::parse(spec)
        .and_then(|l| l.open())
        .expect("reopen");
    let items = d
        .archive_list("example.test", Some("w"), "archive")
        .expect("list");
    let keys: std::collections::HashSet<&str> =
        items.iter().filter_map(|i| item_str(i, "key")).collect();
    for i in 0..=last {
        assert!(
            keys.contains(format!("k{i}").as_str()),
            "{spec}: acked item k{i} lost (last ack {last})"
        );
    }
    for u in 0..USERS {
        let last_for_user = (0..=last)
            .rev()
            .find(|i| *i as usize % USERS == u)
            .expect("written");
        let v = d
            .get("example.test", Some(&format!("u{u}")), "kv")
            .expect("get")
            .expect("stored");
        let n = v
            .as_table()
            .and_then(|t| t.field("n"))
            .and_then(LuaValue::as_int)
            .expect("n");
        assert!(
            n as u64 >= last_for_user,
            "{spec}: u{u} holds {n}, acked {last_for_user}"
        );
    }
}

#[test]
fn sigkill_during_writes_loses_nothing_acknowledged_on_internal() {
    let dir = tempfile::tempdir().expect("tempdir");
    kill_during_writes(&format!("internal:{}", dir.path().display()));
}

#[test]
fn sigkill_during_writes_loses_nothing_acknowledged_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    kill_during_writes(&format!("sqlite:{}", dir.path().join("p.sqlite").display()));
}

#[test]
fn sigkill_during_writes_loses_nothing_acknowledged_on_postgresql() {
    let Some(url) = crate::postgres::database_url("kill") else {
        return;
    };
    kill_during_writes(&url);
}
