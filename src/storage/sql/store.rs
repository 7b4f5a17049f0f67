//! Keyval, map and archive operations on Prosody's tables, statement for statement as
//! mod_storage_sql runs them (one row per string key, the other keys bundled under
//! `key = ""`; archive values that are stanzas stored as `xml`).

use super::codec::{decode, encode};
use super::pool::Pool;
use super::{schema, Cell, Conn, SqlError, SqlParams};
use crate::storage::driver::{ArchiveQuery, Driver, StoreKind, StoreResult};
use crate::storage::lua_value::{LuaKey, LuaTable, LuaValue};
use crate::storage::{stanza, StorageError};

#[derive(Debug)]
pub struct SqlStore {
    pool: Pool,
    name: String,
}

impl From<SqlError> for StorageError {
    fn from(e: SqlError) -> StorageError {
        StorageError::Database(e.to_string())
    }
}

fn user_cell(user: Option<&str>) -> Cell {
    Cell::Text(user.unwrap_or("").to_owned())
}

/// Runs `f` in a write transaction, rolled back when it fails.
fn in_write<T>(
    conn: &mut dyn Conn,
    f: impl FnOnce(&mut dyn Conn) -> StoreResult<T>,
) -> StoreResult<T> {
    conn.begin_write()?;
    match f(conn) {
        Ok(v) => {
            conn.commit()?;
            Ok(v)
        }
        Err(e) => {
            let _ = conn.rollback();
            Err(e)
        }
    }
}

const SELECT_KEYVAL: &str =
    r#"SELECT "key","type","value" FROM "prosody" WHERE "host"=? AND "user"=? AND "store"=?"#;
const DELETE_KEYVAL: &str = r#"DELETE FROM "prosody" WHERE "host"=? AND "user"=? AND "store"=?"#;
const INSERT_KEYVAL: &str =
    r#"INSERT INTO "prosody" ("host","user","store","key","type","value") VALUES (?,?,?,?,?,?)"#;
const SELECT_KEY: &str = r#"SELECT "type","value" FROM "prosody" WHERE "host"=? AND "user"=? AND "store"=? AND "key"=? LIMIT 1"#;
const DELETE_KEY: &str =
    r#"DELETE FROM "prosody" WHERE "host"=? AND "user"=? AND "store"=? AND "key"=?"#;

fn read_keyval(
    conn: &mut dyn Conn,
    host: &str,
    user: Option<&str>,
    store: &str,
) -> StoreResult<Option<LuaValue>> {
    let rows = conn.query(SELECT_KEYVAL, &[host.into(), user_cell(user), store.into()])?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut table = LuaTable::new();
    for row in &rows {
        let key = row[0].text();
        let value = decode(row[1].text(), row[2].text())?;
        if !key.is_empty() {
            table.set(key, value);
        } else if let LuaValue::Table(extra) = value {
            for (k, v) in extra.iter() {
                table.set(k.clone(), v.clone());
            }
        }
    }
    Ok(Some(LuaValue::Table(table)))
}

fn write_keyval(
    conn: &mut dyn Conn,
    host: &str,
    user: Option<&str>,
    store: &str,
    value: Option<&LuaValue>,
) -> StoreResult<()> {
    conn.execute(DELETE_KEYVAL, &[host.into(), user_cell(user), store.into()])?;
    let table = match value {
        None | Some(LuaValue::Nil) => return Ok(()),
        Some(LuaValue::Table(t)) => t,
        Some(_) => return Err(StorageError::Invalid("SQL keyval values must be tables")),
    };
    // The same rows Prosody writes, sent many per statement: a roster of thousands of
    // items is then a few round trips, not one per contact.
    let mut rows: Vec<(String, &'static str, String)> = Vec::with_capacity(table.len());
    let mut extra = LuaTable::new();
    for (k, v) in table.iter() {
        match k {
            LuaKey::Str(s) if !s.is_empty() => {
                let (kind, text) = encode(v)?;
                rows.push((s.clone(), kind, text));
            }
            other => extra.set(other.clone(), v.clone()),
        }
    }
    if !extra.is_empty() {
        let (kind, text) = encode(&LuaValue::Table(extra))?;
        rows.push((String::new(), kind, text));
    }
    for chunk in rows.chunks(INSERT_BATCH) {
        let mut sql = String::from(
            r#"INSERT INTO "prosody" ("host","user","store","key","type","value") VALUES "#,
        );
        let mut params = Vec::with_capacity(chunk.len() * 6);
        for (n, (key, kind, text)) in chunk.iter().enumerate() {
            sql.push_str(if n == 0 {
                "(?,?,?,?,?,?)"
            } else {
                ",(?,?,?,?,?,?)"
            });
            params.extend([
                host.into(),
                user_cell(user),
                store.into(),
                key.as_str().into(),
                (*kind).into(),
                text.as_str().into(),
            ]);
        }
        conn.execute(&sql, &params)?;
    }
    Ok(())
}

/// Rows per multi-row INSERT (6 parameters each, far below SQLite's 32 766 limit).
const INSERT_BATCH: usize = 500;

/// An archive item split into its row: (key, when, with, type, value).
fn archive_row(item: &LuaValue) -> StoreResult<(String, i64, String, &'static str, String)> {
    let mut t = item
        .as_table()
        .cloned()
        .ok_or(StorageError::Invalid("archive items are tables"))?;
    let key = t
        .remove(&LuaKey::from("key"))
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let when = t
        .remove(&LuaKey::from("when"))
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0) as i64;
    let with = t
        .remove(&LuaKey::from("with"))
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let value = LuaValue::Table(t);
    if let Some(el) = stanza::as_stanza(&value) {
        return Ok((key, when, with, "xml", stanza::to_xml(&el)));
    }
    // A non-stanza value the internal driver wrapped as `{ value = v }`.
    let inner = match value
        .as_table()
        .and_then(|t| (t.len() == 1).then(|| t.field("value")).flatten())
    {
        Some(v) => v.clone(),
        None => value,
    };
    let (kind, text) = encode(&inner)?;
    Ok((key, when, with, kind, text))
}

