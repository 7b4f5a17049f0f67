//! Discussion history (reference §13.4, `history.lib.lua`): which messages are kept,
//! the `<delay/>` they get, and what a join's `<history/>` asks for.

use super::broadcast::MUC;
use super::options::Options;
use super::outbox::Outbox;
use super::room::{HistoryEntry, Room};
use crate::modules::offline::stamp;
use crate::xml::Element;
use crate::xmpp::ns;

const HINTS: &str = "urn:xmpp:hints";
const EME: &str = "urn:xmpp:eme:0";
const MARKERS: &str = "urn:xmpp:chat-markers:0";

/// `muc-message-is-historic`: hints first, then a body, encryption or a chat marker.
pub fn is_historic(msg: &Element) -> bool {
    if msg.get_child("no-store", HINTS).is_some()
        || msg.get_child("no-permanent-store", HINTS).is_some()
    {
        return false;
    }
    msg.get_child("store", HINTS).is_some()
        || msg.get_child("body", ns::CLIENT).is_some()
        || msg.get_child("encryption", EME).is_some()
        || msg.child_elements().any(|c| c.ns == MARKERS)
}

/// The limits a join asked for: (maxchars, maxstanzas, since).
pub fn requested(stanza: &Element, now: f64) -> (Option<usize>, Option<usize>, Option<f64>) {
    let Some(h) = stanza
        .get_child("x", MUC)
        .and_then(|x| x.get_child("history", MUC))
    else {
        return (None, None, None);
    };
    let num = |k: &str| h.attr(k).and_then(|v| v.trim().parse::<f64>().ok());
    let maxchars = num("maxchars").map(|n| n.max(0.0) as usize);
    let maxstanzas = num("maxstanzas").map(|n| n.max(0.0) as usize);
    let mut since = h.attr("since").and_then(stamp::parse);
    if let Some(secs) = num("seconds") {
        let s = now - secs;
        since = Some(since.map_or(s, |x: f64| x.max(s)));
    }
    (maxchars, maxstanzas, since)
}

impl Room {
    /// `muc-add-history`: a copy with `<delay from=room stamp/>`, oldest dropped past the
    /// room's length; a length of 0 keeps nothing.
    pub fn add_history(&mut self, msg: &Element, now: f64, opts: &Options) {
        let len = self.config.history_length(opts) as usize;
        if len == 0 {
            self.history.clear();
            return;
        }
        let when = now.floor();
        let mut stored = msg.clone();
        stored.set_attr("to", "");
        stored.push_child(
            Element::new("delay", ns::DELAY)
                .with_attr("from", self.jid.as_str())
                .with_attr("stamp", stamp::datetime(when)),
        );
        let chars = stored.to_xml().len();
        self.history.push_back(HistoryEntry {
            stanza: stored,
            at: when,
            chars,
        });
        while self.history.len() > len {
            self.history.pop_front();
        }
    }

    /// Sends the history a joining session asked for (or the room's default amount).
    pub fn send_history(&self, join: &Element, now: f64, opts: &Options, out: &mut Outbox) {
        let to = join.attr("from").unwrap_or_default();
        let (maxchars, mut maxstanzas, since) = requested(join, now);
        if maxchars.is_none() && maxstanzas.is_none() && since.is_none() {
            maxstanzas = Some(self.config.default_history_messages(opts) as usize);
        }
        if let Some(list) = self.archive_history(to, maxchars, maxstanzas, since, opts) {
            out.extend(list);
            return;
        }
        let maxstanzas = maxstanzas.unwrap_or(self.history.len());
        let mut n = 0;
        let mut chars = 0;
        for entry in self.history.iter().rev() {
            if let Some(max) = maxchars {
                chars += entry.chars + to.len();
                if chars > max {
                    break;
                }
            }
            if since.is_some_and(|s| s > entry.at) {
                break;
            }
            if n + 1 > maxstanzas {
                break;
            }
            n += 1;
        }
        for entry in self.history.iter().skip(self.history.len() - n) {
            let mut m = entry.stanza.clone();
            m.set_attr("to", to);
            out.push(m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_decide_before_the_body() {
        let body = Element::new("message", ns::CLIENT).with_child(Element::new("body", ns::CLIENT));
        assert!(is_historic(&body));
        let hinted = body.clone().with_child(Element::new("no-store", HINTS));
        assert!(!is_historic(&hinted));
        let empty = Element::new("message", ns::CLIENT);
        assert!(!is_historic(&empty));
        assert!(is_historic(&empty.with_child(Element::new("store", HINTS))));
    }

    #[test]
    fn seconds_and_since_take_the_later_bound() {
        let join = Element::new("presence", ns::CLIENT).with_child(
            Element::new("x", MUC).with_child(
                Element::new("history", MUC)
                    .with_attr("seconds", "10")
                    .with_attr("since", "1970-01-01T00:01:40Z")
                    .with_attr("maxstanzas", "3"),
            ),
        );
        let (c, s, since) = requested(&join, 1000.0);
        assert_eq!((c, s, since), (None, Some(3), Some(990.0)));
    }
}
