//! The queue from the core thread to one connection task: unbounded, many senders, one
//! receiver that takes everything queued at once.
//!
//! It replaces tokio's unbounded mpsc channel for [`Outbound`] because every bound session
//! keeps one for its whole life: tokio's channel state is cache-padded and its first send
//! allocates a block of 32 slots, about 1 KiB per session even when idle. Here the state
//! is one small allocation and the queue gives its memory back whenever it is drained.
//! Taking the whole queue in one call also lets a connection serialise a burst of
//! stanzas and write them with one system call.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};

use super::hold::Gate;
use super::session::Outbound;

struct State {
    queue: VecDeque<Outbound>,
    /// The receiver's task, while it waits.
    waker: Option<Waker>,
    senders: usize,
    receiver_gone: bool,
    /// Output waiting for a write to become durable (see [`super::hold`]); `None` while
    /// nothing is held, which is nearly always.
    gate: Option<Box<Gate>>,
}

struct Chan {
    state: Mutex<State>,
    /// Stanzas the connection routed to the core that the core has not handled yet (the
    /// connection stops reading past a bound: back-pressure instead of an unbounded core
    /// queue). Outside the lock: both ends touch it once per stanza.
    inflight: AtomicUsize,
    /// Their size ([`Element::approx_bytes`](crate::xml::Element::approx_bytes)).
    inflight_bytes: AtomicUsize,
}

impl Chan {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves a consistent queue (push/pop/take only).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The core's handle on a connection (cloneable).
pub struct OutboundTx {
    chan: Arc<Chan>,
}

/// The connection task's end.
pub struct OutboundRx {
    chan: Arc<Chan>,
}

/// The connection is gone; the message comes back.
#[derive(Debug)]
pub struct Closed(pub Outbound);

/// A new queue.
pub fn channel() -> (OutboundTx, OutboundRx) {
    let chan = Arc::new(Chan {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            waker: None,
            senders: 1,
            receiver_gone: false,
            gate: None,
        }),
        inflight: AtomicUsize::new(0),
        inflight_bytes: AtomicUsize::new(0),
    });
    (OutboundTx { chan: chan.clone() }, OutboundRx { chan })
}

impl OutboundTx {
    /// Queues a message; fails only when the receiver is gone.
    pub fn send(&self, msg: Outbound) -> Result<(), Closed> {
        let waker = {
            let mut st = self.chan.lock();
            if st.receiver_gone {
                return Err(Closed(msg));
            }
            if let Some(gate) = st.gate.as_mut() {
                gate.push(msg);
                return Ok(());
            }
            st.queue.push_back(msg);
            st.waker.take()
        };
        // Woken outside the lock: the receiver's worker may run it at once.
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    pub fn is_closed(&self) -> bool {
        self.chan.lock().receiver_gone
    }

    /// A handle for holding this channel's output (see [`super::hold`]).
    pub fn gate(&self) -> GateRef {
        GateRef {
            chan: self.chan.clone(),
        }
    }

    /// The core handled one of the stanzas the connection routed to it, of `bytes` (the
    /// size it was routed with).
    pub fn processed(&self, bytes: usize) {
        // While the session's output is held, its stanzas count as in flight until the
        // holds are released: a sender whose writes wait for the disk stops being read
        // (back-pressure) instead of queueing answers without end.
        if let Some(gate) = self.chan.lock().gate.as_mut() {
            gate.defer(bytes);
            return;
        }
        self.chan.settle(1, bytes);
    }
}

impl Chan {
    fn settle(&self, count: usize, bytes: usize) {
        let _ = self
            .inflight
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(count))
            });
        let _ = self
            .inflight_bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(bytes))
            });
    }
}

impl Clone for OutboundTx {
    fn clone(&self) -> Self {
        self.chan.lock().senders += 1;
        OutboundTx {
            chan: self.chan.clone(),
        }
    }
}