/// A row back as the internal driver's item: the value's fields plus key, when, with.
fn archive_item(row: &[Cell]) -> StoreResult<LuaValue> {
    let (key, when, with, kind, text) = (
        row[0].text(),
        row[1].int(),
        row[2].text(),
        row[3].text(),
        row[4].text(),
    );
    let value = if kind == "xml" {
        let el = stanza::parse_xml(text).map_err(|e| StorageError::BadData {
            file: "<sql>".into(),
            line: 0,
            reason: e.to_string(),
        })?;
        stanza::preserialize(&el)
    } else {
        decode(kind, text)?
    };
    Ok(crate::storage::internal::archive_item(
        key,
        when as f64,
        with,
        &value,
    ))
}

const ARCHIVE_COLUMNS: &str = r#"SELECT "key","when","with","type","value" FROM "prosodyarchive""#;

impl SqlStore {
    /// Connects (checking the database answers) and creates Prosody's tables when
    /// `sql_manage_tables` is on.
    pub fn open(params: &SqlParams) -> Result<SqlStore, SqlError> {
        let connect: Box<dyn Fn() -> Result<Box<dyn Conn>, SqlError> + Send + Sync> = match params
            .driver
            .as_str()
        {
            "SQLite3" => {
                let path = params.database.clone();
                Box::new(move || {
                    Ok(Box::new(super::sqlite::SqliteConn::open(&path)?) as Box<dyn Conn>)
                })
            }
            "PostgreSQL" => {
                let p = params.clone();
                Box::new(move || Ok(Box::new(super::postgres::PgConn::open(&p)?) as Box<dyn Conn>))
            }
            other => return Err(SqlError::UnsupportedDriver(other.to_owned())),
        };
        let store = SqlStore {
            pool: Pool::new(params.pool, connect),
            name: params.driver.clone(),
        };
        {
            let mut conn = store.pool.get()?;
            if params.manage_tables {
                schema::create(&mut *conn)?;
            }
        }
        Ok(store)
    }

    fn with_conn<T>(&self, f: impl FnOnce(&mut dyn Conn) -> StoreResult<T>) -> StoreResult<T> {
        let mut conn = self.pool.get()?;
        let r = f(&mut *conn);
        if matches!(r, Err(StorageError::Database(_))) {
            // A failed connection may be dead (a restarted server): open a fresh one next.
            conn.discard();
        }
        r
    }

    /// The dialect's backend name (`SQLite3`, `PostgreSQL`).
    pub fn backend(&self) -> &str {
        &self.name
    }
}

fn lock_name(host: &str, user: Option<&str>, store: &str) -> String {
    format!("{host}\n{}\n{store}", user.unwrap_or(""))
}

