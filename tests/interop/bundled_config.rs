//! The bundled `config/` tree, copied as it is (only ports, data path and log overridden by
//! the harness): two @xmpp/client users log in over WebSocket with SCRAM-SHA-1 and with
//! PLAIN, chat both ways, ping the server and read its disco#info.

use crate::common;

use common::{
    assert_login_and_chat, interop_ready, repo_root, run_login_and_chat, ServerConfig, ServerDir,
    PASSWORD,
};

const DOMAIN: &str = "localhost";

fn bundled() -> ServerConfig {
    ServerConfig::Tree {
        dir: repo_root().join("config"),
        main: "prosody.cfg.lua".into(),
    }
}

fn chat(mechanism: &str) {
    if !interop_ready() {
        return;
    }
    let dir = ServerDir::new(bundled());
    dir.register("alice", DOMAIN, PASSWORD);
    dir.register("bob", DOMAIN, PASSWORD);
    let server = dir.start();
    let run = run_login_and_chat(server.http_port(), DOMAIN, mechanism, &[]);
    assert_login_and_chat(&run, DOMAIN, mechanism);
}

#[test]
fn bundled_config_serves_xmpp_client_with_scram_sha1() {
    chat("SCRAM-SHA-1");
}

#[test]
fn bundled_config_serves_xmpp_client_with_plain() {
    chat("PLAIN");
}
