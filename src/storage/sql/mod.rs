//! The `sql` driver: Prosody's `prosody` and `prosodyarchive` tables, row for row as
//! mod_storage_sql writes them, on SQLite (embedded) or PostgreSQL. The store logic is
//! written once over [`Conn`]; the two backends differ only in how they run a statement.

pub mod codec;
mod params;
mod pool;
mod postgres;
mod schema;
mod sqlite;
mod store;

pub use params::{PoolSettings, SqlParams};
pub use store::SqlStore;

/// One SQL parameter or result cell: Prosody's schema has only text and integers.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    Null,
}

impl Cell {
    pub fn text(&self) -> &str {
        match self {
            Cell::Text(s) => s,
            _ => "",
        }
    }

    pub fn int(&self) -> i64 {
        match self {
            Cell::Int(i) => *i,
            Cell::Text(s) => s.parse().unwrap_or(0),
            Cell::Null => 0,
        }
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_owned())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}

impl From<i64> for Cell {
    fn from(i: i64) -> Cell {
        Cell::Int(i)
    }
}

/// What went wrong talking to the database (the server's or the network's fault).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqlError {
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(String),
    #[error("unsupported SQL driver '{0}' (Lilt has SQLite3 and PostgreSQL)")]
    UnsupportedDriver(String),
    #[error("the connection pool is closed")]
    PoolClosed,
}

/// One database connection. Statements use `?` placeholders; quoted identifiers are
/// written as both SQLite and PostgreSQL read them.
pub trait Conn: Send {
    /// Runs a statement; answers the number of rows it changed.
    fn execute(&mut self, sql: &str, params: &[Cell]) -> Result<u64, SqlError>;
    /// Runs a query; answers every row.
    fn query(&mut self, sql: &str, params: &[Cell]) -> Result<Vec<Vec<Cell>>, SqlError>;
    /// Starts a transaction that takes the write lock at once (so a read-then-write
    /// inside it cannot race another writer).
    fn begin_write(&mut self) -> Result<(), SqlError>;
    /// Serialises writers of one (host, user, store) across processes, inside a
    /// transaction (PostgreSQL's advisory locks; SQLite's write lock already does).
    fn lock_key(&mut self, _key: &str) -> Result<(), SqlError> {
        Ok(())
    }
    fn commit(&mut self) -> Result<(), SqlError> {
        self.execute("COMMIT", &[]).map(drop)
    }
    fn rollback(&mut self) -> Result<(), SqlError> {
        self.execute("ROLLBACK", &[]).map(drop)
    }
    /// Which dialect (for the few statements that differ).
    fn dialect(&self) -> Dialect;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}
