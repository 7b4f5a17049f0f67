//! Lilt: a Prosody-compatible XMPP server and Lua module host.
//!
//! Lilt reads a Prosody 0.12 configuration tree, serves XMPP to clients over WebSocket
//! (RFC 7395) and TCP, and hosts Prosody-style Lua plugins. Protocol code (`xml`, `xmpp`,
//! framing, SASL, session state) is sans-IO; `net` is the thin tokio layer around it.
//! Lilt does not implement server-to-server federation yet.

pub mod config;
pub mod core;
pub mod lua;
pub mod modules;
pub mod net;
pub mod storage;
pub mod xml;
pub mod xmpp;