impl Driver for SqlStore {
    fn name(&self) -> &'static str {
        "sql"
    }

    fn get(&self, host: &str, user: Option<&str>, store: &str) -> StoreResult<Option<LuaValue>> {
        self.with_conn(|c| read_keyval(c, host, user, store))
    }

    fn set(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        value: Option<&LuaValue>,
    ) -> StoreResult<()> {
        self.with_conn(|c| {
            in_write(c, |c| {
                c.lock_key(&lock_name(host, user, store))?;
                write_keyval(c, host, user, store, value)
            })
        })
    }

    fn add(&self, host: &str, user: &str, store: &str, value: &LuaValue) -> StoreResult<bool> {
        self.with_conn(|c| {
            in_write(c, |c| {
                c.lock_key(&lock_name(host, Some(user), store))?;
                if read_keyval(c, host, Some(user), store)?.is_some() {
                    return Ok(false);
                }
                write_keyval(c, host, Some(user), store, Some(value))?;
                Ok(true)
            })
        })
    }

    fn map_get(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        key: &LuaKey,
    ) -> StoreResult<Option<LuaValue>> {
        self.with_conn(|c| match key {
            LuaKey::Str(s) if !s.is_empty() => {
                let rows = c.query(
                    SELECT_KEY,
                    &[
                        host.into(),
                        user_cell(user),
                        store.into(),
                        s.as_str().into(),
                    ],
                )?;
                rows.first()
                    .map(|r| decode(r[0].text(), r[1].text()))
                    .transpose()
            }
            other => {
                let rows = c.query(
                    SELECT_KEY,
                    &[host.into(), user_cell(user), store.into(), "".into()],
                )?;
                let Some(r) = rows.first() else {
                    return Ok(None);
                };
                Ok(decode(r[0].text(), r[1].text())?
                    .as_table()
                    .and_then(|t| t.get(other))
                    .cloned())
            }
        })
    }

    fn map_set(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        key: LuaKey,
        value: Option<LuaValue>,
    ) -> StoreResult<()> {
        self.with_conn(|c| {
            in_write(c, |c| {
                c.lock_key(&lock_name(host, user, store))?;
                match &key {
                    LuaKey::Str(s) if !s.is_empty() => {
                        c.execute(
                            DELETE_KEY,
                            &[
                                host.into(),
                                user_cell(user),
                                store.into(),
                                s.as_str().into(),
                            ],
                        )?;
                        if let Some(v) = value.as_ref().filter(|v| **v != LuaValue::Nil) {
                            let (kind, text) = encode(v)?;
                            c.execute(
                                INSERT_KEYVAL,
                                &[
                                    host.into(),
                                    user_cell(user),
                                    store.into(),
                                    s.as_str().into(),
                                    kind.into(),
                                    text.into(),
                                ],
                            )?;
                        }
                    }
                    other => {
                        let rows = c.query(
                            SELECT_KEY,
                            &[host.into(), user_cell(user), store.into(), "".into()],
                        )?;
                        let mut extra = match rows.first() {
                            Some(r) => match decode(r[0].text(), r[1].text())? {
                                LuaValue::Table(t) => t,
                                _ => LuaTable::new(),
                            },
                            None => LuaTable::new(),
                        };
                        c.execute(
                            DELETE_KEY,
                            &[host.into(), user_cell(user), store.into(), "".into()],
                        )?;
                        extra.set(other.clone(), value.clone().unwrap_or(LuaValue::Nil));
                        if !extra.is_empty() {
                            let (kind, text) = encode(&LuaValue::Table(extra))?;
                            c.execute(
                                INSERT_KEYVAL,
                                &[
                                    host.into(),
                                    user_cell(user),
                                    store.into(),
                                    "".into(),
                                    kind.into(),
                                    text.into(),
                                ],
                            )?;
                        }
                    }
                }
                Ok(())
            })
        })
    }

    fn archive_append_item(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        item: &LuaValue,
    ) -> StoreResult<()> {
        let (key, when, with, kind, text) = archive_row(item)?;
        self.with_conn(|c| {
            in_write(c, |c| {
                c.execute(
                    r#"DELETE FROM "prosodyarchive" WHERE "host"=? AND "user"=? AND "store"=? AND "key"=?"#,
                    &[host.into(), user_cell(user), store.into(), key.as_str().into()],
                )?;
                c.execute(
                    r#"INSERT INTO "prosodyarchive" ("host","user","store","when","with","key","type","value") VALUES (?,?,?,?,?,?,?,?)"#,
                    &[host.into(), user_cell(user), store.into(), when.into(), with.into(), key.into(), kind.into(), text.into()],
                )?;
                Ok(())
            })
        })
    }

    fn archive_list(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
    ) -> StoreResult<Vec<LuaValue>> {
        self.archive_find(host, user, store, &ArchiveQuery::default())
    }

    fn archive_find(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        q: &ArchiveQuery,
    ) -> StoreResult<Vec<LuaValue>> {
        self.with_conn(|c| {
            let mut sql = format!(r#"{ARCHIVE_COLUMNS} WHERE "host"=? AND "user"=? AND "store"=?"#);
            let mut args: Vec<Cell> = vec![host.into(), user_cell(user), store.into()];
            if let Some(s) = q.start {
                sql.push_str(r#" AND "when">=?"#);
                args.push((s.ceil() as i64).into());
            }
            if let Some(e) = q.end {
                sql.push_str(r#" AND "when"<=?"#);
                args.push((e.floor() as i64).into());
            }
            if let Some(w) = &q.with {
                sql.push_str(r#" AND "with"=?"#);
                args.push(w.as_str().into());
            }
            if let Some(k) = &q.key {
                sql.push_str(r#" AND "key"=?"#);
                args.push(k.as_str().into());
            }
            for (id, op) in [(&q.after, ">"), (&q.before, "<")] {
                if let Some(id) = id {
                    let rows = c.query(
                        r#"SELECT "sort_id" FROM "prosodyarchive" WHERE "key"=? AND "host"=? AND "user"=? AND "store"=? LIMIT 1"#,
                        &[id.as_str().into(), host.into(), user_cell(user), store.into()],
                    )?;
                    let Some(row) = rows.first() else { return Ok(Vec::new()) };
                    sql.push_str(&format!(r#" AND "sort_id"{op}?"#));
                    args.push(row[0].int().into());
                }
            }
            sql.push_str(if q.reverse { r#" ORDER BY "sort_id" DESC"# } else { r#" ORDER BY "sort_id" ASC"# });
            if let Some(limit) = q.limit {
                sql.push_str(&format!(" LIMIT {limit}"));
            }
            c.query(&sql, &args)?.iter().map(|r| archive_item(r)).collect()
        })
    }

    fn archive_count(&self, host: &str, user: Option<&str>, store: &str) -> StoreResult<usize> {
        self.with_conn(|c| {
            let rows = c.query(
                r#"SELECT COUNT(*) FROM "prosodyarchive" WHERE "host"=? AND "user"=? AND "store"=?"#,
                &[host.into(), user_cell(user), store.into()],
            )?;
            Ok(rows.first().map_or(0, |r| r[0].int() as usize))
        })
    }

    fn archive_replace(
        &self,
        host: &str,
        user: Option<&str>,
        store: &str,
        items: &[LuaValue],
    ) -> StoreResult<()> {
        let rows = items
            .iter()
            .map(archive_row)
            .collect::<StoreResult<Vec<_>>>()?;
        self.with_conn(|c| {
            in_write(c, |c| {
                c.execute(
                    r#"DELETE FROM "prosodyarchive" WHERE "host"=? AND "user"=? AND "store"=?"#,
                    &[host.into(), user_cell(user), store.into()],
                )?;
                for (key, when, with, kind, text) in rows {
                    c.execute(
                        r#"INSERT INTO "prosodyarchive" ("host","user","store","when","with","key","type","value") VALUES (?,?,?,?,?,?,?,?)"#,
                        &[host.into(), user_cell(user), store.into(), when.into(), with.into(), key.into(), kind.into(), text.into()],
                    )?;
                }
                Ok(())
            })
        })
    }

    fn users(&self, host: &str, store: &str, kind: StoreKind) -> StoreResult<Vec<Option<String>>> {
        let table = match kind {
            StoreKind::Keyval => "prosody",
            StoreKind::Archive => "prosodyarchive",
        };
        self.with_conn(|c| {
            let rows = c.query(
                &format!(r#"SELECT DISTINCT "user" FROM "{table}" WHERE "host"=? AND "store"=? ORDER BY "user""#),
                &[host.into(), store.into()],
            )?;
            Ok(rows
                .iter()
                .map(|r| Some(r[0].text().to_owned()).filter(|u| !u.is_empty()))
                .collect())
        })
    }

    fn hosts(&self) -> StoreResult<Vec<String>> {
        self.with_conn(|c| {
            let rows = c.query(
                r#"SELECT "host" FROM "prosody" UNION SELECT "host" FROM "prosodyarchive" ORDER BY 1"#,
                &[],
            )?;
            Ok(rows.iter().map(|r| r[0].text().to_owned()).collect())
        })
    }

    fn stores(&self, host: &str) -> StoreResult<Vec<(String, StoreKind)>> {
        self.with_conn(|c| {
            let mut out = Vec::new();
            for (table, kind) in [
                ("prosody", StoreKind::Keyval),
                ("prosodyarchive", StoreKind::Archive),
            ] {
                let rows = c.query(
                    &format!(
                        r#"SELECT DISTINCT "store" FROM "{table}" WHERE "host"=? ORDER BY "store""#
                    ),
                    &[host.into()],
                )?;
                out.extend(rows.iter().map(|r| (r[0].text().to_owned(), kind)));
            }
            Ok(out)
        })
    }
}
