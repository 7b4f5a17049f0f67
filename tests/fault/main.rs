//! Fault injection: abandoned and slow peers, a full disk under accounts, rosters and
//! offline stores, SIGKILL after an acknowledged message, signals and shutdown, fuzz
//! regressions, and the (ignored, minutes-long) soak.

#[path = "../harness/mod.rs"]
mod harness;
use harness::{common, im_support, support};

mod fault_support;

mod abandon;
mod accounts;
mod fuzz_regressions;
mod im_kill;
mod lifecycle;
mod offline;
mod roster;
mod signals;
mod slow_peer;
mod soak;
