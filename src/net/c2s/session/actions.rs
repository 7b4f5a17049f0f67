//! How a c2s session runs the stream state machine's actions and ends itself: sends,
//! closes (with the framing's header, error and end), the send-buffer cap, logs.

use std::borrow::Cow;
use std::time::Instant;

use super::super::effect::{Effect, State};
use super::super::framing::{Failure, Framing};
use super::C2sSession;
use crate::modules::c2s::stream::Action;
use crate::modules::openmetrics::{metrics, LimitKind};
use crate::xml::{Element, StreamEvent, XmlError};
use crate::xmpp::error::{StreamCondition, StreamError};
use crate::xmpp::ns;

impl<F: Framing> C2sSession<F> {
    pub(super) fn run_action(&mut self, action: Action, now: Instant) -> Option<Effect> {
        match action {
            Action::OpenStream {
                from,
                to,
                id,
                version,
            } => {
                self.opened = true;
                self.header_sent = true;
                self.framing
                    .open(from.as_deref(), to.as_deref(), &id, version, self.out.buf());
                self.after_output(now);
                None
            }
            Action::Send(el) => {
                if el.ns == ns::SASL && el.name == "failure" {
                    self.log_auth_failure(&el);
                    self.limits.on_sasl_failure(&self.shared, &el);
                    let info = self.stream_info();
                    crate::lua::events::notify_authentication(&self.shared, info, Some(el.clone()));
                }
                self.push_element(&el, now);
                None
            }
            Action::Close(err) => {
                self.close_with(err, now);
                None
            }
            Action::StartTls => self.wait(Effect::StartTls),
            Action::CollectFeatures(features) => {
                let info = self.stream_info();
                self.wait(Effect::CollectFeatures(info, features))
            }
            // Unbound while waiting for the peer's end: nothing it sends is routed.
            Action::Forward(_) if self.timers.closing_since.is_some() => None,
            Action::Forward(el) => {
                metrics().stanza_in();
                self.sm_incoming(&el, now);
                Some(Effect::Route(el))
            }
            Action::Authenticated { username } => {
                let host = self.stream.host().unwrap_or_default().to_owned();
                tracing::info!(ip = ?self.ip(), "Authenticated as {username}@{host}");
                self.limits.on_authenticated(&self.shared, &host, &username);
                crate::lua::events::notify_authentication(&self.shared, self.stream_info(), None);
                self.parser.reset();
                self.parser
                    .set_max_stanza_bytes(self.settings.stanza_size_limit);
                self.header_sent = false;
                None
            }
            Action::LoadScram { username } => {
                if let Some(e) = self.refuse_login(&username) {
                    self.close_with(Some(e), now);
                    return None;
                }
                self.wait(Effect::LoadScram { username })
            }
            Action::VerifyPlain { username, password } => {
                if let Some(e) = self.refuse_login(&username) {
                    self.close_with(Some(e), now);
                    return None;
                }
                self.wait(Effect::VerifyPlain { username, password })
            }
            Action::Register {
                username,
                password,
                iq,
            } => self.wait(Effect::Register {
                username,
                password,
                iq,
            }),
            Action::Bind { resource, iq } => {
                self.bind_iq = Some(Box::new(iq));
                self.wait(Effect::Bind { resource })
            }
        }
    }

    pub(super) fn wait(&mut self, effect: Effect) -> Option<Effect> {
        self.waiting = true;
        Some(effect)
    }

    pub(super) fn refuse_login(&mut self, username: &str) -> Option<Element> {
        let host = self.stream.host().unwrap_or_default().to_owned();
        self.limits.refuse_login(&self.shared, &host, username)
    }

    pub(super) fn log_auth_failure(&self, failure: &Element) {
        let condition = failure
            .child_elements()
            .find(|c| c.name != "text")
            .map(|c| c.name.to_string())
            .unwrap_or_default();
        let host = self.stream.host().unwrap_or_default();
        tracing::info!(ip = ?self.ip(), host, "SASL authentication failed ({condition})");
    }

    pub(super) fn on_event(&mut self, ev: StreamEvent, now: Instant) -> Option<Effect> {
        let actions = match ev {
            StreamEvent::Open(header) => self.stream.on_open(&header, &self.shared.policies),
            StreamEvent::Stanza(el) => match self.is_sm_element(&el) {
                Some(xmlns) => return self.on_sm_element(el, xmlns, now),
                None => self.stream.on_stanza(el, &self.shared.policies),
            },
            StreamEvent::Close => {
                self.sm_before_close();
                if self.timers.closing_since.is_none() {
                    self.framing.close_stream(self.out.buf());
                }
                self.framing.end(false, self.out.buf());
                self.finish(now, None);
                return None;
            }
        };
        self.push_actions(actions);
        None
    }

