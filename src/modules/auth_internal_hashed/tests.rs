//! Account lifecycle against a temporary data directory. Low iteration counts keep the
//! debug-build tests fast; the 10000 default is exercised by tests/sasl_accounts.rs.

use super::*;
use crate::storage::LuaTable;

fn accounts(hash: ScramHash) -> (tempfile::TempDir, Arc<Storage>, Accounts) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Storage::internal(dir.path().to_path_buf()));
    let accounts = Accounts::new(store.clone(), hash).with_iteration_count(64);
    (dir, store, accounts)
}

fn record(store: &Storage, user: &str) -> LuaTable {
    let v = store
        .get("example.com", Some(user), STORE)
        .unwrap()
        .unwrap();
    v.as_table().unwrap().clone()
}

#[test]
fn create_writes_prosody_shaped_record_under_nodeprepped_name() {
    let (_dir, store, accounts) = accounts(ScramHash::Sha1);
    accounts.create("example.com", "Alice", "secret").unwrap();
    assert!(accounts.exists("example.com", "ALICE").unwrap());
    let t = record(&store, "alice");
    let mut keys: Vec<_> = t.iter().map(|(k, _)| k.as_str().unwrap()).collect();
    keys.sort();
    assert_eq!(
        keys,
        ["iteration_count", "salt", "server_key", "stored_key"]
    );
    assert!(uuid::Uuid::parse_str(t.field("salt").unwrap().as_str().unwrap()).is_ok());
    assert_eq!(t.field("iteration_count"), Some(&LuaValue::Int(64)));
    let stored = t.field("stored_key").unwrap().as_str().unwrap();
    assert_eq!(stored.len(), 40);
    assert_eq!(stored, stored.to_lowercase());
    assert!(matches!(
        accounts.create("example.com", "alice", "x"),
        Err(AccountError::Exists)
    ));
}

#[test]
fn test_password_accepts_right_and_rejects_wrong() {
    let (_dir, _store, accounts) = accounts(ScramHash::Sha256);
    accounts.create("example.com", "bob", "pencil").unwrap();
    assert!(accounts
        .test_password("example.com", "bob", "pencil")
        .unwrap());
    assert!(accounts
        .test_password("example.com", "BOB", "pencil")
        .unwrap());
    assert!(!accounts
        .test_password("example.com", "bob", "Pencil")
        .unwrap());
    assert!(!accounts
        .test_password("example.com", "nobody", "pencil")
        .unwrap());
    assert!(!accounts
        .test_password("example.com", "a b", "pencil")
        .unwrap());
    let t = record(&_store, "bob");
    assert_eq!(t.field("stored_key").unwrap().as_str().unwrap().len(), 64);
}

#[test]
fn set_password_keeps_salt_and_raises_iterations_to_default() {
    let (_dir, store, accounts) = accounts(ScramHash::Sha1);
    accounts.create("example.com", "carol", "old").unwrap();
    let before = record(&store, "carol");
    let mut t = before.clone();
    t.set("iteration_count", 10i64);
    t.set("extra", "kept");
    store
        .set("example.com", Some("carol"), STORE, Some(&t.into()))
        .unwrap();
    accounts
        .set_password("example.com", "carol", "new")
        .unwrap();
    let after = record(&store, "carol");
    assert_eq!(after.field("salt"), before.field("salt"));
    assert_eq!(after.field("iteration_count"), Some(&LuaValue::Int(64)));
    assert_eq!(after.field("extra"), Some(&LuaValue::from("kept")));
    assert!(accounts
        .test_password("example.com", "carol", "new")
        .unwrap());
    assert!(!accounts
        .test_password("example.com", "carol", "old")
        .unwrap());
    assert!(matches!(
        accounts.set_password("example.com", "nobody", "x"),
        Err(AccountError::NotFound)
    ));
}

#[test]
fn legacy_plaintext_password_is_migrated_on_first_success() {
    let (_dir, store, accounts) = accounts(ScramHash::Sha1);
    let mut t = LuaTable::new();
    t.set("password", "hunter2");
    store
        .set("example.com", Some("dave"), STORE, Some(&t.into()))
        .unwrap();
    assert!(!accounts
        .test_password("example.com", "dave", "wrong")
        .unwrap());
    assert!(record(&store, "dave").field("password").is_some());
    assert!(accounts
        .test_password("example.com", "dave", "hunter2")
        .unwrap());
    let after = record(&store, "dave");
    assert_eq!(after.field("password"), None);
    assert!(after.field("stored_key").is_some());
    assert!(accounts
        .test_password("example.com", "dave", "hunter2")
        .unwrap());
}

#[test]
fn scram_credentials_match_the_stored_hash_only() {
    let (_dir, store, accounts) = accounts(ScramHash::Sha1);
    accounts.create("example.com", "erin", "pw").unwrap();
    let creds = accounts
        .scram_credentials("example.com", "erin", ScramHash::Sha1)
        .unwrap()
        .unwrap();
    assert_eq!(
        creds,
        derive_credentials("pw", &creds.salt, 64, ScramHash::Sha1)
    );
    assert_eq!(
        accounts
            .scram_credentials("example.com", "erin", ScramHash::Sha256)
            .unwrap(),
        None
    );
    assert_eq!(
        accounts
            .scram_credentials("example.com", "nobody", ScramHash::Sha1)
            .unwrap(),
        None
    );
    let mut t = LuaTable::new();
    t.set("password", "plain");
    store
        .set("example.com", Some("finn"), STORE, Some(&t.into()))
        .unwrap();
    let creds = accounts
        .scram_credentials("example.com", "finn", ScramHash::Sha1)
        .unwrap()
        .unwrap();
    assert_eq!(
        creds,
        derive_credentials("plain", &creds.salt, 64, ScramHash::Sha1)
    );
    assert!(record(&store, "finn").field("password").is_none());
}

#[test]
fn unusable_record_is_reported_as_bad_record() {
    let (_dir, store, accounts) = accounts(ScramHash::Sha1);
    let mut t = LuaTable::new();
    t.set("salt", "s");
    t.set("iteration_count", 10i64);
    t.set("stored_key", "zz");
    t.set("server_key", "00");
    store
        .set("example.com", Some("gus"), STORE, Some(&t.into()))
        .unwrap();
    assert!(matches!(
        accounts.test_password("example.com", "gus", "x"),
        Err(AccountError::BadRecord { .. })
    ));
}

#[test]
fn delete_removes_the_account() {
    let (_dir, _store, accounts) = accounts(ScramHash::Sha1);
    accounts.create("example.com", "hal", "pw").unwrap();
    accounts.delete("example.com", "hal").unwrap();
    assert!(!accounts.exists("example.com", "hal").unwrap());
    accounts.delete("example.com", "hal").unwrap();
    assert!(matches!(
        accounts.create("example.com", "a@b", "pw"),
        Err(AccountError::InvalidUsername)
    ));
    assert!(matches!(
        accounts.create("example.com", "ok", "bad\u{7}"),
        Err(AccountError::InvalidPassword)
    ));
}

#[test]
fn accounts_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Accounts>();
}
