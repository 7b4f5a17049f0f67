//! The `none` driver (Prosody's mod_storage_none): nothing is kept. Reads find nothing,
//! writes fail with "Storage disabled" (so a registration on such a host fails rather than
//! pretending), deletes succeed.
//!
//! One deliberate difference: Prosody's `get` answers an empty table, which makes every
//! name look like an existing account; here a read finds nothing at all.

use super::driver::{Driver, StoreKind, StoreResult};
use super::lua_value::LuaValue;
use super::StorageError;

#[derive(Debug, Default)]
pub struct NoneStore;

fn disabled() -> StorageError {
    StorageError::Disabled
}

impl Driver for NoneStore {
    fn name(&self) -> &'static str {
        "none"
    }

    fn get(&self, _: &str, _: Option<&str>, _: &str) -> StoreResult<Option<LuaValue>> {
        Ok(None)
    }

    fn set(&self, _: &str, _: Option<&str>, _: &str, value: Option<&LuaValue>) -> StoreResult<()> {
        match value {
            None | Some(LuaValue::Nil) => Ok(()),
            Some(LuaValue::Table(t)) if t.is_empty() => Ok(()),
            Some(_) => Err(disabled()),
        }
    }

    fn add(&self, _: &str, _: &str, _: &str, _: &LuaValue) -> StoreResult<bool> {
        Err(disabled())
    }

    fn archive_append_item(
        &self,
        _: &str,
        _: Option<&str>,
        _: &str,
        _: &LuaValue,
    ) -> StoreResult<()> {
        Err(disabled())
    }

    fn archive_list(&self, _: &str, _: Option<&str>, _: &str) -> StoreResult<Vec<LuaValue>> {
        Ok(Vec::new())
    }

    fn archive_replace(
        &self,
        _: &str,
        _: Option<&str>,
        _: &str,
        items: &[LuaValue],
    ) -> StoreResult<()> {
        if items.is_empty() {
            Ok(())
        } else {
            Err(disabled())
        }
    }

    fn users(&self, _: &str, _: &str, _: StoreKind) -> StoreResult<Vec<Option<String>>> {
        Ok(Vec::new())
    }

    fn stores(&self, _: &str) -> StoreResult<Vec<(String, StoreKind)>> {
        Ok(Vec::new())
    }
}
