//! Shared harness for Lilt's integration tests: free loopback ports, a `lilt` server child
//! process with a throw-away config and data dir, the `lilt` CLI, the node interop scripts in
//! `tests/interop/`, and Debian's Prosody run as our own process for side-by-side checks.
//!
//! Use from a test file with `mod common;`. Missing external tools (node modules, prosody)
//! make tests *fail* with a hint to run `.ci/run`, unless `LILT_SKIP_INTEROP=1` is set.
// Each test crate uses a different part of the harness, so unused items are expected.
#![allow(dead_code, unused_imports)]

mod chat;
mod node;
mod process;
mod prosody;
mod python;
mod server;

pub use chat::{assert_login_and_chat, assert_login_refused, run_login_and_chat, PASSWORD};
pub use node::{interop_ready, node_available, node_script, NodeRun, INTEROP_DIR};
pub use process::{describe, free_port, lilt, lilt_in, run_with_timeout, wait_for_port};
pub use prosody::{prosody_available, prosody_ready, Prosody};
pub use python::{python, slixmpp_available};
pub use server::{minimal_config, ServerConfig, ServerDir, TestServer};

/// Env var that lets a run without node/prosody pass by skipping the interop tests.
pub const SKIP_ENV: &str = "LILT_SKIP_INTEROP";

/// True when the developer explicitly asked to skip tests needing external tools.
pub fn skip_interop() -> bool {
    std::env::var(SKIP_ENV).is_ok_and(|v| v == "1")
}

/// Handles a missing external dependency: returns `false` (test should return early) when
/// `LILT_SKIP_INTEROP=1`, otherwise panics with `what` and the fix. Never silently passes.
#[track_caller]
pub fn missing_dependency(what: &str) -> bool {
    if skip_interop() {
        eprintln!("SKIPPED ({SKIP_ENV}=1): {what}");
        return false;
    }
    panic!(
        "{what}.\nRun `bash .ci/run` (installs prosody, lua5.4 and the node modules), or \
         `(cd tests/interop && npm ci)` for the node part; set {SKIP_ENV}=1 to skip on purpose."
    );
}

/// The repository root (where Cargo.toml is).
pub fn repo_root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
