//! Child-process plumbing for the harness: bounded waits, captured output, free ports,
//! and the `lilt` CLI. Every wait has a deadline so a hung child fails the test instead of
//! hanging CI.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Default deadline for one CLI command or script run.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// A loopback port that was free a moment ago: bind 127.0.0.1:0, read the port, drop.
/// (Never 5222/5280/5281: the kernel hands out ephemeral ports.)
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener
        .local_addr()
        .expect("local_addr of bound listener")
        .port()
}

/// Polls until 127.0.0.1:`port` accepts a TCP connection. Stops early (returning false)
/// when `child` exits, so a crashed server is reported at once.
pub fn wait_for_port(port: u16, timeout: Duration, mut child: Option<&mut Child>) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        if let Some(c) = child.as_deref_mut() {
            if let Ok(Some(_)) = c.try_wait() {
                return false;
            }
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `cmd` with `stdin` (or an empty, closed stdin), capturing stdout and stderr, and
/// kills it when `timeout` passes. Panics on spawn failure and on timeout, naming `what`.
#[track_caller]
pub fn run_with_timeout(
    what: &str,
    cmd: &mut Command,
    stdin: Option<&str>,
    timeout: Duration,
) -> Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let mut child_stdin = child.stdin.take().expect("stdin was piped");
    let input = stdin.unwrap_or("").to_owned();
    // Written from a thread: a child that never reads must not block us past the deadline.
    let writer = thread::spawn(move || {
        let _ = child_stdin.write_all(input.as_bytes());
    });
    let out_reader = spawn_reader(child.stdout.take().expect("stdout was piped"));
    let err_reader = spawn_reader(child.stderr.take().expect("stderr was piped"));
    let status = wait_deadline(&mut child, timeout);
    let _ = writer.join();
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    match status {
        Some(status) => Output {
            status,
            stdout,
            stderr,
        },
        None => panic!(
            "{what} did not finish within {timeout:?}; killed.\n--- stdout ---\n{}\n--- stderr ---\n{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        ),
    }
}

fn spawn_reader(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// Waits for `child` until `timeout`; on timeout kills it and returns None.
fn wait_deadline(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// Runs the `lilt` binary built for this test run with `args`, feeding `stdin` (closed, not a
/// TTY, so `adduser` reads the password from it). Runs in `cwd` when given.
#[track_caller]
pub fn lilt_in(cwd: Option<&Path>, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lilt"));
    cmd.args(args);
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    run_with_timeout(&format!("lilt {args:?}"), &mut cmd, stdin, COMMAND_TIMEOUT)
}

/// `lilt_in` from the current directory.
#[track_caller]
pub fn lilt(args: &[&str], stdin: Option<&str>) -> Output {
    lilt_in(None, args, stdin)
}

/// Formats an Output for assertion messages.
pub fn describe(output: &Output) -> String {
    format!(
        "status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
