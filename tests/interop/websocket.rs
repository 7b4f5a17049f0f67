//! Real-client interop over WebSocket: two @xmpp/client 0.13 clients log in to Lilt with a
//! forced SASL mechanism, chat both ways, ping the server and read its disco#info.
//! Needs node + `tests/interop/node_modules` (`bash .ci/run` or `npm ci` in tests/interop).

use crate::common;

use common::{
    assert_login_and_chat, assert_login_refused, interop_ready, minimal_config, run_login_and_chat,
    ServerDir, TestServer, PASSWORD,
};

const DOMAIN: &str = "example.test";

/// A Lilt server with alice and bob created by `lilt register` before it starts.
fn server_with_alice_and_bob() -> TestServer {
    let dir = ServerDir::new(minimal_config(DOMAIN));
    dir.register("alice", DOMAIN, PASSWORD);
    dir.register("bob", DOMAIN, PASSWORD);
    dir.start()
}

#[test]
fn websocket_clients_chat_ping_and_disco_with_scram_sha1() {
    if !interop_ready() {
        return;
    }
    let server = server_with_alice_and_bob();
    let run = run_login_and_chat(server.http_port(), DOMAIN, "SCRAM-SHA-1", &[]);
    assert_login_and_chat(&run, DOMAIN, "SCRAM-SHA-1");
}

#[test]
fn websocket_clients_chat_ping_and_disco_with_plain() {
    if !interop_ready() {
        return;
    }
    let server = server_with_alice_and_bob();
    let run = run_login_and_chat(server.http_port(), DOMAIN, "PLAIN", &[]);
    assert_login_and_chat(&run, DOMAIN, "PLAIN");
}

#[test]
fn websocket_login_with_wrong_password_is_not_authorized_for_both_mechanisms() {
    if !interop_ready() {
        return;
    }
    let server = server_with_alice_and_bob();
    for mechanism in ["SCRAM-SHA-1", "PLAIN"] {
        let run = run_login_and_chat(
            server.http_port(),
            DOMAIN,
            mechanism,
            &["--alice", "alice:not-the-password"],
        );
        assert_login_refused(&run);
    }
}
