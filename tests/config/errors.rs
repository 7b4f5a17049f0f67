//! Load failures (reference §1.7): each names `file:line` and gives a one-line reason; the
//! CLI prints Prosody's banner and exits 1.

use std::path::Path;

use lilt::config::{Config, ConfigError};

use crate::tree::{lilt, write};

/// Runs `lilt check config` on a tree whose main file is `main` and asserts exit 1 with an
/// `Error: <file>:<line>: <reason>` line.
fn assert_cli_error(dir: &Path, main: &Path, file: &Path, line: u32, reason_part: &str) {
    let (code, _out, err) = lilt(
        &["-c", main.to_str().expect("utf8"), "check", "config"],
        dir,
    );
    assert_eq!(code, 1, "stderr: {err}");
    let error_line = err
        .lines()
        .find(|l| l.starts_with("Error: "))
        .expect("an Error: line");
    let prefix = format!("Error: {}:{}: ", file.display(), line);
    assert!(
        error_line.starts_with(&prefix),
        "{error_line:?} should start with {prefix:?}"
    );
    assert!(
        error_line.contains(reason_part),
        "{error_line:?} should mention {reason_part:?}"
    );
    assert!(
        err.contains("A problem occurred while reading the config file"),
        "{err}"
    );
}

#[test]
fn syntax_error_names_file_and_line() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(d.path(), "p.cfg.lua", "x = 1\ny = = 2\n");
    let e = Config::load(&main).expect_err("fails");
    assert!(
        matches!(e, ConfigError::Syntax { line: Some(2), .. }),
        "{e:?}"
    );
    assert_cli_error(d.path(), &main, &main, 2, "unexpected symbol");
}

#[test]
fn syntax_error_in_an_included_file_names_that_file() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(d.path(), "p.cfg.lua", "Include \"deep/inc.cfg.lua\"\n");
    let inc = write(
        d.path(),
        "deep/inc.cfg.lua",
        "\n\nmodules_enabled = { \"a\" \"b\" }\n",
    );
    let e = Config::load(&main).expect_err("fails");
    assert_eq!(e.file(), inc.as_path());
    assert_eq!(e.line(), Some(3));
    assert_cli_error(d.path(), &main, &inc, 3, "");
}

#[test]
fn runtime_error_names_file_and_line() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(
        d.path(),
        "p.cfg.lua",
        "x = 1\n\nlocal t = nil\ny = t.field\n",
    );
    assert_cli_error(d.path(), &main, &main, 4, "attempt to index a nil value");
}

#[test]
fn prosody_13_directives_are_runtime_errors_in_012() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(
        d.path(),
        "p.cfg.lua",
        "VirtualHost \"h\"\nsecret = FileContents(\"x\")\n",
    );
    let e = Config::load(&main).expect_err("fails");
    assert_eq!(e.line(), Some(2));
    assert!(
        e.to_string()
            .contains("attempt to call a nil value (global 'FileContents')"),
        "{e}"
    );
}

#[test]
fn error_raised_by_config_code_keeps_its_message() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(d.path(), "p.cfg.lua", "\nerror(\"custom failure\")\n");
    assert_cli_error(d.path(), &main, &main, 2, "custom failure");
}

#[test]
fn missing_include_exits_1_with_the_including_line() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(
        d.path(),
        "p.cfg.lua",
        "VirtualHost \"h\"\n\nInclude \"nope.cfg.lua\"\n",
    );
    assert_cli_error(d.path(), &main, &main, 3, "Error loading included");
}

#[test]
fn bad_host_name_exits_1_with_forbidden_characters() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(d.path(), "p.cfg.lua", "x = 1\nVirtualHost \"bad@host\"\n");
    let e = Config::load(&main).expect_err("fails");
    assert!(matches!(e, ConfigError::HostName { line: 2, .. }), "{e:?}");
    assert_cli_error(
        d.path(),
        &main,
        &main,
        2,
        "Name of Host \"bad@host\" contains forbidden characters",
    );
}

#[test]
fn host_without_a_name_is_an_error() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(d.path(), "p.cfg.lua", "VirtualHost()\n");
    let e = Config::load(&main).expect_err("fails");
    assert!(e.to_string().contains("Host must have a name"), "{e}");
}

