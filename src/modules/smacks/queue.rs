//! The outbound queue of stream management (Prosody's `util.smqueue`): counters of
//! stanzas sent (`head`) and acknowledged (`tail`) and a ring of the unacknowledged ones,
//! bounded by `smacks_max_queue_size`. A full ring drops its oldest stanza; the counters
//! go on, so the session then cannot be resumed (the peer would miss what was dropped).
//!
//! The counters are plain integers that never wrap, as Prosody counts them (its `h` is a
//! Lua number printed with `%d`).

use std::collections::VecDeque;
use std::sync::Arc;

use crate::xml::Element;
use crate::xmpp::ns;

/// One sent stanza kept until acknowledged, with when it was sent (seconds since the
/// epoch) so a copy sent again later carries its original time in `<delay/>`.
#[derive(Debug, Clone)]
pub struct Queued {
    pub stanza: Arc<Element>,
    pub sent_at: f64,
}

impl Queued {
    /// The copy to send again or to hand on: a non-iq stanza without `<delay/>` gets one
    /// `from` the account's bare JID (or the host), stamped with its first send time.
    pub fn with_delay(&self, from: &str) -> Element {
        let mut el = (*self.stanza).clone();
        if el.name != "iq" && el.get_child("delay", ns::DELAY).is_none() {
            el.push_child(
                Element::new("delay", ns::DELAY)
                    .with_attr("from", from)
                    .with_attr(
                        "stamp",
                        crate::modules::offline::stamp::datetime(self.sent_at),
                    ),
            );
        }
        el
    }
}

/// Why an acknowledgement was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AckError {
    /// The peer acknowledged more than was sent.
    #[error("Client acknowledged more stanzas than sent by server")]
    Head,
    /// The peer acknowledged less than it already had.
    #[error("Client acknowledged less stanzas than already acknowledged")]
    Tail,
}

/// Sent-but-unacknowledged stanzas of one session.
#[derive(Debug)]
pub struct SmQueue {
    head: u64,
    tail: u64,
    max: usize,
    items: VecDeque<Queued>,
}

impl SmQueue {
    /// An empty queue keeping at most `max` stanzas (at least one).
    pub fn new(max: usize) -> Self {
        SmQueue {
            head: 0,
            tail: 0,
            max: max.max(1),
            items: VecDeque::new(),
        }
    }

    /// A stanza was sent; the oldest is dropped when the ring is full.
    pub fn push(&mut self, stanza: Arc<Element>, sent_at: f64) {
        self.head += 1;
        if self.items.len() >= self.max {
            self.items.pop_front();
        }
        self.items.push_back(Queued { stanza, sent_at });
    }

    /// The peer says it handled `h` stanzas in all; the acknowledged ones leave the queue.
    pub fn ack(&mut self, h: u64) -> Result<usize, AckError> {
        if h < self.tail {
            return Err(AckError::Tail);
        }
        if h > self.head {
            return Err(AckError::Head);
        }
        self.tail = h;
        let keep = (self.head - self.tail) as usize;
        let mut acked = 0;
        while self.items.len() > keep {
            self.items.pop_front();
            acked += 1;
        }
        if self.items.capacity() > 16 && self.items.len() < self.items.capacity() / 4 {
            // Idle sessions give the memory of a burst back.
            self.items.shrink_to(self.items.len().max(4));
        }
        Ok(acked)
    }

    pub fn count_unacked(&self) -> u64 {
        self.head - self.tail
    }

    pub fn count_acked(&self) -> u64 {
        self.tail
    }

    /// Every unacknowledged stanza is still kept (nothing was dropped from a full ring).
    pub fn resumable(&self) -> bool {
        self.items.len() as u64 >= self.head - self.tail
    }

    /// The unacknowledged stanzas kept, oldest first.
    pub fn unacked(&self) -> impl Iterator<Item = &Queued> {
        self.items.iter()
    }

    /// Takes every kept stanza out (the session is being destroyed).
    pub fn drain(&mut self) -> Vec<Queued> {
        self.items.drain(..).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(n: u32) -> Arc<Element> {
        Arc::new(Element::new("message", ns::CLIENT).with_attr("id", n.to_string()))
    }

    #[test]
    fn ack_removes_acknowledged_stanzas_and_keeps_the_rest_in_order() {
        let mut q = SmQueue::new(10);
        for n in 1..=5 {
            q.push(msg(n), 0.0);
        }
        assert_eq!(q.ack(3), Ok(3));
        assert_eq!(q.count_unacked(), 2);
        assert_eq!(q.count_acked(), 3);
        let ids: Vec<_> = q
            .unacked()
            .map(|i| i.stanza.attr("id").unwrap().to_owned())
            .collect();
        assert_eq!(ids, ["4", "5"]);
    }

    #[test]
    fn ack_beyond_sent_or_below_previous_is_refused_as_prosody_words_it() {
        let mut q = SmQueue::new(10);
        q.push(msg(1), 0.0);
        q.push(msg(2), 0.0);
        assert_eq!(q.ack(3), Err(AckError::Head));
        assert_eq!(q.ack(2), Ok(2));
        assert_eq!(q.ack(1), Err(AckError::Tail));
        assert_eq!(
            AckError::Head.to_string(),
            "Client acknowledged more stanzas than sent by server"
        );
    }

    #[test]
    fn full_ring_drops_oldest_and_makes_the_queue_unresumable() {
        let mut q = SmQueue::new(2);
        for n in 1..=3 {
            q.push(msg(n), 0.0);
        }
        assert_eq!(q.count_unacked(), 3);
        assert!(!q.resumable());
        assert_eq!(q.ack(1), Ok(0));
        assert!(q.resumable());
        let ids: Vec<_> = q
            .unacked()
            .map(|i| i.stanza.attr("id").unwrap().to_owned())
            .collect();
        assert_eq!(ids, ["2", "3"]);
    }

    #[test]
    fn copies_of_messages_get_a_delay_but_iqs_and_delayed_ones_do_not() {
        let item = Queued {
            stanza: msg(1),
            sent_at: 0.0,
        };
        let copy = item.with_delay("alice@example.test");
        let delay = copy.get_child("delay", ns::DELAY).expect("delay added");
        assert_eq!(delay.attr("from"), Some("alice@example.test"));
        assert_eq!(delay.attr("stamp"), Some("1970-01-01T00:00:00Z"));
        let iq = Queued {
            stanza: Arc::new(Element::new("iq", ns::CLIENT)),
            sent_at: 0.0,
        };
        assert!(iq.with_delay("a@b").get_child("delay", ns::DELAY).is_none());
        let delayed = Queued {
            stanza: Arc::new(copy.clone()),
            sent_at: 5.0,
        };
        let again = delayed.with_delay("x@y");
        assert_eq!(
            again.child_elements().filter(|c| c.name == "delay").count(),
            1
        );
    }
}
