//! Store calls from core-thread handlers: the work runs on the storage executor (in
//! order per store key) and the handler's continuation runs back on the core thread with
//! the result, so the core serves everyone else while a disk or database works. See
//! /docs/storage.md ("Off the core thread") for the rules of use.
//!
//! ```ignore
//! let key = storage::executor::key(&host, Some(&user), "vcard");
//! storage::call::spawn(core, key, move |st| st.get(&host, Some(&user), "vcard"),
//!     move |core, result| reply(core, origin, result));
//! ```

use std::collections::HashMap;

use super::driver::StoreResult;
use super::executor::StoreKey;
use super::lua_value::LuaValue;
use super::manager::Storage;
use crate::core::hold::{self, Hold};
use crate::core::session::{CoreMsg, CoreTask};
use crate::core::{Core, Origin};

type Continuation = Box<dyn FnOnce(&mut Core, Box<dyn std::any::Any + Send>)>;

/// Continuations waiting for their store work, by call number. They stay on the core
/// thread (they may hold `Rc`s and other core-only state); only results travel.
#[derive(Default)]
struct Calls {
    next: u64,
    waiting: HashMap<u64, Continuation>,
}

/// Runs `work` on the executor thread of `key`, after every job queued for that key
/// before it, then `then` on the core thread with what `work` returned. Writes done in
/// `work` are durable when `then` runs (every driver call returns only once durable).
///
/// If the server stops before the work ran, `then` never runs.
pub fn spawn<T, W, C>(core: &mut Core, key: StoreKey, work: W, then: C)
where
    T: Send + 'static,
    W: FnOnce(&Storage) -> T + Send + 'static,
    C: FnOnce(&mut Core, T) + 'static,
{
    let id = park(core, then);
    let tx = core.shared.core_tx.clone();
    core.shared.store_exec.run(key, move |storage| {
        let out: Box<dyn std::any::Any + Send> = Box::new(work(storage));
        let _ = tx.send(CoreMsg::Task(CoreTask(Box::new(move |core: &mut Core| {
            resume(core, id, out)
        }))));
    });
}

/// [`spawn`], with the output of `origin`'s session held from now until `then` has run
/// (see [`crate::core::hold`]): what `then` sends takes the place of the request, and
/// the answers to the session's later stanzas wait behind it, as if the store call had
/// been synchronous. For every call whose answer says the write was done.
pub fn spawn_held<T, W, C>(core: &mut Core, origin: &Origin, key: StoreKey, work: W, then: C)
where
    T: Send + 'static,
    W: FnOnce(&Storage) -> T + Send + 'static,
    C: FnOnce(&mut Core, T) + 'static,
{
    let hold = hold::begin(core, origin);
    spawn(core, key, work, move |core, out| {
        fill(hold, core, |core| then(core, out))
    });
}

/// Runs `f` with its output to the held session in the hold's place, then releases it.
pub fn fill<R>(hold: Option<Hold>, core: &mut Core, f: impl FnOnce(&mut Core) -> R) -> R {
    match hold {
        Some(h) => h.fill(|| f(core)),
        None => f(core),
    }
}

/// Appends an assembled archive item (see [`super::internal::archive_item`]) to
/// `key`'s archive, batched with other appends to the same archive queued meanwhile (one
/// flush for the batch), then runs `then` on the core thread once it is durable.
pub fn append<C>(core: &mut Core, key: StoreKey, item: LuaValue, then: C)
where
    C: FnOnce(&mut Core, StoreResult<()>) + 'static,
{
    let id = park(core, then);
    let tx = core.shared.core_tx.clone();
    core.shared.store_exec.append(
        key,
        item,
        Box::new(move |result: &StoreResult<()>| {
            let out: Box<dyn std::any::Any + Send> = Box::new(match result {
                Ok(()) => Ok(()),
                Err(e) => Err::<(), _>(e.duplicate()),
            });
            let _ = tx.send(CoreMsg::Task(CoreTask(Box::new(move |core: &mut Core| {
                resume(core, id, out)
            }))));
        }),
    );
}

/// How many continuations wait for their store work (tests, shutdown).
pub fn waiting(core: &mut Core) -> usize {
    core.state::<Calls>().waiting.len()
}

fn park<T: 'static>(core: &mut Core, then: impl FnOnce(&mut Core, T) + 'static) -> u64 {
    let calls = core.state::<Calls>();
    calls.next += 1;
    let id = calls.next;
    calls.waiting.insert(
        id,
        Box::new(move |core, out| match out.downcast::<T>() {
            Ok(value) => then(core, *value),
            Err(_) => tracing::error!("A store call's result had the wrong type"),
        }),
    );
    id
}

fn resume(core: &mut Core, id: u64, out: Box<dyn std::any::Any + Send>) {
    let Some(then) = core.state::<Calls>().waiting.remove(&id) else {
        return;
    };
    then(core, out);
}

#[cfg(test)]
#[path = "call_tests.rs"]
mod tests;