#[test]
fn component_name_clashing_with_a_host_is_an_error() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(
        d.path(),
        "p.cfg.lua",
        "VirtualHost \"x.example\"\nComponent \"x.example\" \"muc\"\n",
    );
    let e = Config::load(&main).expect_err("fails");
    assert_eq!(e.line(), Some(2));
    assert!(
        e.to_string()
            .contains("clashes with previously defined Host"),
        "{e}"
    );
    let main2 = write(
        d.path(),
        "q.cfg.lua",
        "Component \"c.example\"\nVirtualHost \"c.example\"\n",
    );
    let e2 = Config::load(&main2).expect_err("fails");
    assert!(
        e2.to_string()
            .contains("clashes with previously defined Component"),
        "{e2}"
    );
}

#[test]
fn include_loop_exits_1_with_the_chain() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(d.path(), "p.cfg.lua", "Include \"a.lua\"\n");
    let a = write(d.path(), "a.lua", "\nInclude \"p.cfg.lua\"\n");
    assert_cli_error(
        d.path(),
        &main,
        &a,
        2,
        &format!(
            "Include loop: {} -> {} -> {}",
            main.display(),
            a.display(),
            main.display()
        ),
    );
}

#[test]
fn no_enabled_virtualhost_is_an_error_for_running() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(
        d.path(),
        "p.cfg.lua",
        "x = 1\nVirtualHost \"off\"\nenabled = false\nComponent \"c\"\n",
    );
    let e = Config::load(&main).expect_err("fails");
    assert!(matches!(e, ConfigError::NoVirtualHost { .. }));
    assert!(e
        .to_string()
        .contains("No enabled VirtualHost entries found in the config file."));
    assert!(Config::load_unchecked(&main).is_ok());
    let (code, _out, err) = lilt(&["-c", main.to_str().expect("utf8"), "run"], d.path());
    assert_eq!(code, 1);
    assert!(
        err.contains("No enabled VirtualHost entries found"),
        "{err}"
    );
}

#[test]
fn endless_loop_in_config_is_stopped_with_its_line() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(d.path(), "p.cfg.lua", "x = 1\nwhile true do end\n");
    let e = Config::load(&main).expect_err("fails");
    assert_eq!(e.line(), Some(2), "{e}");
    assert!(e.to_string().contains("ran too long"), "{e}");
}

#[test]
fn a_config_that_eats_memory_is_stopped_with_its_line() {
    // Found by the config_load fuzz target: a loop filling the globals used to run for
    // seconds up to a 256 MiB limit (then 64 MiB: still seconds under the fuzzer) and ended with a message naming no line.
    let d = tempfile::tempdir().expect("tmp");
    let main = write(
        d.path(),
        "p.cfg.lua",
        "x = 1\nfor i = 1, 1e15 do _G[\"opt\"..i] = string.rep(\"x\", 64) .. i end\n",
    );
    let started = std::time::Instant::now();
    let e = Config::load(&main).expect_err("fails");
    assert_eq!(e.line(), Some(2), "{e}");
    assert!(
        e.to_string()
            .contains("config evaluation used more than 16 MiB of memory")
            || e.to_string().contains("ran too long"),
        "{e}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "stopped in {:?}",
        started.elapsed()
    );
}

#[test]
fn missing_main_config_file_is_reported_with_the_paths_tried() {
    let d = tempfile::tempdir().expect("tmp");
    let (code, _out, err) = lilt(&["-c", "absent.cfg.lua", "check", "config"], d.path());
    assert_eq!(code, 1);
    assert!(
        err.contains("unable to find the configuration file"),
        "{err}"
    );
    assert!(err.contains("config/absent.cfg.lua"), "{err}");
}

#[test]
fn binary_chunks_are_refused() {
    let e = Config::load_bytes(Path::new("/v/p.cfg.lua"), b"\x1bLua\x54\x00garbage")
        .expect_err("fails");
    assert!(matches!(e, ConfigError::Syntax { .. }), "{e:?}");
}
