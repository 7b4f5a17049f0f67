//! The conformance suite on every driver that needs no server, and driver selection.

use std::sync::Arc;

use super::conformance::run_all;
use super::driver::Driver;
use super::manager::{host_choice, StorageConfigError};
use super::sql::{PoolSettings, SqlParams, SqlStore};
use super::{InternalStore, LuaTable, LuaValue, Storage};
use crate::config::Config;

fn sqlite_params(path: &std::path::Path) -> SqlParams {
    SqlParams {
        driver: "SQLite3".into(),
        database: path.display().to_string(),
        host: None,
        port: None,
        username: None,
        password: None,
        pool: PoolSettings {
            max_size: 2,
            idle_timeout: std::time::Duration::from_secs(60),
        },
        manage_tables: true,
    }
}

#[test]
fn internal_driver_passes_the_storage_suite() {
    let dir = tempfile::tempdir().expect("tempdir");
    run_all(
        Arc::new(InternalStore::new(dir.path().into())),
        "example.test",
    );
}

#[test]
fn memory_driver_passes_the_storage_suite() {
    run_all(Arc::new(super::memory::MemoryStore::new()), "example.test");
}

#[test]
fn sqlite_driver_passes_the_storage_suite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqlStore::open(&sqlite_params(&dir.path().join("prosody.sqlite"))).expect("open");
    run_all(Arc::new(store), "example.test");
}

#[test]
fn none_driver_keeps_nothing_and_refuses_writes() {
    let d = super::none::NoneStore;
    let mut t = LuaTable::new();
    t.set("salt", "x");
    let v = LuaValue::Table(t);
    assert!(d.set("h", Some("u"), "roster", Some(&v)).is_err());
    assert!(d.add("h", "u", "accounts", &v).is_err());
    assert!(d
        .archive_append_item("h", Some("u"), "offline", &v)
        .is_err());
    assert_eq!(d.get("h", Some("u"), "roster").expect("get"), None);
    assert!(
        d.set("h", Some("u"), "roster", None).is_ok(),
        "deleting is fine"
    );
}

fn config(text: &str) -> Config {
    Config::load_str(std::path::Path::new("/tmp/lilt-test.cfg.lua"), text).expect("config parses")
}

#[test]
fn storage_table_picks_drivers_per_store_with_default_storage_for_the_rest() {
    let c = config(
        "storage = { roster = \"memory\" }\ndefault_storage = \"none\"\nVirtualHost \"a.test\"\nVirtualHost \"b.test\"\nstorage = \"memory\"\n",
    );
    let a = host_choice(&c, "a.test").expect("valid");
    assert_eq!(a.driver_for("roster"), "memory");
    assert_eq!(a.driver_for("accounts"), "none");
    let b = host_choice(&c, "b.test").expect("valid");
    assert_eq!(b.driver_for("roster"), "memory");
    assert_eq!(b.driver_for("vcard"), "memory");
}

#[test]
fn storage_table_default_key_sets_the_default_driver() {
    let c = config(
        "storage = { roster = \"memory\", default = \"internal\" }\nVirtualHost \"a.test\"\n",
    );
    let a = host_choice(&c, "a.test").expect("valid");
    assert_eq!(a.driver_for("roster"), "memory");
    assert_eq!(a.driver_for("offline"), "internal");
}

#[test]
fn unknown_driver_is_an_error_naming_the_driver() {
    let c = config("VirtualHost \"a.test\"\nstorage = { archive = \"xep0227\" }\n");
    let err = host_choice(&c, "a.test").expect_err("unknown driver");
    assert!(matches!(err, StorageConfigError::UnknownDriver { .. }));
    let text = err.to_string();
    assert!(
        text.contains("'xep0227'") && text.contains("archive"),
        "{text}"
    );
}

#[test]
fn check_config_reports_an_unknown_driver_as_a_problem() {
    let c = config("storage = \"mongo\"\nVirtualHost \"a.test\"\n");
    let report = crate::config::check::check(&c);
    assert!(report.has_problems());
    assert!(
        report
            .of(crate::config::check::Severity::Problem)
            .any(|m| m.contains("'mongo'")),
        "{report:?}"
    );
}

#[test]
fn memory_storage_routes_every_store_to_the_process_and_internal_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Storage::with_default(dir.path().into(), "memory");
    let mut t = LuaTable::new();
    t.set("k", "v");
    s.set(
        "a.test",
        Some("u"),
        "roster",
        Some(&LuaValue::Table(t.clone())),
    )
    .expect("set");
    assert_eq!(
        s.get("a.test", Some("u"), "roster").expect("get"),
        Some(LuaValue::Table(t))
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        0,
        "no files"
    );
}

#[test]
fn migrate_copies_internal_to_sqlite_and_back_idempotently_with_a_dry_run_count() {
    use super::migrate::{migrate, Location};
    let dir = tempfile::tempdir().expect("tempdir");
    let src = InternalStore::new(dir.path().join("data"));
    let mut account = LuaTable::new();
    account.set("salt", "s");
    src.set(
        "a.test",
        Some("al.ice"),
        "accounts",
        Some(&LuaValue::Table(account)),
    )
    .expect("seed");
    let msg = super::internal::archive_item("k1", 5.0, "", &LuaValue::Table(LuaTable::new()));
    src.archive_append_item("a.test", Some("al.ice"), "offline", &msg)
        .expect("seed");
    let db = dir.path().join("x.sqlite");
    let dst = Location::parse(&format!("sqlite:{}", db.display()))
        .and_then(|l| l.open())
        .expect("open sqlite");
    let mut lines = Vec::new();
    let dry = migrate(&src, &*dst, &[], true, &mut |l| lines.push(l.to_owned())).expect("dry");
    assert_eq!((dry.keyval_values, dry.archive_items), (1, 1));
    assert_eq!(
        dst.get("a.test", Some("al.ice"), "accounts").expect("get"),
        None,
        "dry run writes nothing"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("a.test accounts: would copy 1 values")),
        "{lines:?}"
    );
    let done = migrate(&src, &*dst, &[], false, &mut |_| {}).expect("migrate");
    assert_eq!(done.hosts, 1);
    let again = migrate(&src, &*dst, &[], false, &mut |_| {}).expect("again");
    assert_eq!(
        (again.archive_items, again.archive_items_present),
        (0, 1),
        "idempotent"
    );
    assert_eq!(
        dst.archive_count("a.test", Some("al.ice"), "offline")
            .expect("count"),
        1
    );
    let back = InternalStore::new(dir.path().join("back"));
    migrate(&*dst, &back, &[], false, &mut |_| {}).expect("back");
    assert_eq!(
        back.get("a.test", Some("al.ice"), "accounts").expect("get"),
        src.get("a.test", Some("al.ice"), "accounts").expect("get")
    );
    assert_eq!(
        back.archive_list("a.test", Some("al.ice"), "offline")
            .expect("list")
            .len(),
        1
    );
}

#[test]
fn migrate_locations_parse_prosody_migrator_style_specs() {
    use super::migrate::Location;
    match Location::parse("postgresql://prosody:pw@127.0.0.1:5433/xmpp").expect("pg") {
        Location::Sql(p) => {
            assert_eq!(p.driver, "PostgreSQL");
            assert_eq!(p.port, Some(5433));
            assert_eq!(p.database, "xmpp");
            assert_eq!(p.username.as_deref(), Some("prosody"));
        }
        other => panic!("{other:?}"),
    }
    assert!(Location::parse("mysql://x").is_err());
}
