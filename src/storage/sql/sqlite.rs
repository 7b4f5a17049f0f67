//! The SQLite backend (embedded: rusqlite with SQLite bundled). Prosody's journal mode
//! (rollback journal) and full synchronous commits are kept, so a committed write is on
//! disk and Prosody can open the same file.

use std::time::Duration;

use rusqlite::types::{Value as SqlValue, ValueRef};

use super::{Cell, Conn, Dialect, SqlError};

pub struct SqliteConn {
    conn: rusqlite::Connection,
}

impl SqliteConn {
    pub fn open(path: &str) -> Result<SqliteConn, SqlError> {
        if let Some(dir) = std::path::Path::new(path).parent() {
            if !dir.as_os_str().is_empty() {
                let _ = std::fs::create_dir_all(dir);
            }
        }
        let conn = rusqlite::Connection::open(path)?;
        // Another process (Prosody, `lilt migrate`) may hold the write lock for a moment.
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        Ok(SqliteConn { conn })
    }
}

fn to_sql(cell: &Cell) -> SqlValue {
    match cell {
        Cell::Text(s) => SqlValue::Text(s.clone()),
        Cell::Int(i) => SqlValue::Integer(*i),
        Cell::Null => SqlValue::Null,
    }
}

fn from_sql(v: ValueRef<'_>) -> Cell {
    match v {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(i) => Cell::Int(i),
        ValueRef::Real(f) => Cell::Int(f as i64),
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            Cell::Text(String::from_utf8_lossy(t).into_owned())
        }
    }
}

impl Conn for SqliteConn {
    fn execute(&mut self, sql: &str, params: &[Cell]) -> Result<u64, SqlError> {
        let values: Vec<SqlValue> = params.iter().map(to_sql).collect();
        let mut stmt = self.conn.prepare_cached(sql)?;
        Ok(stmt.execute(rusqlite::params_from_iter(values))? as u64)
    }

    fn query(&mut self, sql: &str, params: &[Cell]) -> Result<Vec<Vec<Cell>>, SqlError> {
        let values: Vec<SqlValue> = params.iter().map(to_sql).collect();
        let mut stmt = self.conn.prepare_cached(sql)?;
        let columns = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(values))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut cells = Vec::with_capacity(columns);
            for i in 0..columns {
                cells.push(from_sql(row.get_ref(i)?));
            }
            out.push(cells);
        }
        Ok(out)
    }

    fn begin_write(&mut self) -> Result<(), SqlError> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(())
    }

    fn commit(&mut self) -> Result<(), SqlError> {
        self.conn.execute_batch("COMMIT")?;
        Ok(())
    }

    fn rollback(&mut self) -> Result<(), SqlError> {
        self.conn.execute_batch("ROLLBACK")?;
        Ok(())
    }

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }
}
