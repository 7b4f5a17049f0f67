//! The store seam every driver implements, shaped like Prosody's storagemanager: keyval
//! stores (with map access to one key) and archives, addressed by host, user (`None` for
//! host-level data) and store name. Values are the Lua value model all drivers share.

use std::fmt;

use super::error::StorageError;
use super::lua_value::{LuaKey, LuaTable, LuaValue};

pub type StoreResult<T> = Result<T, StorageError>;

/// Which kind of store a name is opened as (Prosody's `typ` argument of `open`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreKind {
    Keyval,
    Archive,
}

/// An archive query (Prosody's `archive:find`): the time range is inclusive, `after` and
/// `before` are exclusive item keys, `limit` counts items returned, `reverse` walks from
/// the newest.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArchiveQuery {
    pub start: Option<f64>,
    pub end: Option<f64>,
    pub with: Option<String>,
    pub key: Option<String>,
    pub after: Option<String>,
    pub before: Option<String>,
    pub limit: Option<usize>,
    pub reverse: bool,
}

/// One storage driver (`internal`, `memory`, `none`, `sql`). Every method is blocking and
/// may be slow: the core calls them through the storage executor, never on its thread.
pub trait Driver: Send + Sync + fmt::Debug {
    /// The name the `storage` option gives this driver.
    fn name(&self) -> &'static str;

    /// The whole keyval value; `None` when nothing is stored.
    fn get(&self, host: &str, user: Option<&str>, store: &str) -> StoreResult<Option<LuaValue>>;

    /// Replaces the value; `None` or an empty table deletes it. Returns once durable.
    fn set(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        value: Option<&LuaValue>,
    ) -> StoreResult<()>;

    /// Stores `value` only when nothing is stored yet, atomically with respect to every
    /// other writer: `Ok(false)` when a value was already there (and is kept).
    fn add(&self, host: &str, user: &str, store: &str, value: &LuaValue) -> StoreResult<bool>;

    /// One field of a keyval table (Prosody's map store `get`).
    fn map_get(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        key: &LuaKey,
    ) -> StoreResult<Option<LuaValue>> {
        Ok(self
            .get(host, user, store)?
            .and_then(|v| v.as_table().and_then(|t| t.get(key)).cloned()))
    }

    /// Sets (or with `None` removes) one field of a keyval table.
    fn map_set(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        key: LuaKey,
        value: Option<LuaValue>,
    ) -> StoreResult<()> {
        let mut table = match self.get(host, user, store)? {
            Some(LuaValue::Table(t)) => t,
            _ => LuaTable::new(),
        };
        table.set(key, value.unwrap_or(LuaValue::Nil));
        self.set(host, user, store, Some(&LuaValue::Table(table)))
    }

    /// Appends one archive item: a table holding the value's fields plus `key`, `when`
    /// and `with`, as Prosody's internal driver writes it. Returns once durable.
    fn archive_append_item(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        item: &LuaValue,
    ) -> StoreResult<()>;

    /// Appends several items in order, durable together when it returns (drivers that can
    /// flush once for the batch do; the default appends one by one).
    fn archive_append_items(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        items: &[LuaValue],
    ) -> StoreResult<()> {
        for item in items {
            self.archive_append_item(host, user, store, item)?;
        }
        Ok(())
    }

    /// Every item in append order.
    fn archive_list(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
    ) -> StoreResult<Vec<LuaValue>>;

    /// The items `query` selects, in the order it asks for.
    fn archive_find(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        query: &ArchiveQuery,
    ) -> StoreResult<Vec<LuaValue>> {
        Ok(filter_items(self.archive_list(host, user, store)?, query))
    }

    /// How many items the archive holds.
    fn archive_count(&self, host: &str, user: Option<&str>, store: &str) -> StoreResult<usize> {
        Ok(self.archive_list(host, user, store)?.len())
    }

    /// Replaces the whole archive; an empty slice deletes it.
    fn archive_replace(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        items: &[LuaValue],
    ) -> StoreResult<()>;

    /// Users with data in `store` of `host` (`None` for the host-level value), for
    /// `lilt migrate` (Prosody's `users()`).
    fn users(&self, host: &str, store: &str, kind: StoreKind) -> StoreResult<Vec<Option<String>>>;

    /// The store names `host` has data in, with their kind.
    fn stores(&self, host: &str) -> StoreResult<Vec<(String, StoreKind)>>;

    /// The hosts with any data (`""` for host-less data), for `lilt migrate`.
    fn hosts(&self) -> StoreResult<Vec<String>> {
        Ok(Vec::new())
    }
}

/// A field of an archive item.
pub fn item_str<'a>(item: &'a LuaValue, field: &str) -> Option<&'a str> {
    item.as_table()?.field(field)?.as_str()
}

/// The `when` of an archive item, in Unix seconds.
pub fn item_when(item: &LuaValue) -> Option<f64> {
    item.as_table()?.field("when")?.as_f64()
}

/// Applies an [`ArchiveQuery`] to items in append order (the generic `find` of drivers
/// without an index).
pub fn filter_items(items: Vec<LuaValue>, q: &ArchiveQuery) -> Vec<LuaValue> {
    let matches = |item: &LuaValue| {
        let when = item_when(item).unwrap_or(0.0);
        q.start.is_none_or(|s| when >= s)
            && q.end.is_none_or(|e| when <= e)
            && q.with
                .as_deref()
                .is_none_or(|w| item_str(item, "with") == Some(w))
            && q.key
                .as_deref()
                .is_none_or(|k| item_str(item, "key") == Some(k))
    };
    let position = |key: &str| items.iter().position(|i| item_str(i, "key") == Some(key));
    let lo = match &q.after {
        Some(k) => match position(k) {
            Some(p) => p + 1,
            None => return Vec::new(),
        },
        None => 0,
    };
    let hi = match &q.before {
        Some(k) => match position(k) {
            Some(p) => p,
            None => return Vec::new(),
        },
        None => items.len(),
    };
    if lo >= hi {
        return Vec::new();
    }
    let limit = q.limit.unwrap_or(usize::MAX);
    let window = items.into_iter().skip(lo).take(hi - lo);
    if q.reverse {
        let mut all: Vec<LuaValue> = window.filter(|i| matches(i)).collect();
        all.reverse();
        all.truncate(limit);
        all
    } else {
        window.filter(|i| matches(i)).take(limit).collect()
    }
}
