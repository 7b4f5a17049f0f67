//! The config tests' two tools: write a file of a temporary tree, and run the `lilt`
//! binary in a directory with neither LILT_CONFIG nor PROSODY_CONFIG leaking in.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Writes `text` at `dir/rel`, creating the directories on the way.
pub fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    fs::write(&p, text).expect("write");
    p
}

/// Runs `lilt args` in `cwd`: (exit code, stdout, stderr).
pub fn lilt(args: &[&str], cwd: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lilt"))
        .args(args)
        .current_dir(cwd)
        .env_remove("LILT_CONFIG")
        .env_remove("PROSODY_CONFIG")
        .output()
        .expect("run lilt");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
