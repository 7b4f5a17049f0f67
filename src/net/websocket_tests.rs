//! Size budget of an idle WebSocket session: every byte of the connection task's future
//! is kept for the whole life of the session, so the bench's idle-memory target depends
//! on it staying small.

use std::sync::Arc;

use super::*;
use crate::config::Config;
use crate::modules::c2s::stream::C2sStream;
use crate::net::c2s::SessionSettings;
use crate::xml::StreamParser;

fn shared() -> Arc<Shared> {
    let text = "http_ports = { }\nhttps_ports = { }\nc2s_ports = { }\n\
                c2s_require_encryption = false\nVirtualHost \"example.test\"\n";
    let path = std::path::Path::new("/nonexistent/prosody.cfg.lua");
    let config = Config::load_str(path, text).expect("config parses");
    crate::core::server::build(config).0
}

#[tokio::test]
async fn idle_session_future_fits_the_budget() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let _client = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (stream, _) = listener.accept().await.expect("accept");
    let io = WsIo::Tcp {
        stream,
        prefix: bytes::Bytes::new(),
    };
    let shared = shared();
    let info = WsInfo {
        ip: None,
        secure: false,
        settings: Arc::new(SessionSettings::websocket(&shared, 1 << 20)),
    };
    let fut = serve(io, info, shared);
    let size = std::mem::size_of_val(&fut);
    eprintln!(
        "serve future {size} B; C2sSession {} B, C2sStream {} B, StreamParser {} B, WsFraming {} B",
        std::mem::size_of::<C2sSession<WsFraming>>(),
        std::mem::size_of::<C2sStream>(),
        std::mem::size_of::<StreamParser>(),
        std::mem::size_of::<WsFraming>(),
    );
    eprintln!(
        "Sleep {} B, Socket {} B, Keepalive {} B, SessionLimits {} B, Span {} B, Output {} B",
        std::mem::size_of::<tokio::time::Sleep>(),
        std::mem::size_of::<Socket>(),
        std::mem::size_of::<crate::modules::websocket::keepalive::Keepalive>(),
        std::mem::size_of::<crate::modules::limits::SessionLimits>(),
        std::mem::size_of::<tracing::Span>(),
        std::mem::size_of::<crate::net::c2s::output::Output>(),
    );
    // One driver for every transport now; the session is a separate allocation, so the
    // budget is the future and the session together (the WebSocket-only driver's future,
    // session state included, was 1 368 B in a debug build). Growing past this bound
    // costs every idle session the difference. Stream management took 16 B of it: its
    // state pointer in the session, and the driver listening for a resuming connection.
    let session = std::mem::size_of::<C2sSession<WsFraming>>();
    assert!(
        size + session <= 1_408,
        "serve future {size} B + session {session} B"
    );
}
