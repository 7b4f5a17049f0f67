//! Prosody's storagemanager: which driver serves each (host, store), from the `storage`
//! option (a driver name, or a table of store -> driver), `default_storage` for stores the
//! table does not name, and `internal` otherwise. [`Storage`] is what the server holds;
//! its methods route every store call to the right driver.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::driver::{ArchiveQuery, Driver, StoreKind, StoreResult};
use super::internal::InternalStore;
use super::lua_value::{LuaKey, LuaValue};
use super::memory::MemoryStore;
use super::none::NoneStore;
use crate::config::{Config, Value};

/// The drivers Lilt has, by the names the `storage` option uses.
pub const DRIVERS: &[&str] = &["internal", "memory", "none", "sql"];

/// An operator's storage configuration Lilt cannot follow.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageConfigError {
    #[error("unknown storage driver '{driver}' for store '{store}' on {host} (known: internal, memory, none, sql)")]
    UnknownDriver {
        driver: String,
        store: String,
        host: String,
    },
    #[error("option 'storage' on {host} must be a driver name or a table of store = driver")]
    BadShape { host: String },
    #[error("SQL storage on {host}: {reason}")]
    Sql { host: String, reason: String },
}

/// How one host picks drivers: per store, else its default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostChoice {
    pub by_store: HashMap<String, String>,
    pub default: String,
}

impl HostChoice {
    /// The driver name for `store`.
    pub fn driver_for(&self, store: &str) -> &str {
        self.by_store
            .get(store)
            .map(String::as_str)
            .unwrap_or(&self.default)
    }
}

/// Reads `storage` and `default_storage` of `host` (global options when `host` is `*`).
pub fn host_choice(config: &Config, host: &str) -> Result<HostChoice, StorageConfigError> {
    let section = if host.is_empty() || host == "*" {
        config.global()
    } else {
        config.host(host)
    };
    let default_storage = section
        .string("default_storage")
        .unwrap_or_else(|| "internal".to_owned());
    let mut choice = HostChoice {
        by_store: HashMap::new(),
        default: default_storage,
    };
    match section.get("storage") {
        None => {}
        Some(Value::String(name)) => choice.default = name.clone(),
        Some(Value::Table(t)) if t.seq().is_empty() => {
            for (store, driver) in t.entries() {
                let Some(driver) = driver.as_str() else {
                    return Err(StorageConfigError::BadShape { host: host.into() });
                };
                if store == "default" {
                    choice.default = driver.to_owned();
                } else {
                    choice.by_store.insert(store.clone(), driver.to_owned());
                }
            }
        }
        Some(_) => return Err(StorageConfigError::BadShape { host: host.into() }),
    }
    let names = std::iter::once((&"*".to_owned(), &choice.default))
        .chain(choice.by_store.iter())
        .map(|(s, d)| (s.clone(), d.clone()))
        .collect::<Vec<_>>();
    for (store, driver) in names {
        // A Lua `mod_storage_<name>` on plugin_paths provides the driver for Lua
        // plugins' stores; native modules keep the internal driver for it.
        let lua_provider =
            || crate::lua::loader::locate(config, &format!("storage_{driver}")).is_some();
        if !DRIVERS.contains(&driver.as_str()) && !lua_provider() {
            return Err(StorageConfigError::UnknownDriver {
                driver,
                store,
                host: if host.is_empty() {
                    "*".into()
                } else {
                    host.into()
                },
            });
        }
    }
    Ok(choice)
}

/// Checks every host's storage options without opening anything (for startup and
/// `lilt check config`).
pub fn check_config(config: &Config) -> Result<(), StorageConfigError> {
    host_choice(config, "*")?;
    for host in config.host_names() {
        host_choice(config, host)?;
    }
    Ok(())
}

/// The server's stores: one driver instance per kind (SQL: per distinct `sql` table),
/// chosen per (host, store).
#[derive(Debug)]
pub struct Storage {
    data_path: PathBuf,
    hosts: HashMap<String, HostChoice>,
    global: HostChoice,
    internal: Arc<InternalStore>,
    memory: Arc<MemoryStore>,
    none: Arc<NoneStore>,
    /// SQL drivers by host (hosts sharing one `sql` table share one driver).
    sql: HashMap<String, Arc<dyn Driver>>,
}

impl Storage {
    /// Every store on the `internal` driver under `data_path` (tests, tools).
    pub fn internal(data_path: PathBuf) -> Storage {
        Storage::with_default(data_path, "internal")
    }

    /// Every store on one driver that needs no options (`internal`, `memory`, `none`).
    pub fn with_default(data_path: PathBuf, driver: &str) -> Storage {
        Storage {
            internal: Arc::new(InternalStore::new(data_path.clone())),
            data_path,
            hosts: HashMap::new(),
            global: HostChoice {
                by_store: HashMap::new(),
                default: driver.to_owned(),
            },
            memory: Arc::new(MemoryStore::new()),
            none: Arc::new(NoneStore),
            sql: HashMap::new(),
        }
    }

