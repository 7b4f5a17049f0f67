//! Listeners, TLS and transports: the tokio layer that moves bytes between sockets and the
//! sans-IO protocol code.
pub mod http;
