//! Listeners, TLS and transports: the tokio layer that moves bytes between sockets and the
//! sans-IO protocol code. Nothing here decides protocol behaviour.

pub mod c2s;
pub mod c2s_session;
pub mod http;
pub mod listener;
pub mod serve;
pub mod settings;
pub mod tcp;
pub mod tls;
pub mod websocket;

pub use serve::{start, Listeners};
