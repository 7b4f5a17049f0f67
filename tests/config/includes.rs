//! `Include`/`include` and `RunScript` (reference §1.3) plus Lilt's extensions: wildcards
//! in directory parts, sorted load order, include loops reported with the chain.

use std::fs;
use std::path::PathBuf;

use lilt::config::{Config, ConfigError, Value};

use crate::tree::write;

#[test]
fn include_resolves_against_the_including_file_not_the_cwd() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(
        d.path(),
        "prosody.cfg.lua",
        "Include \"sub/a.cfg.lua\"\nVirtualHost \"h\"\n",
    );
    write(
        d.path(),
        "sub/a.cfg.lua",
        "Include \"b.cfg.lua\"\nfrom_a = 1\n",
    );
    write(d.path(), "sub/b.cfg.lua", "from_b = 2\n");
    let c = Config::load(&main).expect("loads");
    assert_eq!(c.global().integer("from_a"), Some(1));
    assert_eq!(c.global().integer("from_b"), Some(2));
}

#[test]
fn lowercase_include_and_leading_dot_slash_work() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(
        d.path(),
        "p.cfg.lua",
        "include \"./x.lua\"\nVirtualHost \"h\"\n",
    );
    write(d.path(), "x.lua", "x = true\n");
    let c = Config::load(&main).expect("loads");
    assert_eq!(c.global().boolean("x"), Some(true));
}

#[test]
fn include_under_a_virtualhost_starts_in_global_and_the_includer_continues_in_its_host() {
    // Verified example of reference §1.3.
    let d = tempfile::tempdir().expect("tmp");
    let main = write(
        d.path(),
        "p.cfg.lua",
        "VirtualHost \"h\"\nInclude \"inc.lua\"\nafter = 1\n",
    );
    write(d.path(), "inc.lua", "inner = 1\n");
    let c = Config::load(&main).expect("loads");
    assert_eq!(c.global().get_raw("inner"), Some(&Value::Integer(1)));
    assert_eq!(c.host("h").get_raw("inner"), None);
    assert_eq!(c.host("h").get_raw("after"), Some(&Value::Integer(1)));
}

#[test]
fn a_host_declared_in_an_included_file_does_not_leak_into_the_includer() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(d.path(), "p.cfg.lua", "Include \"host.lua\"\nafter = 1\n");
    write(d.path(), "host.lua", "VirtualHost \"h\"\ninner = 1\n");
    let c = Config::load(&main).expect("loads");
    assert_eq!(c.host("h").get_raw("inner"), Some(&Value::Integer(1)));
    assert_eq!(c.global().get_raw("after"), Some(&Value::Integer(1)));
}

#[test]
fn include_wildcard_in_last_part_loads_matches_in_sorted_order() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(
        d.path(),
        "p.cfg.lua",
        "Include \"conf.d/*.cfg.lua\"\nVirtualHost \"h\"\n",
    );
    for name in ["b.cfg.lua", "a.cfg.lua", "c.cfg.lua", ".hidden.cfg.lua"] {
        write(
            d.path(),
            &format!("conf.d/{name}"),
            &format!("order = \"{name}\"\n"),
        );
    }
    write(d.path(), "conf.d/skip.txt", "order = \"wrong\"\n");
    let c = Config::load(&main).expect("loads");
    assert_eq!(c.global().string("order").as_deref(), Some("c.cfg.lua"));
    let names: Vec<_> = c
        .files()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        vec!["p.cfg.lua", "a.cfg.lua", "b.cfg.lua", "c.cfg.lua"]
    );
}

