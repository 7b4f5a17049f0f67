//! Issue 21: Converse.js over BOSH chats with Converse.js over WebSocket, directly and
//! behind the guide's nginx (examples/proxy/nginx, over HTTPS with a self-signed
//! certificate).

use super::runner;
use crate::harness::proxy;

#[test]
fn converse_over_bosh_chats_with_a_websocket_user() {
    if !runner::ready(&[]) {
        return;
    }
    let _one_browser = runner::browser_lock();
    let server = runner::start(&runner::config(&[], "", ""), &["alice", "bob"]);
    let run = runner::scenario(&server, "bosh.mjs", "converse bosh", &[]);
    assert_eq!(run.step("connected")["alice"], "bosh");
    run.step("websocket to bosh");
}

#[test]
fn converse_over_bosh_through_nginx_chats_with_a_websocket_user() {
    let nginx = std::path::Path::new("/usr/sbin/nginx");
    if !runner::ready(&[("nginx (apt-get install nginx)", nginx.exists())]) {
        return;
    }
    let _one_browser = runner::browser_lock();
    let host = proxy::runners::NAMES[0];
    let config = runner::config_for(host, &[], r#"trusted_proxies = { "127.0.0.1" }"#, "");
    let server = runner::start_on(host, &config, &["alice", "bob"]);
    let prefix = tempfile::tempdir().expect("prefix");
    let (cert, key, _der) = proxy::runners::certificate(prefix.path());
    let setup = proxy::runners::Setup {
        tls_port: proxy::free_port(),
        plain_port: proxy::free_port(),
        lilt_port: server.http_port(),
        cert,
        key,
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime for the proxy runner");
    let running = rt.block_on(proxy::runners::nginx(nginx, prefix.path(), &setup));
    let base = format!("https://{host}:{}", setup.tls_port);
    let run = runner::scenario(
        &server,
        "bosh.mjs",
        "converse bosh",
        &[
            ("LILT_URL", base.clone()),
            ("LILT_DOMAIN", host.to_owned()),
            ("LILT_PROXIED", "1".to_owned()),
        ],
    );
    assert_eq!(run.step("connected")["alice"], "bosh");
    run.step("websocket to bosh");
    drop(running);
}
