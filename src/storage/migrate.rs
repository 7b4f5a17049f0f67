//! `lilt migrate`, in the habits of `prosody-migrator`: copies every store of every host
//! from one storage to another (internal -> sql, sql -> internal, sqlite -> postgresql),
//! reporting progress per store. Idempotent: keyval values are overwritten with the
//! source's, archive items already present (same key) are not added again. `--dry-run`
//! only counts.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use super::driver::{item_str, Driver, StoreKind};
use super::sql::{PoolSettings, SqlParams, SqlStore};
use super::{InternalStore, StorageError};

/// Where data is: `internal:<data_path>`, `sqlite:<file>` or
/// `postgresql://user[:password]@host[:port]/database`.
#[derive(Debug, Clone, PartialEq)]
pub enum Location {
    Internal(PathBuf),
    Sql(SqlParams),
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    #[error("cannot read storage location '{0}': use internal:<dir>, sqlite:<file> or postgresql://user:password@host:port/database")]
    BadLocation(String),
    #[error("cannot open {0}: {1}")]
    Open(String, String),
    #[error("{0}")]
    Storage(#[from] StorageError),
}

impl Location {
    pub fn parse(spec: &str) -> Result<Location, MigrateError> {
        let bad = || MigrateError::BadLocation(spec.to_owned());
        if let Some(path) = spec.strip_prefix("internal:") {
            return Ok(Location::Internal(path.into()));
        }
        let mut params = SqlParams {
            driver: "SQLite3".into(),
            database: String::new(),
            host: None,
            port: None,
            username: None,
            password: None,
            pool: PoolSettings {
                max_size: 1,
                idle_timeout: std::time::Duration::from_secs(300),
            },
            manage_tables: true,
        };
        if let Some(path) = spec.strip_prefix("sqlite:") {
            params.database = path.to_owned();
            return Ok(Location::Sql(params));
        }
        let rest = spec
            .strip_prefix("postgresql://")
            .or_else(|| spec.strip_prefix("postgres://"))
            .ok_or_else(bad)?;
        let (auth, rest) = rest.rsplit_once('@').ok_or_else(bad)?;
        let (server, database) = rest.split_once('/').ok_or_else(bad)?;
        let (user, password) = match auth.split_once(':') {
            Some((u, p)) => (u, Some(p.to_owned())),
            None => (auth, None),
        };
        let (host, port) = match server.rsplit_once(':') {
            Some((h, p)) => (h, Some(p.parse().map_err(|_| bad())?)),
            None => (server, None),
        };
        params.driver = "PostgreSQL".into();
        params.database = database.to_owned();
        params.host = Some(host.to_owned());
        params.port = port;
        params.username = Some(user.to_owned());
        params.password = password;
        Ok(Location::Sql(params))
    }

    /// Opens the driver (SQL tables are created when missing).
    pub fn open(&self) -> Result<Arc<dyn Driver>, MigrateError> {
        match self {
            Location::Internal(path) => Ok(Arc::new(InternalStore::new(path.clone()))),
            Location::Sql(p) => SqlStore::open(p)
                .map(|s| Arc::new(s) as Arc<dyn Driver>)
                .map_err(|e| MigrateError::Open(p.database.clone(), e.to_string())),
        }
    }
}

/// What a migration copied (or, dry, would copy).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts {
    pub hosts: usize,
    pub stores: usize,
    pub keyval_values: usize,
    pub archive_items: usize,
    /// Archive items left alone because the destination already had their key.
    pub archive_items_present: usize,
}

/// Copies `hosts` (every host the source has when empty) from `from` to `to`, calling
/// `progress` with one line per store.
pub fn migrate(
    from: &dyn Driver,
    to: &dyn Driver,
    hosts: &[String],
    dry_run: bool,
    progress: &mut dyn FnMut(&str),
) -> Result<Counts, MigrateError> {
    let hosts = if hosts.is_empty() {
        from.hosts()?
    } else {
        hosts.to_vec()
    };
    let mut counts = Counts {
        hosts: hosts.len(),
        ..Counts::default()
    };
    for host in &hosts {
        for (store, kind) in from.stores(host)? {
            counts.stores += 1;
            let users = from.users(host, &store, kind)?;
            let mut copied = 0;
            for user in &users {
                let user = user.as_deref();
                match kind {
                    StoreKind::Keyval => {
                        let Some(value) = from.get(host, user, &store)? else {
                            continue;
                        };
                        if !dry_run {
                            to.set(host, user, &store, Some(&value))?;
                        }
                        copied += 1;
                        counts.keyval_values += 1;
                    }
                    StoreKind::Archive => {
                        let present: HashSet<String> = to
                            .archive_list(host, user, &store)?
                            .iter()
                            .filter_map(|i| item_str(i, "key").map(str::to_owned))
                            .collect();
                        for item in from.archive_list(host, user, &store)? {
                            if item_str(&item, "key").is_some_and(|k| present.contains(k)) {
                                counts.archive_items_present += 1;
                                continue;
                            }
                            if !dry_run {
                                to.archive_append_item(host, user, &store, &item)?;
                            }
                            copied += 1;
                            counts.archive_items += 1;
                        }
                    }
                }
            }
            let what = match kind {
                StoreKind::Keyval => "values",
                StoreKind::Archive => "archive items",
            };
            let verb = if dry_run { "would copy" } else { "copied" };
            let host_name = if host.is_empty() { "*" } else { host };
            progress(&format!(
                "{host_name} {store}: {verb} {copied} {what} of {} users",
                users.len()
            ));
        }
    }
    Ok(counts)
}
