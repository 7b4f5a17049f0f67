//! One session's stream management, sans-IO: which namespace it was enabled with, the
//! resumption token, the count of stanzas handled from the peer, the outbound queue and
//! when to ask the peer for an acknowledgement (`smacks_max_unacked_stanzas`, its CSI-
//! inactive variant, `smacks_max_ack_delay`). The session feeds it what it reads and
//! sends; it answers with elements to send.

use std::sync::Arc;
use std::time::Instant;

use super::queue::{AckError, SmQueue};
use super::registry::TakeoverRx;
use super::Settings;
use crate::xml::Element;
use crate::xmpp::error::{StanzaCondition, StreamCondition};
use crate::xmpp::ns;

/// Stream management of one session.
#[derive(Debug)]
pub struct SmState {
    /// `urn:xmpp:sm:3` or `urn:xmpp:sm:2`, as the peer enabled it.
    pub xmlns: &'static str,
    /// The resumption token, while the session is resumable.
    pub token: Option<Box<str>>,
    /// Stanzas handled from the peer (our `h`).
    pub handled: u64,
    pub queue: SmQueue,
    pub settings: Settings,
    /// The client said `<inactive/>` (XEP-0352): the inactive threshold applies.
    pub inactive: bool,
    awaiting_ack: bool,
    last_requested_h: Option<u64>,
    ack_delay_at: Option<Instant>,
    /// Where a new connection asks to take this session over (resumption).
    pub takeover: Option<TakeoverRx>,
    /// The final `<a/>` of a closing stream was sent.
    pub closing: bool,
    /// A resuming connection's request that ended this connection.
    pub pending: Option<super::registry::Takeover>,
}

/// What an `<a/>` from the peer means for the stream.
#[derive(Debug, PartialEq, Eq)]
pub enum AckOutcome {
    Fine,
    /// Close the stream with this condition and text.
    Close(StreamCondition, String),
}

impl SmState {
    pub fn new(xmlns: &'static str, settings: Settings) -> Self {
        SmState {
            xmlns,
            token: None,
            handled: 0,
            queue: SmQueue::new(settings.max_queue_size),
            settings,
            inactive: false,
            awaiting_ack: false,
            last_requested_h: None,
            ack_delay_at: None,
            takeover: None,
            closing: false,
            pending: None,
        }
    }

    /// A stanza from the peer was handled.
    pub fn on_incoming(&mut self) {
        self.handled += 1;
    }

    /// A stanza is being sent (or, while hibernating, kept for the next connection).
    pub fn on_outgoing(&mut self, stanza: Arc<Element>, unix_now: f64) {
        self.queue.push(stanza, unix_now);
    }

    /// `<a h='…'/>` for our count.
    pub fn ack_element(&self) -> Element {
        Element::new("a", self.xmlns).with_attr("h", self.handled.to_string())
    }

    /// The peer's `<a/>`.
    pub fn on_ack(&mut self, el: &Element) -> AckOutcome {
        self.awaiting_ack = false;
        self.ack_delay_at = None;
        let Some(h) = el.attr("h").and_then(parse_h) else {
            return AckOutcome::Close(
                StreamCondition::InvalidXml,
                "Missing or invalid 'h' attribute".into(),
            );
        };
        match self.queue.ack(h) {
            Ok(_) => AckOutcome::Fine,
            Err(e @ (AckError::Head | AckError::Tail)) => {
                AckOutcome::Close(StreamCondition::UndefinedCondition, e.to_string())
            }
        }
    }

    /// `<r/>` to send now, if one is due (`force`: on resumption, `csi-client-active`,
    /// a read timeout). None while one is outstanding, as Prosody.
    pub fn request_if_needed(&mut self, force: bool, now: Instant) -> Option<Element> {
        if self.awaiting_ack {
            return None;
        }
        let expected = self.queue.count_acked() + self.queue.count_unacked();
        let max = if self.inactive {
            self.settings.max_inactive_unacked
        } else {
            self.settings.max_unacked
        };
        let due =
            force || (self.queue.count_unacked() > max && Some(expected) != self.last_requested_h);
        if !due {
            return None;
        }
        self.awaiting_ack = true;
        self.last_requested_h = Some(expected);
        if let Some(delay) = self.settings.max_ack_delay {
            self.ack_delay_at.get_or_insert(now + delay);
        }
        Some(Element::new("r", self.xmlns))
    }

    /// Forgets an outstanding request (acks from before a resumption do not count).
    pub fn forget_request(&mut self) {
        self.awaiting_ack = false;
        self.ack_delay_at = None;
    }

    /// When `smacks-ack-delayed` is due.
    pub fn deadline(&self) -> Option<Instant> {
        self.ack_delay_at
    }

    /// True once when the peer has not answered our `<r/>` within `smacks_max_ack_delay`
    /// (the session fires `smacks-ack-delayed`).
    pub fn ack_delayed(&mut self, now: Instant) -> bool {
        match self.ack_delay_at {
            Some(at) if at <= now => {
                self.ack_delay_at = None;
                self.awaiting_ack
            }
            _ => false,
        }
    }

    pub fn is_awaiting_ack(&self) -> bool {
        self.awaiting_ack
    }
}

/// An `h` as a non-negative integer (Prosody's `tonumber`, which also takes `1e3` or
/// `0x10`: only plain decimals are taken here).
pub fn parse_h(s: &str) -> Option<u64> {
    s.trim().parse::<u64>().ok()
}

