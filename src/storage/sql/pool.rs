//! A small blocking connection pool: at most `max_size` connections, idle ones closed
//! after `idle_timeout`, a checked-out connection returned when its guard drops.

use std::sync::{Condvar, Mutex};
use std::time::Instant;

use super::{Conn, PoolSettings, SqlError};

type Connect = Box<dyn Fn() -> Result<Box<dyn Conn>, SqlError> + Send + Sync>;

struct State {
    idle: Vec<(Box<dyn Conn>, Instant)>,
    open: usize,
}

pub struct Pool {
    settings: PoolSettings,
    connect: Connect,
    state: Mutex<State>,
    freed: Condvar,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("settings", &self.settings)
            .finish()
    }
}

/// A connection out of the pool; back in when dropped.
pub struct Lease<'a> {
    pool: &'a Pool,
    conn: Option<Box<dyn Conn>>,
}

impl std::ops::Deref for Lease<'_> {
    type Target = dyn Conn;
    fn deref(&self) -> &(dyn Conn + 'static) {
        &**self
            .conn
            .as_ref()
            .expect("a lease holds its connection until dropped")
    }
}

impl std::ops::DerefMut for Lease<'_> {
    fn deref_mut(&mut self) -> &mut (dyn Conn + 'static) {
        &mut **self
            .conn
            .as_mut()
            .expect("a lease holds its connection until dropped")
    }
}

impl Lease<'_> {
    /// Drops the connection instead of reusing it (after an error that may have left
    /// it in a bad state).
    pub fn discard(mut self) {
        self.conn = None;
        if let Ok(mut s) = self.pool.state.lock() {
            s.open -= 1;
        }
        self.pool.freed.notify_one();
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if let Ok(mut s) = self.pool.state.lock() {
                s.idle.push((conn, Instant::now()));
            }
            self.pool.freed.notify_one();
        }
    }
}

impl Pool {
    pub fn new(settings: PoolSettings, connect: Connect) -> Pool {
        Pool {
            settings,
            connect,
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
        }
    }

    /// A connection: an idle one, a new one while under `max_size`, else the next one
    /// freed.
    pub fn get(&self) -> Result<Lease<'_>, SqlError> {
        let mut s = self.state.lock().map_err(|_| SqlError::PoolClosed)?;
        loop {
            let now = Instant::now();
            let timeout = self.settings.idle_timeout;
            let before = s.idle.len();
            s.idle
                .retain(|(_, since)| now.duration_since(*since) < timeout);
            s.open -= before - s.idle.len();
            if let Some((conn, _)) = s.idle.pop() {
                return Ok(Lease {
                    pool: self,
                    conn: Some(conn),
                });
            }
            if s.open < self.settings.max_size {
                s.open += 1;
                drop(s);
                return match (self.connect)() {
                    Ok(conn) => Ok(Lease {
                        pool: self,
                        conn: Some(conn),
                    }),
                    Err(e) => {
                        if let Ok(mut s) = self.state.lock() {
                            s.open -= 1;
                        }
                        Err(e)
                    }
                };
            }
            s = self.freed.wait(s).map_err(|_| SqlError::PoolClosed)?;
        }
    }
}
