//! The timing and bounds every c2s session of a listener shares, read from the config
//! once per listener.

use std::time::Duration;

use crate::core::Shared;

/// Timing and bounds of the sessions of one listener, shared by all of them.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// `network_settings.read_timeout`: silence before a keepalive.
    pub read_timeout: Duration,
    /// `network_settings.send_timeout`: longest a write may make no progress.
    pub send_timeout: Duration,
    /// `c2s_close_timeout`: how long a clean close waits for the peer's closing tag.
    pub close_timeout: Duration,
    /// `c2s_timeout`: how long a stream may stay unauthenticated.
    pub c2s_timeout: Duration,
    /// `websocket_ping_interval` (WebSocket only).
    pub ping_interval: Option<Duration>,
    /// `websocket_pong_timeout` (WebSocket only).
    pub pong_timeout: Option<Duration>,
    /// `network_settings.max_send_buffer_size`: unsent output beyond this ends the session.
    pub max_send_buffer: usize,
    pub stanza_size_limit: usize,
    pub unauthed_stanza_size_limit: usize,
    pub max_child_elements: usize,
    /// `connection_monitoring`, where the transport reports it (WebSocket).
    pub monitoring: Option<crate::modules::websocket::options::Monitoring>,
    /// WebSocket framing: `websocket_max_frame_size` and the frame buffer limit.
    pub max_frame_size: Option<usize>,
    pub frame_buffer_limit: usize,
}

impl SessionSettings {
    /// The c2s settings of `shared` with `max_send_buffer`; no ping interval or pong
    /// timeout.
    pub fn from_shared(shared: &Shared, max_send_buffer: usize) -> Self {
        let c2s = &shared.c2s;
        let secs = |s: f64| Duration::from_secs_f64(s.max(0.001));
        SessionSettings {
            read_timeout: secs(c2s.read_timeout),
            send_timeout: secs(c2s.send_timeout),
            // `c2s_close_timeout` (the flat `websocket_close_timeout` is WebSocket's only).
            close_timeout: Duration::from_secs_f64(
                shared
                    .config
                    .global()
                    .number("c2s_close_timeout")
                    .unwrap_or(5.0)
                    .max(0.0),
            ),
            c2s_timeout: secs(c2s.c2s_timeout),
            ping_interval: None,
            pong_timeout: None,
            max_send_buffer,
            stanza_size_limit: c2s.stanza_size_limit,
            unauthed_stanza_size_limit: c2s.unauthed_stanza_size_limit,
            max_child_elements: c2s.max_child_elements,
            monitoring: None,
            max_frame_size: None,
            frame_buffer_limit: c2s.frame_buffer_limit,
        }
    }

    /// The settings of WebSocket sessions: the c2s ones refined by the guide's
    /// `websocket_*` options (read once per server, not per session).
    pub fn websocket(shared: &Shared, max_send_buffer: usize) -> Self {
        let edge = crate::modules::websocket::options::EdgeOptions::from_config(&shared.config);
        let mut s = SessionSettings::from_shared(shared, max_send_buffer);
        s.ping_interval = edge.ping_interval;
        s.pong_timeout = edge.pong_timeout;
        s.close_timeout = edge
            .close_timeout
            .unwrap_or_else(|| Duration::from_secs_f64(shared.c2s.close_timeout.max(0.0)));
        s.max_frame_size = edge.max_frame_size;
        if let Some(limit) = edge.frame_buffer_limit {
            s.frame_buffer_limit = limit;
        }
        s.monitoring = Some(edge.monitoring);
        s
    }

    /// The last flush of a closing session waits at most this long: the peer was told
    /// the stream is over, so nothing it still owes us is worth a long wait.
    pub(super) fn flush_deadline(&self) -> Duration {
        self.close_timeout
            .max(Duration::from_millis(100))
            .min(self.send_timeout)
    }
}
