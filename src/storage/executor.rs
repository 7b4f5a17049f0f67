//! The storage executor: store work runs on its own threads, never on the core's. Work
//! for one (host, user, store) always lands on the same thread and runs in submission
//! order; a save queued behind a save of the same key that has not started yet joins it
//! (one write serves both, each caller still told only once the data is durable), so a
//! flood of small changes to one big value costs one rewrite per disk round trip rather
//! than one per change. Archive appends join the same way: appends to one archive queued
//! behind each other are written together with one flush to disk, each caller told once
//! the batch is durable; appends to other archives waiting on the same thread join that
//! round too and are flushed in parallel (src/storage/group.rs).

use std::collections::hash_map::DefaultHasher;
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Condvar, Mutex};

use super::driver::StoreResult;
use super::lua_value::LuaValue;
use super::manager::Storage;

/// Told how a save ended (after the driver reports it durable, or failed).
pub type SaveDone = Box<dyn FnOnce(&StoreResult<()>) + Send>;

/// Produces the value to save when the save starts (so joined saves write the latest
/// state); `None` means there is nothing to write any more.
pub type Snapshot = Box<dyn FnOnce() -> Option<Option<LuaValue>> + Send>;

/// Told how an append ended (its whole batch is durable, or failed).
pub type AppendDone = Box<dyn FnOnce(&StoreResult<()>) + Send>;

/// (host, user, store).
pub type StoreKey = (String, Option<String>, String);

/// The executor key of `user@host`'s `store` (`None`: host-level data).
pub fn key(host: &str, user: Option<&str>, store: &str) -> StoreKey {
    (host.to_owned(), user.map(str::to_owned), store.to_owned())
}

enum Job {
    Run {
        key: StoreKey,
        work: Box<dyn FnOnce(&Storage) + Send>,
    },
    Save {
        key: StoreKey,
        snapshot: Snapshot,
        waiters: Vec<SaveDone>,
    },
    Append {
        key: StoreKey,
        items: Vec<LuaValue>,
        waiters: Vec<AppendDone>,
    },
}

impl Job {
    fn key(&self) -> &StoreKey {
        match self {
            Job::Run { key, .. } | Job::Save { key, .. } | Job::Append { key, .. } => key,
        }
    }
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    busy: bool,
    closed: bool,
}

#[derive(Default)]
struct Shard {
    queue: Mutex<Queue>,
    ready: Condvar,
    idle: Condvar,
}

/// Worker threads over one [`Storage`].
pub struct Executor {
    shards: Vec<Arc<Shard>>,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("threads", &self.shards.len())
            .finish()
    }
}

