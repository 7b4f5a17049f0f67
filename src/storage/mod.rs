//! Storage drivers speaking Prosody's formats: `internal` (Lua table files under
//! `data_path`), with the Lua value model and the `.dat`/`.list` serialization they share.

pub mod error;
pub mod internal;
pub mod lua_value;
pub mod serialization;

pub use error::StorageError;
pub use internal::{encode_path_part, InternalStore};
pub use lua_value::{LuaKey, LuaTable, LuaValue};
