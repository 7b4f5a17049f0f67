//! XMPP over WebSocket (RFC 7395, reference §5.4–5.7): the HTTP layer's upgraded
//! connection enters the one c2s driver with the WebSocket framing.

use std::sync::Arc;

use tracing::Instrument;

use crate::core::Shared;
use crate::modules::websocket::framing::FrameDecoder;
use crate::net::c2s::ws_framing::WsFraming;
use crate::net::c2s::{drive, C2sSession, SessionSettings, Socket};
use crate::net::http::WsIo;

pub use crate::net::c2s::ws_framing::element_frame;

/// What the HTTP layer knows about the upgraded request.
#[derive(Debug, Clone)]
pub struct WsInfo {
    pub ip: Option<std::net::IpAddr>,
    pub secure: bool,
    /// The sessions' settings ([`SessionSettings::websocket`]), built once per server.
    pub settings: Arc<SessionSettings>,
}

/// Runs one WebSocket XMPP session to its end, inside a span carrying the session id and
/// the client's address (after `trusted_proxies`).
///
/// A plain function, not an `async fn`: an async fn keeps its arguments in its future for
/// the session's whole life, beside the moved copies.
pub fn serve(
    io: WsIo,
    info: WsInfo,
    shared: Arc<Shared>,
) -> impl std::future::Future<Output = ()> + Send {
    let id = shared.new_session_id();
    let span = {
        let ip = info.ip.map(|ip| ip.to_string()).unwrap_or_default();
        tracing::info_span!("websocket", id, ip = %ip)
    };
    let (socket, session) = setup(io, info, shared, id);
    drive(socket, session, None).instrument(span)
}

fn setup(
    io: WsIo,
    info: WsInfo,
    shared: Arc<Shared>,
    id: u64,
) -> (Socket, Box<C2sSession<WsFraming>>) {
    let (socket, prefix) = match io {
        WsIo::Tcp { stream, prefix } => (Socket::Tcp(stream), prefix),
        WsIo::Other(io) => (Socket::boxed(io), bytes::Bytes::new()),
    };
    let settings = info.settings;
    let decoder = FrameDecoder::new(
        settings
            .max_frame_size
            .unwrap_or(settings.stanza_size_limit),
        settings.frame_buffer_limit,
    );
    let framing = WsFraming::new(decoder, settings.max_frame_size);
    let secure = info.secure || shared.c2s.consider_websocket_secure;
    let now = tokio::time::Instant::now().into_std();
    let mut session = Box::new(C2sSession::new(
        shared,
        settings,
        framing,
        id,
        info.ip,
        secure,
        info.secure,
        now,
    ));
    if !prefix.is_empty() {
        // Frames that arrived together with the upgrade request.
        session.receive(&prefix, now);
    }
    (socket, session)
}

#[cfg(test)]
#[path = "websocket_tests.rs"]
mod tests;
