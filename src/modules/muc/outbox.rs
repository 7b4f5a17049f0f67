//! What a room hands back to route: single stanzas in order, and broadcasts kept as one
//! shared stanza with the list of recipients (the Fan-out is the hot path: a message to
//! N occupants is one tree and one serialisation per framing, not N copies). Items keep
//! the room's order, so every recipient sees what it would have seen stanza by stanza.

use std::sync::Arc;

use crate::xml::{Element, Fanout};

/// One broadcast: `stanza` to each of `to`.
pub struct Broadcast {
    pub stanza: Arc<Fanout>,
    pub to: Vec<String>,
}

/// One thing to route, in the room's order.
pub enum Item {
    Single(Element),
    Broadcast(Broadcast),
}

/// A room's output.
#[derive(Default)]
pub struct Outbox {
    items: Vec<Item>,
}

impl Outbox {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, stanza: Element) {
        self.items.push(Item::Single(stanza));
    }

    /// How many items are queued: a room event marked with it fires before what comes
    /// next.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The single stanzas (replies, for handlers that amend them).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Element> {
        self.items.iter_mut().filter_map(|i| match i {
            Item::Single(e) => Some(e),
            Item::Broadcast(_) => None,
        })
    }

    /// Queues `stanza` for every address in `to` (nothing when `to` is empty).
    pub fn broadcast<'a>(&mut self, stanza: &Element, to: impl IntoIterator<Item = &'a str>) {
        let to: Vec<String> = to.into_iter().map(str::to_owned).collect();
        if to.is_empty() {
            return;
        }
        self.items.push(Item::Broadcast(Broadcast {
            stanza: Arc::new(Fanout::new(stanza.clone())),
            to,
        }));
    }

    /// Queues everything `other` holds after what is queued here.
    pub fn append(&mut self, other: Outbox) {
        self.items.extend(other.items);
    }

    /// What to route, in order.
    pub fn into_items(self) -> Vec<Item> {
        self.items
    }

    /// Every stanza as its own element, broadcasts expanded in place (for callers that
    /// inspect the output, and tests).
    pub fn into_elements(self) -> Vec<Element> {
        let mut out = Vec::with_capacity(self.items.len());
        for item in self.items {
            match item {
                Item::Single(e) => out.push(e),
                Item::Broadcast(b) => out.extend(b.to.iter().map(|to| b.stanza.addressed(to))),
            }
        }
        out
    }
}

impl Extend<Element> for Outbox {
    fn extend<I: IntoIterator<Item = Element>>(&mut self, iter: I) {
        self.items.extend(iter.into_iter().map(Item::Single));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(body: &str) -> Element {
        Element::new("message", "jabber:client")
            .with_child(Element::new("body", "jabber:client").with_text(body))
    }

    #[test]
    fn a_broadcast_is_one_item_with_its_place_among_single_stanzas() {
        let mut out = Outbox::new();
        out.push(msg("first").with_attr("to", "a@x/1"));
        out.broadcast(&msg("all"), ["a@x/1", "b@x/1", "c@x/1"]);
        out.broadcast(&msg("nobody"), []);
        out.push(msg("last").with_attr("to", "a@x/1"));
        assert_eq!(out.len(), 3);
        let items = out.into_items();
        let Item::Broadcast(b) = &items[1] else {
            panic!("the broadcast is second");
        };
        assert_eq!(b.to, ["a@x/1", "b@x/1", "c@x/1"]);
        assert!(b.stanza.stanza().attr("to").is_none());
    }

    #[test]
    fn expanded_output_is_what_single_sends_would_have_been() {
        let mut out = Outbox::new();
        out.broadcast(&msg("one"), ["a@x/1", "b@x/1"]);
        out.push(msg("mid").with_attr("to", "a@x/1"));
        out.broadcast(&msg("two"), ["b@x/1"]);
        let got: Vec<(String, String)> = out
            .into_elements()
            .iter()
            .map(|e| {
                (
                    e.attr("to").unwrap_or_default().to_owned(),
                    e.get_child("body", "jabber:client")
                        .map(|b| b.text())
                        .unwrap_or_default(),
                )
            })
            .collect();
        let want = [
            ("a@x/1", "one"),
            ("b@x/1", "one"),
            ("a@x/1", "mid"),
            ("b@x/1", "two"),
        ];
        assert_eq!(
            got,
            want.map(|(a, b)| (a.to_owned(), b.to_owned())).to_vec()
        );
    }
}