impl Drop for OutboundTx {
    fn drop(&mut self) {
        let waker = {
            let mut st = self.chan.lock();
            st.senders -= 1;
            if st.senders == 0 {
                st.waker.take()
            } else {
                None
            }
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// Holds and releases a channel's output; not a sender (the receiver's end of stream does
/// not wait for it), and usable from any thread.
#[derive(Clone)]
pub struct GateRef {
    chan: Arc<Chan>,
}

impl GateRef {
    pub(super) fn mark(&self) -> u64 {
        let mut st = self.chan.lock();
        st.gate.get_or_insert_with(Box::default).mark()
    }

    pub(super) fn set_filling(&self, ticket: Option<u64>) -> Option<u64> {
        let mut st = self.chan.lock();
        st.gate.as_mut().and_then(|g| g.set_filling(ticket))
    }

    /// Releases a hold: what waited behind it (up to the next hold) is queued now.
    pub(super) fn release(&self, ticket: u64) {
        let (waker, freed) = {
            let mut st = self.chan.lock();
            let Some(gate) = st.gate.as_mut() else {
                return;
            };
            let out = gate.release(ticket);
            let freed = if gate.is_empty() {
                st.gate.take()
            } else {
                None
            };
            let settled = freed.as_ref().map_or((0, 0), |g| g.deferred());
            if settled.0 > 0 {
                self.chan.settle(settled.0, settled.1);
            }
            if st.receiver_gone {
                (None, (out, freed))
            } else {
                let woke = !out.is_empty() || settled.0 > 0;
                st.queue.extend(out);
                (woke.then(|| st.waker.take()).flatten(), (Vec::new(), freed))
            }
        };
        drop(freed);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Messages waiting behind holds (tests, logs).
    pub fn held(&self) -> usize {
        self.chan.lock().gate.as_ref().map_or(0, |g| g.waiting())
    }
}

impl std::fmt::Debug for GateRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GateRef")
    }
}

impl std::fmt::Debug for OutboundTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OutboundTx")
    }
}

impl OutboundRx {
    /// The connection routed a stanza of about `bytes` to the core.
    pub fn routed(&self, bytes: usize) {
        self.chan.inflight.fetch_add(1, Ordering::Relaxed);
        self.chan.inflight_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// The size of the routed stanzas the core has not handled yet.
    pub fn inflight_bytes(&self) -> usize {
        self.chan.inflight_bytes.load(Ordering::Relaxed)
    }

    /// Routed stanzas the core has not handled yet.
    pub fn inflight(&self) -> usize {
        self.chan.inflight.load(Ordering::Relaxed)
    }

    /// Takes whatever is queued now, without waiting (for code and tests that poll).
    pub fn take_queued(&mut self) -> VecDeque<Outbound> {
        std::mem::take(&mut self.chan.lock().queue)
    }

    /// Gives an emptied batch's memory back to the queue, for a busy connection whose next
    /// batch is coming: the sender then pushes into it instead of allocating. Idle
    /// connections do not call this, so their queues keep no memory.
    pub fn recycle(&mut self, mut batch: VecDeque<Outbound>) {
        batch.clear();
        let mut st = self.chan.lock();
        if st.queue.capacity() == 0 {
            st.queue = batch;
        }
    }

    /// Waits until something is queued and takes all of it, in order; `None` once every
    /// sender is gone and the queue is empty. The queue keeps no memory afterwards.
    ///
    /// A `poll_fn`, not an `async fn`: idle connection tasks keep this future, which is
    /// one reference.
    pub fn recv_all(
        &mut self,
    ) -> impl std::future::Future<Output = Option<VecDeque<Outbound>>> + '_ {
        poll_fn(move |cx| {
            let mut st = self.chan.lock();
            if !st.queue.is_empty() {
                return Poll::Ready(Some(std::mem::take(&mut st.queue)));
            }
            if st.senders == 0 {
                return Poll::Ready(None);
            }
            match &st.waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => st.waker = Some(cx.waker().clone()),
            }
            Poll::Pending
        })
    }
}

