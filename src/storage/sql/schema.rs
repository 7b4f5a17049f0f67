//! Prosody's tables and indexes, as mod_storage_sql creates them (`sql_manage_tables`).

use super::{Conn, Dialect, SqlError};

const SQLITE: &[&str] = &[
    r#"CREATE TABLE IF NOT EXISTS "prosody" ("host" TEXT NOT NULL, "user" TEXT NOT NULL, "store" TEXT NOT NULL, "key" TEXT NOT NULL, "type" TEXT NOT NULL, "value" TEXT NOT NULL)"#,
    r#"CREATE INDEX IF NOT EXISTS "prosody_index" ON "prosody" ("host", "user", "store", "key")"#,
    r#"CREATE TABLE IF NOT EXISTS "prosodyarchive" ("sort_id" INTEGER PRIMARY KEY AUTOINCREMENT, "host" TEXT NOT NULL, "user" TEXT NOT NULL, "store" TEXT NOT NULL, "key" TEXT NOT NULL, "when" INTEGER NOT NULL, "with" TEXT NOT NULL, "type" TEXT NOT NULL, "value" TEXT NOT NULL)"#,
    r#"CREATE UNIQUE INDEX IF NOT EXISTS "prosodyarchive_index" ON "prosodyarchive" ("host", "user", "store", "key")"#,
    r#"CREATE INDEX IF NOT EXISTS "prosodyarchive_with_when" ON "prosodyarchive" ("host", "user", "store", "with", "when")"#,
    r#"CREATE INDEX IF NOT EXISTS "prosodyarchive_when" ON "prosodyarchive" ("host", "user", "store", "when")"#,
    r#"CREATE INDEX IF NOT EXISTS "prosodyarchive_sort" ON "prosodyarchive" ("host", "user", "store", "sort_id")"#,
];

const POSTGRES: &[&str] = &[
    r#"CREATE TABLE IF NOT EXISTS "prosody" ("host" TEXT NOT NULL, "user" TEXT NOT NULL, "store" TEXT NOT NULL, "key" TEXT NOT NULL, "type" TEXT NOT NULL, "value" TEXT NOT NULL)"#,
    r#"CREATE INDEX IF NOT EXISTS "prosody_index" ON "prosody" ("host", "user", "store", "key")"#,
    r#"CREATE TABLE IF NOT EXISTS "prosodyarchive" ("sort_id" BIGSERIAL PRIMARY KEY, "host" TEXT NOT NULL, "user" TEXT NOT NULL, "store" TEXT NOT NULL, "key" TEXT NOT NULL, "when" INTEGER NOT NULL, "with" TEXT NOT NULL, "type" TEXT NOT NULL, "value" TEXT NOT NULL)"#,
    r#"CREATE UNIQUE INDEX IF NOT EXISTS "prosodyarchive_index" ON "prosodyarchive" ("host", "user", "store", "key")"#,
    r#"CREATE INDEX IF NOT EXISTS "prosodyarchive_with_when" ON "prosodyarchive" ("host", "user", "store", "with", "when")"#,
    r#"CREATE INDEX IF NOT EXISTS "prosodyarchive_when" ON "prosodyarchive" ("host", "user", "store", "when")"#,
    r#"CREATE INDEX IF NOT EXISTS "prosodyarchive_sort" ON "prosodyarchive" ("host", "user", "store", "sort_id")"#,
];

/// Creates whatever of Prosody's schema is missing.
pub fn create(conn: &mut dyn Conn) -> Result<(), SqlError> {
    let statements = match conn.dialect() {
        Dialect::Sqlite => SQLITE,
        Dialect::Postgres => POSTGRES,
    };
    for sql in statements {
        conn.execute(sql, &[])?;
    }
    Ok(())
}