impl Executor {
    /// Starts `threads` workers (at least one).
    pub fn start(storage: Arc<Storage>, threads: usize) -> Executor {
        let shards: Vec<Arc<Shard>> = (0..threads.max(1)).map(|_| Arc::default()).collect();
        for (i, shard) in shards.iter().enumerate() {
            let shard = shard.clone();
            let storage = storage.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("lilt-store-{i}"))
                .spawn(move || work(&shard, &storage));
            if let Err(e) = spawned {
                tracing::error!("Cannot start a storage thread: {e}");
            }
        }
        Executor { shards }
    }

    fn shard(&self, key: &StoreKey) -> &Arc<Shard> {
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        &self.shards[(h.finish() as usize) % self.shards.len()]
    }

    fn push(&self, job: Job) {
        let shard = self.shard(job.key());
        let Ok(mut q) = shard.queue.lock() else {
            return;
        };
        q.jobs.push_back(job);
        shard.ready.notify_one();
    }

    /// Runs `work` on the thread of `key`, after everything queued for it before.
    pub fn run(&self, key: StoreKey, work: impl FnOnce(&Storage) + Send + 'static) {
        self.push(Job::Run {
            key,
            work: Box::new(work),
        });
    }

    /// Saves the keyval value `snapshot` produces, joining a queued save of the same key
    /// that has not started (its snapshot, taken later, covers this change too).
    pub fn save(&self, key: StoreKey, snapshot: Snapshot, done: SaveDone) {
        let shard = self.shard(&key);
        let Ok(mut q) = shard.queue.lock() else {
            done(&Err(super::StorageError::Invalid(
                "storage executor stopped",
            )));
            return;
        };
        let last_same = q.jobs.iter_mut().rev().find(|j| *j.key() == key);
        if let Some(Job::Save { waiters, .. }) = last_same {
            waiters.push(done);
            return;
        }
        q.jobs.push_back(Job::Save {
            key,
            snapshot,
            waiters: vec![done],
        });
        shard.ready.notify_one();
    }

    /// Appends `item` (an assembled archive item, see [`Storage::archive_append_item`]) to
    /// the archive `key`, joining a queued append to the same archive that has not started:
    /// the batch is written with one flush, and `done` runs once it is durable.
    pub fn append(&self, key: StoreKey, item: LuaValue, done: AppendDone) {
        let shard = self.shard(&key);
        let Ok(mut q) = shard.queue.lock() else {
            done(&Err(super::StorageError::Invalid(
                "storage executor stopped",
            )));
            return;
        };
        let last_same = q.jobs.iter_mut().rev().find(|j| *j.key() == key);
        if let Some(Job::Append { items, waiters, .. }) = last_same {
            items.push(item);
            waiters.push(done);
            return;
        }
        q.jobs.push_back(Job::Append {
            key,
            items: vec![item],
            waiters: vec![done],
        });
        shard.ready.notify_one();
    }

    /// How many jobs wait or run (for tests and the shutdown log).
    pub fn queued(&self) -> usize {
        self.shards
            .iter()
            .filter_map(|s| {
                s.queue
                    .lock()
                    .ok()
                    .map(|q| q.jobs.len() + usize::from(q.busy))
            })
            .sum()
    }

    /// Waits until every queued job has run (shutdown, tests).
    pub fn flush(&self) {
        for shard in &self.shards {
            let Ok(mut q) = shard.queue.lock() else {
                continue;
            };
            while !q.jobs.is_empty() || q.busy {
                match shard.idle.wait(q) {
                    Ok(g) => q = g,
                    Err(_) => break,
                }
            }
        }
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        for shard in &self.shards {
            if let Ok(mut q) = shard.queue.lock() {
                q.closed = true;
            }
            shard.ready.notify_all();
        }
    }
}

fn work(shard: &Shard, storage: &Storage) {
    loop {
        let job = {
            let Ok(mut q) = shard.queue.lock() else {
                return;
            };
            loop {
                if let Some(job) = q.jobs.pop_front() {
                    q.busy = true;
                    break job;
                }
                if q.closed {
                    return;
                }
                shard.idle.notify_all();
                q = match shard.ready.wait(q) {
                    Ok(g) => g,
                    Err(_) => return,
                };
            }
        };
        match job {
            Job::Run { work, .. } => work(storage),
            Job::Save {
                key,
                snapshot,
                waiters,
            } => {
                let result = match snapshot() {
                    Some(value) => storage.set(&key.0, key.1.as_deref(), &key.2, value.as_ref()),
                    None => Ok(()),
                };
                for done in waiters {
                    done(&result);
                }
            }
            Job::Append {
                key,
                items,
                waiters,
            } => {
                // Appends to other archives waiting here join this round (group commit).
                let mut round = vec![super::group::Batch {
                    key,
                    items,
                    waiters,
                }];
                if let Ok(mut q) = shard.queue.lock() {
                    super::group::take(&mut q.jobs, &mut round, Job::key, |job| match job {
                        Job::Append {
                            key,
                            items,
                            waiters,
                        } => Ok(super::group::Batch {
                            key,
                            items,
                            waiters,
                        }),
                        other => Err(other),
                    });
                }
                super::group::write(storage, round);
            }
        }
        if let Ok(mut q) = shard.queue.lock() {
            q.busy = false;
            if q.jobs.is_empty() {
                shard.idle.notify_all();
            }
        }
    }
}
