//! Instant messaging (RFC 6121 and the IM XEPs) through WebSocket clients: roster,
//! subscriptions, offline messages, carbons, blocking, and compatibility with Prosody's
//! stored data.

#[path = "../harness/mod.rs"]
mod harness;
use harness::{im_support, support};

mod blocking;
mod carbons;
mod offline;
mod prosody_compat;
mod roster;
mod subscription;