    /// Runs `more` before the actions still queued, in order.
    pub(super) fn push_actions(&mut self, more: Vec<Action>) {
        self.actions.extend(more.into_iter().rev());
    }

    pub(super) fn on_xml_error(&mut self, e: XmlError, now: Instant) {
        // The reason (for the unavailable presence) is the stream error's condition,
        // as Prosody words it; the parser's detail goes to the log.
        self.failed = true;
        tracing::debug!("XML error: {e}");
        let err = match e {
            XmlError::StanzaTooLarge => {
                metrics().limit_hit(LimitKind::StanzaSize);
                StreamError::new(StreamCondition::PolicyViolation)
                    .with_text("XML stanza is too big")
                    .with_child(Element::new("stanza-too-big", "urn:xmpp:errors"))
                    .element()
            }
            XmlError::TooManyAttributes => StreamError::new(StreamCondition::PolicyViolation)
                .with_text("Too many attributes")
                .element(),
            XmlError::InvalidNamespace => {
                StreamError::new(StreamCondition::InvalidNamespace).element()
            }
            _ => StreamError::new(StreamCondition::NotWellFormed).element(),
        };
        self.close_with(Some(err), now);
    }

    pub(super) fn on_failure(&mut self, f: Failure, now: Instant) {
        if let Some(kind) = f.limit {
            metrics().limit_hit(kind);
        }
        self.failed = true;
        self.reason = Some(Cow::Borrowed(f.reason));
        if let Some((code, reason)) = f.close {
            crate::modules::websocket::framing::encode_close(code, reason, self.out.buf());
            self.finish(now, None);
            return;
        }
        self.close_with(f.stream_error, now);
    }

    /// Server-initiated close: a header first where the framing needs one, the optional
    /// stream error, the stream's end; a clean close of a bound session then waits for
    /// the peer's end (unbound at once: nothing more is routed to it), anything else ends.
    pub(super) fn close_with(&mut self, error: Option<Element>, now: Instant) {
        if F::HEADER_BEFORE_ERROR && !self.header_sent {
            self.framing.open(None, None, "", true, self.out.buf());
            self.header_sent = true;
        }
        let had_error = error.is_some();
        self.sm_before_close();
        if let Some(e) = &error {
            if self.reason.is_none() {
                let condition = e.child_elements().next().map(|c| c.name.to_string());
                self.reason = condition.map(Cow::Owned);
            }
            self.framing.element(e, self.out.buf());
        }
        if self.timers.closing_since.is_none() {
            self.framing.close_stream(self.out.buf());
        }
        if !had_error && self.bound && self.timers.closing_since.is_none() {
            self.timers.closing_since = Some(now);
            self.unbind_due = true;
            self.after_output(now);
            return;
        }
        self.framing.end(false, self.out.buf());
        self.finish(now, None);
    }

    /// Writes what is queued (briefly), then closes; a bound session is unbound first.
    pub(super) fn finish(&mut self, now: Instant, reason: Option<&'static str>) {
        if let Some(r) = reason {
            self.reason = Some(Cow::Borrowed(r));
        }
        if self.bound && !self.unbind_due {
            self.unbind_due = true;
        }
        self.state = if self.out.is_empty() {
            State::Done
        } else {
            State::Flushing(now + self.settings.flush_deadline())
        };
        self.after_output(now);
    }

    pub(super) fn push_element(&mut self, el: &Element, now: Instant) {
        self.framing.element(el, self.out.buf());
        self.after_output(now);
    }

    /// Output was queued: start the send timer and enforce the send-buffer cap, counted
    /// as output is queued (Prosody's `max_send_buffer_size`: a peer that does not read
    /// is disconnected, not buffered for without end).
    pub(super) fn after_output(&mut self, now: Instant) {
        if self.out.is_empty() {
            return;
        }
        if self.timers.write.is_none() {
            self.timers.write = Some(now + self.settings.send_timeout);
        }
        let unsent = self.out.len();
        if unsent > self.settings.max_send_buffer && self.state != State::Done {
            tracing::info!(
                unsent,
                limit = self.settings.max_send_buffer,
                "Send buffer full (the client is not reading); closing the session"
            );
            self.reason = Some(Cow::Borrowed("send buffer exceeded"));
            self.failed = true;
            if self.bound {
                self.unbind_due = true;
            }
            // Nothing more can reach the peer: drop what is queued.
            self.out.discard();
            self.state = State::Done;
        }
    }
}
