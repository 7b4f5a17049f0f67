//! Storage behind one seam, shaped like Prosody's storagemanager: drivers `internal`
//! (Lua table files under `data_path`), `memory`, `none` and `sql` (Prosody's tables on
//! SQLite or PostgreSQL), chosen per host and store; the executor that runs store work
//! off the core thread; and the Lua value model and file formats the drivers share.

pub mod call;
pub mod driver;
pub mod error;
pub mod executor;
pub mod group;
pub mod index;
pub mod internal;
mod internal_driver;
pub mod lua_value;
pub mod manager;
pub mod memory;
pub mod migrate;
pub mod none;
pub mod serialization;
pub mod sql;
pub mod stanza;

pub use driver::{ArchiveQuery, Driver, StoreKind};
pub use error::StorageError;
pub use executor::Executor;
pub use internal::{encode_path_part, InternalStore};
pub use internal_driver::decode_path_part;
pub use lua_value::{LuaKey, LuaTable, LuaValue};
pub use manager::{Storage, StorageConfigError};

#[doc(hidden)]
pub mod conformance;

#[cfg(test)]
mod seam_tests;
