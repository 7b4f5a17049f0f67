//! The `sql` option (`driver`, `database`, `host`, `port`, `username`, `password`) with
//! Prosody's defaults, and the pool size and idle timeout from `connection_pooling`.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::{Config, Value};

/// Where the database is.
#[derive(Clone, PartialEq)]
pub struct SqlParams {
    /// `SQLite3` or `PostgreSQL` (`MySQL` is refused at open).
    pub driver: String,
    /// SQLite: the file (resolved against `data_path`); PostgreSQL: the database name.
    pub database: String,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub pool: PoolSettings,
    /// `sql_manage_tables`: create missing tables and indexes.
    pub manage_tables: bool,
}

impl std::fmt::Debug for SqlParams {
    // The password stays out of logs and of the identity used to share drivers.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlParams")
            .field("driver", &self.driver)
            .field("database", &self.database)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password_set", &self.password.is_some())
            .finish()
    }
}

/// Connections kept open and how long an idle one lives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoolSettings {
    pub max_size: usize,
    pub idle_timeout: Duration,
}

impl SqlParams {
    /// The `sql` table of `host` (inherited from the global section like any option).
    pub fn from_config(config: &Config, host: &str) -> SqlParams {
        let section = config.host(host);
        let table = section.get("sql").and_then(Value::as_table);
        let field = |k: &str| table.and_then(|t| t.get(k)).and_then(|v| v.to_lua_string());
        let driver = field("driver").unwrap_or_else(|| "SQLite3".to_owned());
        let mut database = field("database").unwrap_or_else(|| "prosody.sqlite".to_owned());
        if driver == "SQLite3" && database != ":memory:" {
            let path = PathBuf::from(&database);
            if path.is_relative() {
                database = config.data_path().join(path).display().to_string();
            }
        }
        let is_sqlite = driver == "SQLite3";
        SqlParams {
            database,
            host: field("host"),
            port: field("port").and_then(|p| p.parse().ok()),
            username: field("username"),
            password: field("password"),
            pool: PoolSettings::from_config(config, host, is_sqlite),
            manage_tables: section.boolean("sql_manage_tables").unwrap_or(true),
            driver,
        }
    }
}

impl PoolSettings {
    /// `connection_pooling = { enabled, max_pool_size, pool_timeout }` (the guide's
    /// table). SQLite keeps one connection unless the table asks for more: its writers
    /// take turns anyway.
    pub fn from_config(config: &Config, host: &str, sqlite: bool) -> PoolSettings {
        let table = config
            .host(host)
            .get("connection_pooling")
            .and_then(Value::as_table);
        let num = |k: &str| table.and_then(|t| t.get(k)).and_then(Value::as_f64);
        let enabled = table
            .and_then(|t| t.get("enabled"))
            .map(|v| !matches!(v, Value::Bool(false)))
            .unwrap_or(false);
        let default_size = if sqlite { 1 } else { 4 };
        let max_size = if enabled {
            num("max_pool_size").map_or(default_size, |n| n.max(1.0) as usize)
        } else {
            default_size
        };
        PoolSettings {
            max_size,
            idle_timeout: Duration::from_secs_f64(num("pool_timeout").unwrap_or(300.0).max(1.0)),
        }
    }
}
