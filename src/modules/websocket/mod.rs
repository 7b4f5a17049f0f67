//! mod_websocket (RFC 7395): frame codec, handshake helpers, the `<open/>`/`<close/>`
//! conversion and the HTTP route that upgrades a request. The XMPP session that runs over
//! the upgraded socket lives with c2s; this module only gets bytes to and from it.

pub mod conversion;
pub mod framing;
pub mod handshake;
pub mod keepalive;
pub mod options;
pub mod route;
