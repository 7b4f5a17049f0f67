//! Runs the node interop scripts in `tests/interop/` and parses their one-JSON-object-per-line
//! output into steps that tests assert on.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;

use super::missing_dependency;
use super::process::{describe, run_with_timeout};

/// Location of the node package, relative to the repository root.
pub const INTEROP_DIR: &str = "tests/interop";

/// Upper bound for one script run (each step inside has its own shorter timeout).
pub const SCRIPT_TIMEOUT: Duration = Duration::from_secs(90);

fn interop_dir() -> PathBuf {
    super::repo_root().join(INTEROP_DIR)
}

/// True when `node` runs and `tests/interop/node_modules` has @xmpp/client.
pub fn node_available() -> bool {
    let node_ok = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    node_ok
        && interop_dir()
            .join("node_modules/@xmpp/client/package.json")
            .is_file()
}

/// `true` when node scripts can run; panics with a hint when they cannot, unless
/// `LILT_SKIP_INTEROP=1` (then `false`: the caller returns early).
#[track_caller]
pub fn interop_ready() -> bool {
    node_available()
        || missing_dependency(
            "node or tests/interop/node_modules is missing (need node >= 18 and @xmpp/client)",
        )
}

/// The outcome of one script run: exit status and the parsed JSON step lines.
pub struct NodeRun {
    pub script: String,
    pub output: Output,
    /// Every stdout line that parsed as a JSON object, in order.
    pub steps: Vec<Value>,
}

/// Runs `node tests/interop/<name> <args...>` (cwd = tests/interop) with a deadline.
#[track_caller]
pub fn node_script(name: &str, args: &[&str]) -> NodeRun {
    let dir = interop_dir();
    let mut cmd = Command::new("node");
    cmd.arg(dir.join(name)).args(args).current_dir(&dir);
    let output = run_with_timeout(
        &format!("node {name} {args:?}"),
        &mut cmd,
        None,
        SCRIPT_TIMEOUT,
    );
    let steps = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(Value::is_object)
        .collect();
    NodeRun {
        script: format!("{name} {}", args.join(" ")),
        output,
        steps,
    }
}

impl NodeRun {
    /// Full output for assertion messages.
    pub fn describe(&self) -> String {
        format!("node {}\n{}", self.script, describe(&self.output))
    }

    /// The first failed step's `step` and `error`, if any.
    pub fn failure(&self) -> Option<String> {
        self.steps
            .iter()
            .find(|s| s["ok"] != Value::Bool(true))
            .map(|s| format!("step {} failed: {}", s["step"], s["error"]))
    }

    /// Asserts exit status 0, no failed step, and a final `done` step.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        let done = self
            .steps
            .last()
            .is_some_and(|s| s["step"] == "done" && s["ok"] == true);
        assert!(
            self.output.status.success() && self.failure().is_none() && done,
            "{}\n\n{}",
            self.failure()
                .unwrap_or_else(|| "script did not finish with a `done` step".into()),
            self.describe()
        );
        self
    }

    /// The step named `name` (panics with the whole output if absent).
    #[track_caller]
    pub fn step(&self, name: &str) -> &Value {
        self.steps
            .iter()
            .find(|s| s["step"] == name)
            .unwrap_or_else(|| panic!("no step {name:?} in output\n{}", self.describe()))
    }

    /// A string field of a step.
    #[track_caller]
    pub fn str_of(&self, step: &str, field: &str) -> String {
        self.step(step)[field]
            .as_str()
            .unwrap_or_else(|| panic!("step {step:?} has no string {field:?}\n{}", self.describe()))
            .to_owned()
    }
}
