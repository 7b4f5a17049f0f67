//! Real third-party clients and Prosody itself against Lilt: @xmpp/client over WebSocket
//! and TCP, IM scenarios, a Prosody-made data dir served by Lilt and the other way round,
//! Prosody's account storage, and the bundled config tree. The node and Python drivers
//! live next to this file.

#[path = "../harness/mod.rs"]
mod harness;
use harness::common;

mod bundled_config;
mod im;
mod im_data;
mod prosody_accounts;
mod websocket;
