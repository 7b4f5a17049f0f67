//! The HTTP request path up to routing: arbitrary bytes on a connection into the real
//! hyper-based server with the WebSocket app routed, exactly as `http_ports` serves it.
//! Nothing may panic and the connection must end once the client has hung up.
#![no_main]

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use lilt::modules::http::{HttpSettings, Router, Scope};
use lilt::modules::websocket::route;
use lilt::net::http::{serve_connection, HttpApp, WebSocketCallback};
use tokio::io::AsyncWriteExt;

fn app() -> Arc<HttpApp> {
    static APP: OnceLock<Arc<HttpApp>> = OnceLock::new();
    APP.get_or_init(|| {
        let settings = HttpSettings::default();
        let mut router = Router::new();
        let ws = Arc::new(route::WebSocketSettings::default());
        let _ = router.add_app(
            &Scope::host("example.test"),
            route::app(ws.clone()),
            &settings,
        );
        let _ = router.add_app(&Scope::global(), route::app(ws), &settings);
        // Upgraded sockets are dropped: the WebSocket session has its own targets.
        let on_ws: WebSocketCallback = Arc::new(|_io, _req| {});
        Arc::new(HttpApp::new(router, settings, on_ws))
    })
    .clone()
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    let app = app();
    runtime().block_on(async move {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let peer: SocketAddr = "192.0.2.1:4000".parse().expect("addr");
        let serving = tokio::spawn(serve_connection(server, peer, false, app));
        let _ = client.write_all(data).await;
        let _ = client.shutdown().await;
        // Drain responses so the server never blocks on a full pipe.
        let drain = tokio::spawn(async move {
            let mut sink = tokio::io::sink();
            let _ = tokio::io::copy(&mut client, &mut sink).await;
        });
        let done = tokio::time::timeout(Duration::from_secs(5), serving).await;
        assert!(
            done.is_ok(),
            "connection did not end after the client hung up"
        );
        drain.abort();
    });
});