#[test]
fn include_wildcard_in_directory_loads_in_sorted_order() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(
        d.path(),
        "p.cfg.lua",
        "Include \"stack/*/*.cfg.lua\"\nInclude \"domains/*/domain.cfg.lua\"\n",
    );
    write(
        d.path(),
        "stack/07-interfaces/websocket.cfg.lua",
        "layer = 7\n",
    );
    write(
        d.path(),
        "stack/01-transport/connections.cfg.lua",
        "layer = 1\nfirst = true\n",
    );
    write(
        d.path(),
        "domains/secondary/domain.cfg.lua",
        "VirtualHost \"two.example\"\n",
    );
    write(
        d.path(),
        "domains/primary/domain.cfg.lua",
        "VirtualHost \"one.example\"\n",
    );
    let c = Config::load(&main).expect("loads");
    assert_eq!(c.global().integer("layer"), Some(7));
    assert_eq!(c.virtual_hosts(), vec!["one.example", "two.example"]);
    let rel: Vec<_> = c
        .files()
        .iter()
        .map(|p| p.strip_prefix(d.path()).unwrap().to_path_buf())
        .collect();
    assert_eq!(
        rel,
        [
            "p.cfg.lua",
            "stack/01-transport/connections.cfg.lua",
            "stack/07-interfaces/websocket.cfg.lua",
            "domains/primary/domain.cfg.lua",
            "domains/secondary/domain.cfg.lua"
        ]
        .iter()
        .map(PathBuf::from)
        .collect::<Vec<_>>()
    );
}

#[test]
fn include_wildcard_with_no_match_in_an_existing_directory_loads_nothing() {
    let d = tempfile::tempdir().expect("tmp");
    fs::create_dir_all(d.path().join("empty")).expect("mkdir");
    let main = write(
        d.path(),
        "p.cfg.lua",
        "Include \"empty/*.lua\"\nVirtualHost \"h\"\n",
    );
    let c = Config::load(&main).expect("loads");
    assert_eq!(c.files().len(), 1);
}

#[test]
fn include_wildcard_in_a_missing_directory_is_an_error_at_the_include_line() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(d.path(), "p.cfg.lua", "\nInclude \"nowhere/*.lua\"\n");
    let e = Config::load(&main).expect_err("fails");
    assert!(matches!(e, ConfigError::Include { line: 2, .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with(&format!("{}:2: ", main.display())),
        "{e}"
    );
}

#[test]
fn missing_include_names_the_including_file_and_line() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(
        d.path(),
        "p.cfg.lua",
        "x = 1\nInclude \"missing.cfg.lua\"\n",
    );
    let e = Config::load(&main).expect_err("fails");
    let missing = d.path().join("missing.cfg.lua");
    assert_eq!(
        e.to_string(),
        format!(
            "{}:2: Error loading included {}: {}: No such file or directory",
            main.display(),
            missing.display(),
            missing.display()
        )
    );
}

#[test]
fn include_loop_is_reported_with_the_chain_of_files() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(d.path(), "p.cfg.lua", "Include \"a.lua\"\n");
    let a = write(d.path(), "a.lua", "Include \"b.lua\"\n");
    let b = write(d.path(), "b.lua", "\n\nInclude \"a.lua\"\n");
    let e = Config::load(&main).expect_err("fails");
    match &e {
        ConfigError::IncludeLoop { file, line, chain } => {
            assert_eq!(file, &b);
            assert_eq!(*line, 3);
            assert_eq!(chain, &vec![a.clone(), b.clone(), a.clone()]);
        }
        other => panic!("expected an include loop, got {other:?}"),
    }
    assert!(e.to_string().contains(" -> "), "{e}");
}

#[test]
fn a_file_including_itself_is_a_loop() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(d.path(), "p.cfg.lua", "Include \"p.cfg.lua\"\n");
    assert!(matches!(
        Config::load(&main),
        Err(ConfigError::IncludeLoop { .. })
    ));
}

#[test]
fn including_the_same_file_twice_in_sequence_is_not_a_loop() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(
        d.path(),
        "p.cfg.lua",
        "Include \"x.lua\"\nInclude \"x.lua\"\nVirtualHost \"h\"\n",
    );
    write(d.path(), "x.lua", "x = 1\n");
    let c = Config::load(&main).expect("loads");
    assert_eq!(c.files().len(), 3);
}

