//! Native modules, one folder per Prosody module name.

pub mod auth_internal_hashed;
pub mod c2s;
pub mod http;
pub mod limits;
pub mod saslauth;
pub mod tls;
pub mod websocket;