impl Drop for OutboundRx {
    fn drop(&mut self) {
        let queued = {
            let mut st = self.chan.lock();
            st.receiver_gone = true;
            st.waker = None;
            (std::mem::take(&mut st.queue), st.gate.take())
        };
        // Stanzas are dropped outside the lock.
        drop(queued);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::Element;

    fn stanza(name: &str) -> Outbound {
        Outbound::Stanza(Arc::new(Element::new(name, "jabber:client")))
    }

    fn names(batch: &VecDeque<Outbound>) -> Vec<String> {
        batch
            .iter()
            .map(|m| match m {
                Outbound::Stanza(el) => el.name.to_string(),
                Outbound::Shared(el, _) => el.stanza().name.to_string(),
                Outbound::Close(_) => "close".to_owned(),
            })
            .collect()
    }

    #[tokio::test]
    async fn a_burst_is_received_as_one_batch_in_order() {
        let (tx, mut rx) = channel();
        tx.send(stanza("a")).expect("open");
        tx.clone().send(stanza("b")).expect("open");
        tx.send(Outbound::Close(None)).expect("open");
        let batch = rx.recv_all().await.expect("queued");
        assert_eq!(names(&batch), ["a", "b", "close"]);
        tx.send(stanza("c")).expect("open");
        let batch = rx.recv_all().await.expect("queued");
        assert_eq!(names(&batch), ["c"]);
    }

    #[tokio::test]
    async fn a_waiting_receiver_is_woken_by_a_send_from_another_thread() {
        let (tx, mut rx) = channel();
        let sender = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            tx.send(stanza("late")).expect("open");
            tx
        });
        let batch = rx.recv_all().await.expect("queued");
        assert_eq!(names(&batch), ["late"]);
        drop(sender.join().expect("sender thread"));
    }

    #[tokio::test]
    async fn receiver_sees_the_end_once_every_sender_is_gone() {
        let (tx, mut rx) = channel();
        let tx2 = tx.clone();
        tx.send(stanza("last")).expect("open");
        drop(tx);
        drop(tx2);
        assert_eq!(names(&rx.recv_all().await.expect("queued")), ["last"]);
        assert!(rx.recv_all().await.is_none());
    }

    #[test]
    fn sending_to_a_dropped_receiver_fails_and_returns_the_message() {
        let (tx, rx) = channel();
        assert!(!tx.is_closed());
        drop(rx);
        assert!(tx.is_closed());
        assert!(matches!(
            tx.send(stanza("x")),
            Err(Closed(Outbound::Stanza(_)))
        ));
    }

    #[tokio::test]
    async fn a_recycled_batch_keeps_its_memory_for_the_next_sends() {
        let (tx, mut rx) = channel();
        for _ in 0..3 {
            tx.send(stanza("message")).expect("open");
        }
        let batch = rx.recv_all().await.expect("batch");
        let cap = batch.capacity();
        rx.recycle(batch);
        tx.send(stanza("iq")).expect("open");
        let batch = rx.recv_all().await.expect("batch");
        assert_eq!(names(&batch), ["iq"]);
        assert_eq!(batch.capacity(), cap);
    }

    #[test]
    fn routed_stanzas_count_until_the_core_handles_them() {
        let (tx, rx) = channel();
        rx.routed(10);
        rx.routed(20);
        assert_eq!((rx.inflight(), rx.inflight_bytes()), (2, 30));
        tx.processed(10);
        assert_eq!((rx.inflight(), rx.inflight_bytes()), (1, 20));
        tx.processed(20);
        tx.processed(20);
        assert_eq!(
            (rx.inflight(), rx.inflight_bytes()),
            (0, 0),
            "never below zero"
        );
    }

    #[test]
    fn the_queue_state_is_small() {
        // What every idle session keeps (tokio's channel kept about 1 KiB).
        assert!(
            std::mem::size_of::<Chan>() <= 96,
            "{}",
            std::mem::size_of::<Chan>()
        );
    }
}
