//! The `memory` driver (Prosody's mod_storage_memory): stores live in this process only and
//! are gone after a restart. Useful for tests and for data nobody wants kept (rosters of a
//! throwaway host).

use std::collections::HashMap;
use std::sync::Mutex;

use super::driver::{Driver, StoreKind, StoreResult};
use super::lua_value::LuaValue;
use super::StorageError;

type Key = (String, Option<String>, String);

#[derive(Debug, Default)]
pub struct MemoryStore {
    keyval: Mutex<HashMap<Key, LuaValue>>,
    archives: Mutex<HashMap<Key, Vec<LuaValue>>>,
}

fn key(host: &str, user: Option<&str>, store: &str) -> Key {
    (host.to_owned(), user.map(str::to_owned), store.to_owned())
}

fn poisoned<T>(_: T) -> StorageError {
    StorageError::Invalid("memory store lock poisoned")
}

fn is_empty(value: &LuaValue) -> bool {
    matches!(value, LuaValue::Nil) || value.as_table().is_some_and(|t| t.is_empty())
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

impl Driver for MemoryStore {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn get(&self, host: &str, user: Option<&str>, store: &str) -> StoreResult<Option<LuaValue>> {
        let map = self.keyval.lock().map_err(poisoned)?;
        Ok(map.get(&key(host, user, store)).cloned())
    }

    fn set(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        value: Option<&LuaValue>,
    ) -> StoreResult<()> {
        let mut map = self.keyval.lock().map_err(poisoned)?;
        match value {
            Some(v) if !is_empty(v) => {
                map.insert(key(host, user, store), v.clone());
            }
            _ => {
                map.remove(&key(host, user, store));
            }
        }
        Ok(())
    }

    fn add(&self, host: &str, user: &str, store: &str, value: &LuaValue) -> StoreResult<bool> {
        let mut map = self.keyval.lock().map_err(poisoned)?;
        let k = key(host, Some(user), store);
        if map.contains_key(&k) {
            return Ok(false);
        }
        map.insert(k, value.clone());
        Ok(true)
    }

    fn archive_append_item(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        item: &LuaValue,
    ) -> StoreResult<()> {
        let mut map = self.archives.lock().map_err(poisoned)?;
        map.entry(key(host, user, store))
            .or_default()
            .push(item.clone());
        Ok(())
    }

    fn archive_list(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
    ) -> StoreResult<Vec<LuaValue>> {
        let map = self.archives.lock().map_err(poisoned)?;
        Ok(map
            .get(&key(host, user, store))
            .cloned()
            .unwrap_or_default())
    }

    fn archive_count(&self, host: &str, user: Option<&str>, store: &str) -> StoreResult<usize> {
        let map = self.archives.lock().map_err(poisoned)?;
        Ok(map.get(&key(host, user, store)).map_or(0, Vec::len))
    }

    fn archive_replace(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        items: &[LuaValue],
    ) -> StoreResult<()> {
        let mut map = self.archives.lock().map_err(poisoned)?;
        if items.is_empty() {
            map.remove(&key(host, user, store));
        } else {
            map.insert(key(host, user, store), items.to_vec());
        }
        Ok(())
    }

    fn users(&self, host: &str, store: &str, kind: StoreKind) -> StoreResult<Vec<Option<String>>> {
        let pick = |k: &Key| (k.0 == host && k.2 == store).then(|| k.1.clone());
        let mut users: Vec<Option<String>> = match kind {
            StoreKind::Keyval => self
                .keyval
                .lock()
                .map_err(poisoned)?
                .keys()
                .filter_map(pick)
                .collect(),
            StoreKind::Archive => self
                .archives
                .lock()
                .map_err(poisoned)?
                .keys()
                .filter_map(pick)
                .collect(),
        };
        users.sort();
        Ok(users)
    }

    fn hosts(&self) -> StoreResult<Vec<String>> {
        let mut hosts: Vec<String> = self
            .keyval
            .lock()
            .map_err(poisoned)?
            .keys()
            .map(|k| k.0.clone())
            .collect();
        hosts.extend(
            self.archives
                .lock()
                .map_err(poisoned)?
                .keys()
                .map(|k| k.0.clone()),
        );
        hosts.sort();
        hosts.dedup();
        Ok(hosts)
    }

    fn stores(&self, host: &str) -> StoreResult<Vec<(String, StoreKind)>> {
        let mut out: Vec<(String, StoreKind)> = Vec::new();
        for k in self.keyval.lock().map_err(poisoned)?.keys() {
            if k.0 == host {
                out.push((k.2.clone(), StoreKind::Keyval));
            }
        }
        for k in self.archives.lock().map_err(poisoned)?.keys() {
            if k.0 == host {
                out.push((k.2.clone(), StoreKind::Archive));
            }
        }
        out.sort_by(|a, b| (&a.0, a.1 as u8).cmp(&(&b.0, b.1 as u8)));
        out.dedup();
        Ok(out)
    }
}
