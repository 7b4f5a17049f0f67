//! The conformance suite on a real PostgreSQL. The server's address comes from
//! `LILT_TEST_POSTGRES` (a `postgresql://user@host:port/db` URL; `.ci/run` starts one, and
//! so does `eval "$(scripts/pg-test.sh)"`). Without it these tests fail, saying so: a
//! storage driver that is never tested is not a driver.

use std::sync::Arc;

use lilt::storage::migrate::Location;

const ENV: &str = "LILT_TEST_POSTGRES";

/// A fresh database on the test server, as a `postgresql://` location.
#[track_caller]
pub fn database_url(name: &str) -> Option<String> {
    let Ok(url) = std::env::var(ENV) else {
        panic!(
            "{ENV} is not set: these tests need a PostgreSQL server.\n\
             Start a throwaway one with: eval \"$(scripts/pg-test.sh)\" (needs Debian's postgresql; \
             .ci/run does this in CI)"
        );
    };
    let base = url
        .rsplit_once('/')
        .map_or(url.as_str(), |(b, _)| b)
        .to_owned();
    let db = format!("lilt_{name}_{}", std::process::id());
    let mut client = postgres::Client::connect(&url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("cannot connect to {ENV}={url}: {e}"));
    for sql in [
        format!("DROP DATABASE IF EXISTS {db}"),
        format!("CREATE DATABASE {db}"),
    ] {
        client
            .batch_execute(&sql)
            .unwrap_or_else(|e| panic!("cannot create database {db}: {e:?}"));
    }
    Some(format!("{base}/{db}"))
}

#[test]
fn postgresql_driver_passes_the_storage_suite() {
    let Some(url) = database_url("suite") else {
        return;
    };
    let driver = Location::parse(&url)
        .and_then(|l| l.open())
        .unwrap_or_else(|e| panic!("{e}"));
    lilt::storage::conformance::run_all(Arc::clone(&driver), "example.test");
}

/// A copy of the Prosody-made fixture data dir, without `misc.dat` (a serializer fixture
/// holding a NUL byte, which PostgreSQL text cannot store; Prosody's driver fails on it
/// too).
fn prosody_data_dir() -> tempfile::TempDir {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/prosody-data/example%2etest");
    let dir = tempfile::tempdir().expect("tempdir");
    for store in ["accounts", "roster", "offline"] {
        let to = dir.path().join("example%2etest").join(store);
        std::fs::create_dir_all(&to).expect("mkdir");
        for e in std::fs::read_dir(src.join(store)).expect("fixture") {
            let e = e.expect("entry");
            std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
        }
    }
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_moves_a_prosody_internal_data_dir_into_postgresql_and_lilt_serves_it() {
    let url = std::thread::spawn(|| database_url("migrate"))
        .join()
        .expect("database")
        .expect("database");
    let data = prosody_data_dir();
    let (url2, path) = (url.clone(), data.path().to_owned());
    let counts = std::thread::spawn(move || {
        let from = Location::Internal(path).open().expect("internal");
        let to = Location::parse(&url2).and_then(|l| l.open()).expect("pg");
        let counts = lilt::storage::migrate::migrate(&*from, &*to, &[], false, &mut |_| {})
            .expect("migrate");
        let again =
            lilt::storage::migrate::migrate(&*from, &*to, &[], false, &mut |_| {}).expect("again");
        assert_eq!(again.archive_items, 0, "idempotent: {again:?}");
        counts
    })
    .join()
    .expect("migration");
    assert!(
        counts.keyval_values >= 3 && counts.archive_items >= 1,
        "{counts:?}"
    );

    let Ok(Location::Sql(p)) = Location::parse(&url) else {
        panic!("bad url {url}");
    };
    let sql = format!(
        r#"storage = "sql"
sql = {{ driver = "PostgreSQL", database = "{}", host = "{}", port = {}, username = "{}" }}"#,
        p.database,
        p.host.unwrap_or_default(),
        p.port.unwrap_or(5432),
        p.username.unwrap_or_default()
    );
    let server = crate::support::Server::start(
        &crate::support::base_config(&sql)
            .replace("\"ping\", \"disco\" }", "\"ping\", \"disco\", \"roster\" }"),
    )
    .await;
    let mut alice = crate::support::WsClient::connect(server.addr).await;
    alice.login("alice", "secret", "migrated").await;
    alice
        .send_text(
            "<iq xmlns='jabber:client' type='get' id='rg'><query xmlns='jabber:iq:roster'/></iq>",
        )
        .await;
    loop {
        let t = alice.next_text().await;
        if t.contains("id='rg'") {
            assert!(t.contains("<item "), "the migrated roster is served: {t}");
            break;
        }
    }
}