    /// The stores `config` describes; SQL databases are opened (and their tables made,
    /// with `sql_manage_tables`) here.
    pub fn from_config(config: &Config) -> Result<Storage, StorageConfigError> {
        let mut storage = Storage::internal(config.data_path());
        storage.global = host_choice(config, "*")?;
        let mut sql_by_params: Vec<(String, Arc<dyn Driver>)> = Vec::new();
        for host in config.host_names() {
            let choice = host_choice(config, host)?;
            let uses_sql = choice.default == "sql" || choice.by_store.values().any(|d| d == "sql");
            if uses_sql {
                let params = super::sql::SqlParams::from_config(config, host);
                let id = format!("{params:?}");
                let driver = match sql_by_params.iter().find(|(p, _)| *p == id) {
                    Some((_, d)) => d.clone(),
                    None => {
                        let d: Arc<dyn Driver> =
                            Arc::new(super::sql::SqlStore::open(&params).map_err(|e| {
                                StorageConfigError::Sql {
                                    host: host.to_owned(),
                                    reason: e.to_string(),
                                }
                            })?);
                        sql_by_params.push((id, d.clone()));
                        d
                    }
                };
                storage.sql.insert(host.to_owned(), driver);
            }
            storage.hosts.insert(host.to_owned(), choice);
        }
        Ok(storage)
    }

    pub fn data_path(&self) -> &Path {
        &self.data_path
    }

    /// The internal driver itself (for code that reads Prosody's files directly).
    pub fn internal_driver(&self) -> &Arc<InternalStore> {
        &self.internal
    }

    /// The internal driver when it serves `store` on `host` (its archives have an index,
    /// see [`super::index`]).
    pub fn indexed(&self, host: &str, store: &str) -> Option<&InternalStore> {
        (self.driver_name(host, store) == "internal").then_some(&*self.internal)
    }

    /// The name of the driver serving `store` on `host`.
    pub fn driver_name(&self, host: &str, store: &str) -> &str {
        self.hosts
            .get(host)
            .unwrap_or(&self.global)
            .driver_for(store)
    }

    /// The driver serving `store` on `host`.
    pub fn driver(&self, host: &str, store: &str) -> &dyn Driver {
        match self.driver_name(host, store) {
            "memory" => &*self.memory,
            "none" => &*self.none,
            "sql" => match self.sql.get(host) {
                Some(d) => &**d,
                // A host the config did not open SQL for (a host-less store): nothing kept.
                None => &*self.none,
            },
            _ => &*self.internal,
        }
    }

    /// Every distinct driver serving `host` (for purges and migration).
    pub fn drivers_of(&self, host: &str) -> Vec<&dyn Driver> {
        let choice = self.hosts.get(host).unwrap_or(&self.global);
        let mut names: Vec<&str> = choice.by_store.values().map(String::as_str).collect();
        names.push(&choice.default);
        names.sort();
        names.dedup();
        names
            .into_iter()
            .map(|n| match n {
                "memory" => &*self.memory as &dyn Driver,
                "none" => &*self.none,
                "sql" => self
                    .sql
                    .get(host)
                    .map_or(&*self.none as &dyn Driver, |d| &**d),
                _ => &*self.internal,
            })
            .collect()
    }

    pub fn get(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
    ) -> StoreResult<Option<LuaValue>> {
        self.driver(host, store).get(host, user, store)
    }

    pub fn set(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        value: Option<&LuaValue>,
    ) -> StoreResult<()> {
        self.driver(host, store).set(host, user, store, value)
    }

    /// Create-if-absent (see [`Driver::add`]).
    pub fn add(&self, host: &str, user: &str, store: &str, value: &LuaValue) -> StoreResult<bool> {
        self.driver(host, store).add(host, user, store, value)
    }

    pub fn map_get(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        key: &LuaKey,
    ) -> StoreResult<Option<LuaValue>> {
        self.driver(host, store).map_get(host, user, store, key)
    }

    pub fn map_set(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        key: LuaKey,
        value: Option<LuaValue>,
    ) -> StoreResult<()> {
        self.driver(host, store)
            .map_set(host, user, store, key, value)
    }

    /// Appends `value`'s fields plus `key`, `when` and `with` as one archive item.
    #[allow(clippy::too_many_arguments)]
    pub fn archive_append(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        key: &str,
        when: f64,
        with: &str,
        value: &LuaValue,
    ) -> StoreResult<()> {
        let item = super::internal::archive_item(key, when, with, value);
        self.archive_append_item(host, user, store, &item)
    }

    pub fn archive_append_item(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        item: &LuaValue,
    ) -> StoreResult<()> {
        self.driver(host, store)
            .archive_append_item(host, user, store, item)
    }

    /// Appends `items` in order, with one flush where the driver can.
    pub fn archive_append_items(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        items: &[LuaValue],
    ) -> StoreResult<()> {
        self.driver(host, store)
            .archive_append_items(host, user, store, items)
    }

    pub fn archive_list(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
    ) -> StoreResult<Vec<LuaValue>> {
        self.driver(host, store).archive_list(host, user, store)
    }

    pub fn archive_find(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        query: &ArchiveQuery,
    ) -> StoreResult<Vec<LuaValue>> {
        self.driver(host, store)
            .archive_find(host, user, store, query)
    }

    pub fn archive_count(&self, host: &str, user: Option<&str>, store: &str) -> StoreResult<usize> {
        self.driver(host, store).archive_count(host, user, store)
    }

    pub fn archive_replace(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        items: &[LuaValue],
    ) -> StoreResult<()> {
        self.driver(host, store)
            .archive_replace(host, user, store, items)
    }

    /// Removes everything `user` has on `host`, in every driver the host uses.
    pub fn purge(&self, host: &str, user: &str) -> StoreResult<()> {
        for driver in self.drivers_of(host) {
            for (store, kind) in driver.stores(host)? {
                match kind {
                    StoreKind::Keyval => driver.set(host, Some(user), &store, None)?,
                    StoreKind::Archive => driver.archive_replace(host, Some(user), &store, &[])?,
                }
            }
        }
        Ok(())
    }
}
