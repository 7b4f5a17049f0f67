//! MUC (issue 16, reference §13): raw-client scripts played against Lilt and against
//! Debian's Prosody 0.12.3 with the same config must produce the same stanzas (ids,
//! timestamps and occupant-ids aside), plus Lilt-only checks where Prosody is not needed.

#[path = "harness/mod.rs"]
mod harness;
use harness::{common, support, tcp_support};

#[path = "muc/diff.rs"]
mod diff;
#[path = "muc/differential.rs"]
mod differential;
#[path = "muc/fanout.rs"]
mod fanout;
#[path = "muc/lifecycle.rs"]
mod lifecycle;
#[path = "muc/mam.rs"]
mod mam;
#[path = "muc/slixmpp.rs"]
mod slixmpp;
#[path = "muc/storage.rs"]
mod storage;
