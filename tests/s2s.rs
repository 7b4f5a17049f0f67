//! Federation (issue 20): Lilt servers on their own loopback addresses with a test CA and a
//! test DNS server federate over STARTTLS with certificates (SASL EXTERNAL) or dialback;
//! policy refusals, bounces, hostile peers, and Lilt <-> Prosody 0.12.
//!
//! Everything stays on this machine: servers bind 127.0.0.2, 127.0.0.3, ... and resolve
//! each other through `tests/s2s/dns.rs` (`s2s_resolver`).

#[path = "s2s/bench.rs"]
mod bench;
#[path = "s2s/bidi.rs"]
mod bidi;
#[path = "s2s/client.rs"]
mod client;
#[path = "s2s/dns.rs"]
mod dns;
#[path = "s2s/events.rs"]
mod events;
#[path = "s2s/hostile.rs"]
mod hostile;
#[path = "s2s/lilt.rs"]
mod lilt_pair;
#[path = "s2s/muc.rs"]
mod muc;
#[path = "s2s/node.rs"]
mod node;
#[path = "s2s/pep.rs"]
mod pep;
#[path = "s2s/prosody.rs"]
mod prosody;
