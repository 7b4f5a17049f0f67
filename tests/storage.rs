//! Storage through the whole server: driver selection (`storage = "memory"`, `"none"`,
//! per-store tables), atomic account creation, storage errors as clients see them, the
//! core serving others while a big roster is saved, acknowledged writes surviving SIGKILL,
//! the conformance suite on PostgreSQL, and Prosody's SQL databases served both ways.

#[path = "harness/mod.rs"]
mod harness;
use harness::{common, im_support, support};

#[path = "storage/accounts.rs"]
mod accounts;
#[path = "storage/drivers.rs"]
mod drivers;
#[path = "storage/flood.rs"]
mod flood;
#[path = "storage/kill.rs"]
mod kill;
#[path = "storage/offline.rs"]
mod offline;
#[path = "storage/postgres.rs"]
mod postgres;
#[path = "storage/prosody.rs"]
mod prosody;
#[path = "storage/prosody_sql.rs"]
mod prosody_sql;
#[path = "storage/roundtrip.rs"]
mod roundtrip;
#[path = "storage/throughput.rs"]
mod throughput;
