//! Account storage compatibility with Debian's Prosody 0.12, proven with a real client:
//! accounts created by `prosodyctl register` log in to Lilt, and accounts created by
//! `lilt register` log in to Prosody, both sharing one `data_path`.
//! Needs prosody + node modules (`bash .ci/run`).

use crate::common;

use common::{
    assert_login_and_chat, interop_ready, minimal_config, prosody_ready, run_login_and_chat,
    Prosody, ServerDir, PASSWORD,
};

const DOMAIN: &str = "example.test";
const MECHANISMS: [&str; 2] = ["SCRAM-SHA-1", "PLAIN"];

fn ready() -> bool {
    interop_ready() && prosody_ready()
}

#[test]
fn prosodyctl_registered_accounts_log_in_to_lilt_with_scram_sha1_and_plain() {
    if !ready() {
        return;
    }
    let dir = ServerDir::new(minimal_config(DOMAIN));
    let prosody = Prosody::new(&dir.data_path(), DOMAIN);
    prosody.register("alice", DOMAIN, PASSWORD);
    prosody.register("bob", DOMAIN, PASSWORD);
    let server = dir.start();
    for mechanism in MECHANISMS {
        let run = run_login_and_chat(server.http_port(), DOMAIN, mechanism, &[]);
        assert_login_and_chat(&run, DOMAIN, mechanism);
    }
}

#[test]
fn lilt_registered_accounts_log_in_to_prosody_with_scram_sha1_and_plain() {
    if !ready() {
        return;
    }
    let dir = ServerDir::new(minimal_config(DOMAIN));
    dir.register("alice", DOMAIN, PASSWORD);
    dir.register("bob", DOMAIN, PASSWORD);
    let account = dir.data_path().join("example%2etest/accounts/alice.dat");
    assert!(
        account.is_file(),
        "lilt register did not write {} (Prosody's internal storage layout)",
        account.display()
    );
    let mut prosody = Prosody::new(&dir.data_path(), DOMAIN);
    prosody.start();
    for mechanism in MECHANISMS {
        let run = run_login_and_chat(prosody.http_port, DOMAIN, mechanism, &[]);
        assert_login_and_chat(&run, DOMAIN, mechanism);
    }
}

/// Control: the same scenario entirely on Prosody. When this fails, the environment
/// (prosody, node modules, harness) is broken, not Lilt.
#[test]
fn control_prosody_accepts_its_own_accounts_with_scram_sha1_and_plain() {
    if !ready() {
        return;
    }
    let data = tempfile::tempdir().expect("temp dir");
    let mut prosody = Prosody::new(data.path(), DOMAIN);
    prosody.register("alice", DOMAIN, PASSWORD);
    prosody.register("bob", DOMAIN, PASSWORD);
    prosody.start();
    for mechanism in MECHANISMS {
        let run = run_login_and_chat(prosody.http_port, DOMAIN, mechanism, &[]);
        assert_login_and_chat(&run, DOMAIN, mechanism);
    }
}

/// `lilt adduser JID` with the password on a non-TTY stdin (one line) makes an account that
/// Prosody accepts; bob comes from `lilt register` so the chat scenario has both users.
#[test]
fn lilt_adduser_with_password_on_stdin_makes_an_account_prosody_accepts() {
    if !ready() {
        return;
    }
    let dir = ServerDir::new(minimal_config(DOMAIN));
    let out = dir.lilt(&["adduser", "alice@example.test"], Some("secret\n"));
    assert!(
        out.status.success(),
        "lilt adduser failed:\n{}",
        common::describe(&out)
    );
    dir.register("bob", DOMAIN, PASSWORD);
    let mut prosody = Prosody::new(&dir.data_path(), DOMAIN);
    prosody.start();
    let run = run_login_and_chat(prosody.http_port, DOMAIN, "SCRAM-SHA-1", &[]);
    assert_login_and_chat(&run, DOMAIN, "SCRAM-SHA-1");
}
