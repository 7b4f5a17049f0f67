//! Running one test alone in a process of its own. A test crate runs its tests side by side
//! in one process, so a test that measures the whole process (its open descriptors, its
//! allocations) would count its neighbours too; `alone` runs it again in a child of this
//! test binary with nothing beside it and reports the child's verdict.

use std::process::Command;

/// Set in the child so that the test runs its body there instead of spawning again.
const ALONE_ENV: &str = "LILT_TEST_ALONE";

/// True in the lone child: go on with the test body. In the parent, runs `test` (its full
/// name in this binary, e.g. `abandon::connections_...`) alone in a child, panics if it
/// failed there, and returns false: the parent's body has nothing left to do.
#[track_caller]
pub fn alone(test: &str) -> bool {
    if std::env::var_os(ALONE_ENV).is_some() {
        return true;
    }
    let status = Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", test, "--test-threads=1", "--nocapture"])
        .env(ALONE_ENV, "1")
        .status()
        .expect("run the test binary again");
    assert!(
        status.success(),
        "{test} failed in its own process (its output is above)"
    );
    false
}