/// `<enabled/>`: `id`, the echoed `resume` and `max` only when resumption was asked.
pub fn enabled(xmlns: &str, token: Option<&str>, resume: Option<&str>, max: u64) -> Element {
    let mut el = Element::new("enabled", xmlns);
    if let Some(token) = token {
        el.set_attr("id", token);
    }
    if let Some(resume) = resume {
        el.set_attr("resume", resume);
    }
    if token.is_some() {
        el.set_attr("max", max.to_string());
    }
    el
}

/// `<failed/>` with an optional stanza-error condition, `h` and `previd`.
pub fn failed(
    xmlns: &str,
    condition: Option<StanzaCondition>,
    h: Option<u64>,
    previd: Option<&str>,
) -> Element {
    let mut el = Element::new("failed", xmlns);
    if let Some(h) = h {
        el.set_attr("h", h.to_string());
    }
    if let Some(previd) = previd {
        el.set_attr("previd", previd);
    }
    if let Some(c) = condition {
        el.push_child(Element::new(c.name(), ns::STANZAS));
    }
    el
}

/// `<resumed/>`.
pub fn resumed(xmlns: &str, h: u64, previd: &str) -> Element {
    Element::new("resumed", xmlns)
        .with_attr("h", h.to_string())
        .with_attr("previd", previd)
}

/// Prosody's `util.id.short()`: 9 random bytes, URL-safe base64, 12 characters.
pub fn new_token() -> String {
    use base64::Engine;
    let bytes: [u8; 9] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn settings() -> Settings {
        Settings::default()
    }

    fn msg() -> Arc<Element> {
        Arc::new(Element::new("message", ns::CLIENT))
    }

    #[test]
    fn with_default_threshold_the_first_unacked_stanza_asks_once_until_answered() {
        let now = Instant::now();
        let mut sm = SmState::new(ns::SM3, settings());
        assert!(sm.request_if_needed(false, now).is_none());
        sm.on_outgoing(msg(), 0.0);
        let r = sm.request_if_needed(false, now).expect("r due");
        assert_eq!((r.name.as_str(), r.ns.as_str()), ("r", ns::SM3));
        sm.on_outgoing(msg(), 0.0);
        assert!(
            sm.request_if_needed(false, now).is_none(),
            "one outstanding"
        );
        assert_eq!(
            sm.on_ack(&Element::new("a", ns::SM3).with_attr("h", "1")),
            AckOutcome::Fine
        );
        assert!(
            sm.request_if_needed(false, now).is_some(),
            "one more unacked"
        );
    }

    #[test]
    fn no_repeat_request_for_the_same_expected_h() {
        let now = Instant::now();
        let mut sm = SmState::new(ns::SM3, settings());
        sm.on_outgoing(msg(), 0.0);
        assert!(sm.request_if_needed(false, now).is_some());
        // A misbehaving client answers h=0: we do not ask again for the same count.
        assert_eq!(
            sm.on_ack(&Element::new("a", ns::SM3).with_attr("h", "0")),
            AckOutcome::Fine
        );
        assert!(sm.request_if_needed(false, now).is_none());
        assert!(
            sm.request_if_needed(true, now).is_some(),
            "forced still asks"
        );
    }

    #[test]
    fn inactive_clients_are_asked_only_above_the_inactive_threshold() {
        let now = Instant::now();
        let mut s = settings();
        s.max_inactive_unacked = 2;
        let mut sm = SmState::new(ns::SM3, s);
        sm.inactive = true;
        sm.on_outgoing(msg(), 0.0);
        sm.on_outgoing(msg(), 0.0);
        assert!(sm.request_if_needed(false, now).is_none());
        sm.on_outgoing(msg(), 0.0);
        assert!(sm.request_if_needed(false, now).is_some());
    }

    #[test]
    fn bad_acks_close_with_prosodys_conditions() {
        let mut sm = SmState::new(ns::SM3, settings());
        let bad = sm.on_ack(&Element::new("a", ns::SM3).with_attr("h", "x"));
        assert_eq!(
            bad,
            AckOutcome::Close(
                StreamCondition::InvalidXml,
                "Missing or invalid 'h' attribute".into()
            )
        );
        let high = sm.on_ack(&Element::new("a", ns::SM3).with_attr("h", "1"));
        assert_eq!(
            high,
            AckOutcome::Close(
                StreamCondition::UndefinedCondition,
                "Client acknowledged more stanzas than sent by server".into()
            )
        );
    }

    #[test]
    fn ack_delay_fires_once_after_max_ack_delay_on_the_virtual_clock() {
        let t0 = Instant::now();
        let mut sm = SmState::new(ns::SM3, settings());
        sm.on_outgoing(msg(), 0.0);
        sm.request_if_needed(false, t0).expect("r");
        assert_eq!(sm.deadline(), Some(t0 + Duration::from_secs(30)));
        assert!(!sm.ack_delayed(t0 + Duration::from_secs(29)));
        assert!(sm.ack_delayed(t0 + Duration::from_secs(30)));
        assert!(!sm.ack_delayed(t0 + Duration::from_secs(31)));
    }

    #[test]
    fn enabled_carries_id_resume_and_max_only_when_resumption_was_asked() {
        let plain = enabled(ns::SM3, None, None, 600);
        assert!(plain.attr("id").is_none() && plain.attr("max").is_none());
        let r = enabled(ns::SM3, Some("abc"), Some("true"), 600);
        assert_eq!(r.attr("id"), Some("abc"));
        assert_eq!(r.attr("resume"), Some("true"));
        assert_eq!(r.attr("max"), Some("600"));
        assert_eq!(new_token().len(), 12);
    }
}
