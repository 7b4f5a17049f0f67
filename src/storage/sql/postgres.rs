//! The PostgreSQL backend: the `postgres` client, each connection on a thread of its own
//! (the client drives its own small runtime, which must never run inside the core's), so
//! any thread may call it. `?` placeholders become `$n` with an explicit cast, so the
//! same statements serve Prosody's `INTEGER` and Lilt's `BIGINT` `when` columns.

use std::sync::mpsc;

use postgres::types::Type;

use super::{Cell, Conn, Dialect, SqlError, SqlParams};

type Job = Box<dyn FnOnce(&mut postgres::Client) + Send>;

pub struct PgConn {
    jobs: mpsc::Sender<Job>,
}

fn pg_err(e: impl std::fmt::Display) -> SqlError {
    SqlError::Postgres(e.to_string())
}

/// The server's own message ("db error" alone says nothing).
fn pg_db_err(e: postgres::Error) -> SqlError {
    match e.as_db_error() {
        Some(db) => SqlError::Postgres(format!("{}: {}", db.code().code(), db.message())),
        None => SqlError::Postgres(e.to_string()),
    }
}

/// `?` -> `$1::text` / `$1::bigint`, by the parameter's kind.
fn numbered(sql: &str, params: &[Cell]) -> String {
    let mut out = String::with_capacity(sql.len() + 8 * params.len());
    let mut n = 0;
    for ch in sql.chars() {
        if ch == '?' {
            let cast = match params.get(n) {
                Some(Cell::Int(_)) => "bigint",
                _ => "text",
            };
            n += 1;
            out.push_str(&format!("${n}::{cast}"));
        } else {
            out.push(ch);
        }
    }
    out
}

fn run(
    client: &mut postgres::Client,
    sql: &str,
    params: &[Cell],
    rows: bool,
) -> Result<(u64, Vec<Vec<Cell>>), SqlError> {
    let sql = numbered(sql, params);
    let texts: Vec<Option<String>> = params
        .iter()
        .map(|c| match c {
            Cell::Text(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    let ints: Vec<Option<i64>> = params
        .iter()
        .map(|c| match c {
            Cell::Int(i) => Some(*i),
            _ => None,
        })
        .collect();
    let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
        .iter()
        .enumerate()
        .map(|(i, c)| match c {
            Cell::Int(_) => &ints[i] as &(dyn postgres::types::ToSql + Sync),
            _ => &texts[i] as &(dyn postgres::types::ToSql + Sync),
        })
        .collect();
    if !rows {
        return Ok((
            client.execute(sql.as_str(), &refs).map_err(pg_db_err)?,
            Vec::new(),
        ));
    }
    let result = client.query(sql.as_str(), &refs).map_err(pg_db_err)?;
    let mut out = Vec::with_capacity(result.len());
    for row in &result {
        let mut cells = Vec::with_capacity(row.len());
        for (i, col) in row.columns().iter().enumerate() {
            let cell = match *col.type_() {
                Type::INT2 => row
                    .try_get::<_, Option<i16>>(i)
                    .map_err(pg_err)?
                    .map(|v| Cell::Int(v.into())),
                Type::INT4 => row
                    .try_get::<_, Option<i32>>(i)
                    .map_err(pg_err)?
                    .map(|v| Cell::Int(v.into())),
                Type::INT8 => row
                    .try_get::<_, Option<i64>>(i)
                    .map_err(pg_err)?
                    .map(Cell::Int),
                _ => row
                    .try_get::<_, Option<String>>(i)
                    .map_err(pg_err)?
                    .map(Cell::Text),
            };
            cells.push(cell.unwrap_or(Cell::Null));
        }
        out.push(cells);
    }
    Ok((result.len() as u64, out))
}

impl PgConn {
    pub fn open(p: &SqlParams) -> Result<PgConn, SqlError> {
        let mut config = postgres::Config::new();
        config
            .host(p.host.as_deref().unwrap_or("localhost"))
            .port(p.port.unwrap_or(5432))
            .dbname(&p.database)
            .user(p.username.as_deref().unwrap_or("prosody"));
        if let Some(pw) = &p.password {
            config.password(pw);
        }
        let (ready_tx, ready_rx) = mpsc::channel();
        let (jobs, job_rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("lilt-pg".into())
            .spawn(move || {
                let mut client = match config.connect(postgres::NoTls) {
                    Ok(c) => {
                        let _ = ready_tx.send(Ok(()));
                        c
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(pg_err(e)));
                        return;
                    }
                };
                while let Ok(job) = job_rx.recv() {
                    job(&mut client);
                }
            })
            .map_err(pg_err)?;
        ready_rx.recv().map_err(|_| SqlError::PoolClosed)??;
        Ok(PgConn { jobs })
    }

    fn call(
        &mut self,
        sql: &str,
        params: &[Cell],
        rows: bool,
    ) -> Result<(u64, Vec<Vec<Cell>>), SqlError> {
        let (tx, rx) = mpsc::channel();
        let sql = sql.to_owned();
        let params = params.to_vec();
        self.jobs
            .send(Box::new(move |client| {
                let _ = tx.send(run(client, &sql, &params, rows));
            }))
            .map_err(|_| SqlError::PoolClosed)?;
        rx.recv().map_err(|_| SqlError::PoolClosed)?
    }
}

impl Conn for PgConn {
    fn execute(&mut self, sql: &str, params: &[Cell]) -> Result<u64, SqlError> {
        Ok(self.call(sql, params, false)?.0)
    }

    fn query(&mut self, sql: &str, params: &[Cell]) -> Result<Vec<Vec<Cell>>, SqlError> {
        Ok(self.call(sql, params, true)?.1)
    }

    fn begin_write(&mut self) -> Result<(), SqlError> {
        self.execute("BEGIN", &[]).map(drop)
    }

    fn lock_key(&mut self, key: &str) -> Result<(), SqlError> {
        self.execute("SELECT pg_advisory_xact_lock(hashtext(?))", &[key.into()])
            .map(drop)
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }
}
