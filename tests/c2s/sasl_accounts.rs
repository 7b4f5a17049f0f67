//! Accounts written by Prosody's `prosodyctl register` authenticate through our SCRAM
//! server with a simulated client, and accounts we write load in real Lua (lua5.4).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use lilt::modules::auth_internal_hashed::Accounts;
use lilt::storage::Storage;
use lilt::xmpp::sasl::{SaslError, ScramHash, ScramServer};

use crate::harness::scram::ScramClient;

fn prosody_accounts(hash: ScramHash) -> (tempfile::TempDir, Accounts) {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/prosody-data/example%2etest/accounts");
    let dst = dir.path().join("example%2etest/accounts");
    std::fs::create_dir_all(&dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dst.join(entry.file_name())).unwrap();
    }
    let store = Arc::new(Storage::internal(dir.path().to_path_buf()));
    (dir, Accounts::new(store, hash))
}

/// An independent SCRAM client: runs the whole exchange against `ScramServer`, looking the
/// user up in `accounts`, and checks the server signature it gets back.
fn client_exchange(
    accounts: &Accounts,
    hash: ScramHash,
    user: &str,
    password: &str,
) -> Result<String, SaslError> {
    let mut client = ScramClient::new(hash, user, "Zm9vYmFyYmF6cXV4", None);
    let (state, username) =
        ScramServer::new(hash).client_first(client.client_first().as_bytes())?;
    let creds = accounts
        .scram_credentials("example.test", &username, hash)
        .unwrap();
    let (state, challenge) = state.server_first(creds);
    let challenge = String::from_utf8(challenge).unwrap();
    let final_msg = client.client_final(&challenge, password);
    let (server_final, username) = state.client_final(final_msg.as_bytes())?;
    assert_eq!(
        String::from_utf8(server_final).unwrap(),
        client.expected_server_final()
    );
    Ok(username)
}

#[test]
fn prosody_registered_account_verifies_password() {
    let (_dir, accounts) = prosody_accounts(ScramHash::Sha1);
    assert!(accounts
        .test_password("example.test", "alice", "secret")
        .unwrap());
    assert!(!accounts
        .test_password("example.test", "alice", "Secret")
        .unwrap());
    assert!(accounts
        .test_password("example.test", "bob.x", "pencil")
        .unwrap());
    assert!(accounts.exists("example.test", "Bob.X").unwrap());
}

#[test]
fn prosody_registered_account_completes_scram_sha1_exchange() {
    let (_dir, accounts) = prosody_accounts(ScramHash::Sha1);
    assert_eq!(
        client_exchange(&accounts, ScramHash::Sha1, "alice", "secret").unwrap(),
        "alice"
    );
    assert_eq!(
        client_exchange(&accounts, ScramHash::Sha1, "bob.x", "pencil").unwrap(),
        "bob.x"
    );
}

#[test]
fn wrong_password_and_unknown_user_fail_at_the_final_step() {
    let (_dir, accounts) = prosody_accounts(ScramHash::Sha1);
    let wrong = client_exchange(&accounts, ScramHash::Sha1, "alice", "nope").unwrap_err();
    assert_eq!(wrong, SaslError::InvalidProof);
    let unknown = client_exchange(&accounts, ScramHash::Sha1, "mallory", "x").unwrap_err();
    assert_eq!(unknown, SaslError::InvalidProof);
    assert_eq!(unknown.condition(), "not-authorized");
}

#[test]
fn sha256_account_completes_scram_sha256_exchange() {
    let (_dir, accounts) = prosody_accounts(ScramHash::Sha256);
    accounts
        .create("example.test", "carol", "p\u{e4}ss")
        .unwrap();
    assert_eq!(
        client_exchange(&accounts, ScramHash::Sha256, "carol", "p\u{e4}ss").unwrap(),
        "carol"
    );
}

#[test]
fn account_written_by_us_loads_in_lua() {
    let (dir, accounts) = prosody_accounts(ScramHash::Sha1);
    accounts.create("example.test", "dave.y", "secret").unwrap();
    let file = dir.path().join("example%2etest/accounts/dave%2ey.dat");
    let script = format!(
        "local t = dofile({:?}); print(t.salt, t.iteration_count, math.type(t.iteration_count), t.stored_key, t.server_key)",
        file.display().to_string()
    );
    let output = match Command::new("lua5.4").arg("-e").arg(&script).output() {
        Ok(o) => o,
        Err(e) => {
            // CI installs lua5.4 (with prosody); a bare developer machine may lack it.
            eprintln!(
                "SKIPPED: lua5.4 not runnable ({e}); install it with `apt-get install lua5.4`"
            );
            return;
        }
    };
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let fields: Vec<&str> = stdout.trim_end().split('\t').collect();
    let creds = accounts
        .scram_credentials("example.test", "dave.y", ScramHash::Sha1)
        .unwrap()
        .unwrap();
    assert_eq!(fields[0], creds.salt);
    assert_eq!(fields[1], "10000");
    assert_eq!(fields[2], "integer");
    assert_eq!(fields[3], hex::encode(&creds.stored_key));
    assert_eq!(fields[4], hex::encode(&creds.server_key));
}

/// Prosody's own crypto (`util.hashes`, as its mod_auth_internal_hashed uses it) must derive
/// the keys we stored from the password, salt and iteration count we stored.
#[test]
fn account_written_by_us_verifies_with_prosody_hashes() {
    let lib = Path::new("/usr/lib/prosody");
    if !lib.join("util/hashes.so").exists() {
        eprintln!("SKIPPED: Prosody's util.hashes not installed (apt-get install prosody)");
        return;
    }
    for (hash, suffix) in [(ScramHash::Sha1, "sha1"), (ScramHash::Sha256, "sha256")] {
        let (dir, accounts) = prosody_accounts(hash);
        accounts
            .create("example.test", "erin", "s3cr\u{e9}t")
            .unwrap();
        let file = dir.path().join("example%2etest/accounts/erin.dat");
        let script = format!(
            r#"package.cpath = "/usr/lib/prosody/?.so;" .. package.cpath
            local hashes = require "util.hashes"
            local t = dofile({file:?})
            local salted = hashes.pbkdf2_hmac_{suffix}("s3cr\195\169t", t.salt, t.iteration_count)
            local stored = hashes.{suffix}(hashes.hmac_{suffix}(salted, "Client Key"), true)
            local server = hashes.hmac_{suffix}(salted, "Server Key", true)
            print(stored == t.stored_key and server == t.server_key and "match" or "mismatch")"#,
            file = file.display().to_string(),
        );
        let output = Command::new("lua5.4")
            .arg("-e")
            .arg(&script)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            "match",
            "{suffix}"
        );
    }
}

/// Same lines as a `prosodyctl register` file once the random values are blanked out and
/// the lines sorted (Prosody's key order is Lua's hash order).
#[test]
fn account_file_format_matches_prosody_line_for_line() {
    let (dir, accounts) = prosody_accounts(ScramHash::Sha1);
    accounts.create("example.test", "frank", "secret").unwrap();
    let shape = |rel: &str| {
        let text = std::fs::read_to_string(dir.path().join(rel)).unwrap();
        let mut lines: Vec<String> = text
            .lines()
            .map(|l| match l.split_once(" = \"") {
                Some((key, _)) => format!("{key} = \"…\";"),
                None => l.to_owned(),
            })
            .collect();
        lines.sort();
        (lines, text.ends_with("};\n"))
    };
    let ours = shape("example%2etest/accounts/frank.dat");
    let prosodys = shape("example%2etest/accounts/alice.dat");
    assert_eq!(ours, prosodys);
}