#[test]
fn files_are_absolute_and_listed_in_load_order() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(
        d.path(),
        "p.cfg.lua",
        "Include \"a.lua\"\nInclude \"c.lua\"\nVirtualHost \"h\"\n",
    );
    write(d.path(), "a.lua", "Include \"b.lua\"\n");
    write(d.path(), "b.lua", "");
    write(d.path(), "c.lua", "");
    let c = Config::load(&main).expect("loads");
    let names: Vec<_> = c
        .files()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["p.cfg.lua", "a.lua", "b.lua", "c.lua"]);
    assert!(c.files().iter().all(|p| p.is_absolute()));
    assert_eq!(c.config_dir(), d.path());
}

#[test]
fn runscript_runs_in_the_real_global_environment() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(
        d.path(),
        "p.cfg.lua",
        "RunScript \"script.lua\"\nfrom_script = lilt_test_global\nVirtualHost \"h\"\n",
    );
    write(
        d.path(),
        "script.lua",
        "lilt_test_global = \"set by script\"\n",
    );
    let c = Config::load(&main).expect("loads");
    // The script set a real global (not an option); the config can then read it.
    assert_eq!(c.global().get_raw("lilt_test_global"), None);
    assert_eq!(
        c.global().string("from_script").as_deref(),
        Some("set by script")
    );
}

#[test]
fn duplicate_option_in_one_file_warns_with_file_and_line() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(
        d.path(),
        "p.cfg.lua",
        "x = 1\nx = 2\nVirtualHost \"h\" { y = 1 }\nVirtualHost \"h\" { y = 2 }\n",
    );
    let c = Config::load(&main).expect("loads");
    assert_eq!(
        c.warnings(),
        &[format!("{}:2: Duplicate option 'x'", main.display())]
    );
}

#[test]
fn the_same_option_in_two_files_is_a_replacement_not_a_duplicate() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(
        d.path(),
        "p.cfg.lua",
        "modules_enabled = { \"roster\", \"tls\" }\nInclude \"later.lua\"\nVirtualHost \"h\"\n",
    );
    write(
        d.path(),
        "later.lua",
        "modules_enabled = { \"websocket\" }\n",
    );
    let c = Config::load(&main).expect("loads");
    assert!(c.warnings().is_empty());
    assert_eq!(c.replacements().len(), 1);
    assert_eq!(c.replacements()[0].key, "modules_enabled");
    assert_eq!(c.replacements()[0].old.line, 1);
}

#[test]
fn table_form_entries_and_multi_line_assignments_point_at_their_own_lines() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(
        d.path(),
        "p.cfg.lua",
        "VirtualHost \"h\" {\n    a = 1;\n    b = {\n        a = 2;\n    };\n}\na = 3\nlong = {\n  1,\n  2,\n}\n",
    );
    let c = Config::load(&main).expect("loads");
    let h = c.section_data("h").expect("host");
    assert_eq!(h.options["a"].line, 2);
    assert_eq!(h.options["b"].line, 3);
    assert_eq!(c.global_data().options["a"].line, 7);
    assert_eq!(c.global_data().options["long"].line, 8);
}

#[test]
fn absolute_include_paths_are_used_as_given() {
    let d = tempfile::tempdir().expect("tmp");
    let other = tempfile::tempdir().expect("tmp");
    let abs = write(other.path(), "abs.cfg.lua", "from_abs = true\n");
    let main = write(
        d.path(),
        "p.cfg.lua",
        &format!(
            "Include {:?}\nVirtualHost \"h\"\n",
            abs.display().to_string()
        ),
    );
    let c = Config::load(&main).expect("loads");
    assert_eq!(c.global().boolean("from_abs"), Some(true));
}

#[test]
fn question_mark_wildcard_matches_one_character() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(
        d.path(),
        "p.cfg.lua",
        "Include \"conf.d/?.lua\"\nVirtualHost \"h\"\n",
    );
    write(d.path(), "conf.d/a.lua", "a = true\n");
    write(d.path(), "conf.d/bb.lua", "bb = true\n");
    let c = Config::load(&main).expect("loads");
    assert_eq!(c.global().boolean("a"), Some(true));
    assert_eq!(c.global().get("bb"), None);
}
