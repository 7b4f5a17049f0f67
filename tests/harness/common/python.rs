//! The Python side of the interop tests: which interpreter runs the slixmpp drivers in
//! tests/interop/, and whether it can import slixmpp.

use std::process::{Command, Stdio};

use super::missing_dependency;

/// The interpreter for the slixmpp scripts: `LILT_PYTHON`, else `python3`.
pub fn python() -> String {
    std::env::var("LILT_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// True when slixmpp imports; otherwise panics with the fix, or returns false (skip) when
/// `LILT_SKIP_INTEROP=1`.
#[track_caller]
pub fn slixmpp_available() -> bool {
    let ok = Command::new(python())
        .args(["-c", "import slixmpp"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok || missing_dependency(&format!(
        "slixmpp is not importable by `{}`: run `pip install -r tests/interop/requirements.txt` \
         (or set LILT_PYTHON to an interpreter that has it)",
        python()
    ))
}
