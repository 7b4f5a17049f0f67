//! Native modules, one folder per Prosody module name.

pub mod auth_internal_hashed;
pub mod c2s;
pub mod disco;
pub mod http;
pub mod iq;
pub mod message;
pub mod ping;
pub mod presence;
pub mod saslauth;
pub mod tls;
pub mod websocket;
