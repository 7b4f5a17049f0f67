//! The one harness every test crate includes (`#[path = "../harness/mod.rs"] mod harness;`):
//! `lilt` servers on free loopback ports, in process or as a child, the test clients for
//! each framing, the edge-proxy runners, and Debian's Prosody as a differential peer.
//! It holds no tests of its own; each crate uses the parts it needs.
#![allow(dead_code)]

pub mod alone;
pub mod common;
pub mod http_support;
pub mod im_support;
pub mod proxy;
pub mod scram;
pub mod support;
pub mod tcp_support;
