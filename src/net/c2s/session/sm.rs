//! The c2s session's side of stream management (mod_smacks): `<enable/>`, `<r/>`, `<a/>`
//! and `<resume/>` from the peer, counting what it handles and queueing what it is sent,
//! the final `<a/>` of a closing stream, and handing the session to hibernation or to a
//! resuming connection. The protocol state is [`SmState`]; this is the glue, written once
//! for every framing.

use std::sync::Arc;
use std::time::Instant;

use super::super::effect::{Effect, State};
use super::super::framing::Framing;
use super::C2sSession;
use crate::modules::openmetrics::metrics;
use crate::modules::smacks::queue::Queued;
use crate::modules::smacks::registry::{self, Handover, NotFound, Takeover};
use crate::modules::smacks::state::{self as sm, parse_h, AckOutcome, SmState};
use crate::modules::smacks::{self, events, Settings};
use crate::net::c2s_session::unix_now;
use crate::xml::Element;
use crate::xmpp::error::{StanzaCondition, StreamCondition, StreamError};
use crate::xmpp::ns;

/// A `<resume/>` waiting for the old session's task.
#[derive(Debug)]
pub struct ResumeRequest {
    pub bare: String,
    pub previd: String,
    pub h: Option<u64>,
    pub xmlns: &'static str,
}

impl<F: Framing> C2sSession<F> {
    /// Whether this top-level element is stream management's to handle.
    pub(super) fn is_sm_element(&self, el: &Element) -> Option<&'static str> {
        let xmlns = smacks::sm_namespace(&el.ns)?;
        let host = self.stream.host()?;
        (self.stream.is_authenticated() && smacks::enabled_on(&self.shared, host)).then_some(xmlns)
    }

    pub(super) fn on_sm_element(
        &mut self,
        el: Element,
        xmlns: &'static str,
        now: Instant,
    ) -> Option<Effect> {
        match el.name.as_str() {
            "enable" => self.sm_enable(&el, xmlns, now),
            "r" => match &mut self.sm {
                Some(sm) => {
                    let a = sm.ack_element();
                    self.push_element(&a, now);
                    self.sm_request(false, now);
                }
                None => tracing::debug!("Received ack request from non-smack-enabled session"),
            },
            "a" => {
                let Some(sm) = &mut self.sm else { return None };
                if let AckOutcome::Close(condition, text) = sm.on_ack(&el) {
                    tracing::warn!("{text}");
                    self.close_with(
                        Some(StreamError::new(condition).with_text(text).element()),
                        now,
                    );
                    return None;
                }
                self.sm_request(false, now);
            }
            "resume" => {
                if self.stream.is_bound() || self.bound {
                    tracing::warn!("Tried to resume after resource binding");
                    let f = sm::failed(xmlns, Some(StanzaCondition::UnexpectedRequest), None, None);
                    self.push_element(&f, now);
                    return None;
                }
                let bare = format!(
                    "{}@{}",
                    self.stream.username().unwrap_or_default(),
                    self.stream.host().unwrap_or_default()
                );
                let req = ResumeRequest {
                    bare,
                    previd: el.attr("previd").unwrap_or_default().to_owned(),
                    h: el.attr("h").and_then(parse_h),
                    xmlns,
                };
                return self.wait(Effect::Resume(Box::new(req)));
            }
            _ => {}
        }
        None
    }

    fn sm_enable(&mut self, el: &Element, xmlns: &'static str, now: Instant) {
        let refusal = if self.sm.is_some() {
            Some("Stream management is already enabled")
        } else if !self.bound || !self.stream.is_bound() {
            Some("Client must bind a resource before enabling stream management")
        } else {
            None
        };
        if let Some(why) = refusal {
            tracing::warn!("Failed to enable smacks: {why}");
            let f = sm::failed(xmlns, Some(StanzaCondition::UnexpectedRequest), None, None);
            self.push_element(&f, now);
            return;
        }
        let host = self.stream.host().unwrap_or_default().to_owned();
        let bare = format!("{}@{host}", self.stream.username().unwrap_or_default());
        let settings = Settings::for_host(&self.shared, &host);
        registry::prune_old(&self.shared, &bare, settings.max_old_sessions);
        let mut state = SmState::new(xmlns, settings);
        let resume = el.attr("resume");
        if matches!(resume, Some("true" | "1")) {
            let token = sm::new_token();
            state.takeover = Some(registry::register(&self.shared, &bare, &token));
            state.token = Some(token.into());
        }
        let max = settings.hibernation_time.as_secs();
        let enabled = sm::enabled(xmlns, state.token.as_deref(), resume, max);
        self.sm = Some(Box::new(state));
        self.push_element(&enabled, now);
    }

    /// `c2s-read-timeout` under stream management (mod_smacks): an `<r/>` goes out instead
    /// of the keepalive, or, when the last one is still unanswered, the connection is
    /// dropped (a resumable session hibernates). `false`: not enabled, keep alive as usual.
    pub(super) fn sm_read_timeout(&mut self, now: Instant) -> bool {
        let Some(sm) = &self.sm else { return false };
        if sm.is_awaiting_ack() {
            self.reason = Some(std::borrow::Cow::Borrowed("read timeout"));
            self.state = State::Done;
            return true;
        }
        self.sm_request(true, now);
        true
    }

    /// Sends `<r/>` when one is due.
    pub(super) fn sm_request(&mut self, force: bool, now: Instant) {
        if let Some(r) = self
            .sm
            .as_mut()
            .and_then(|s| s.request_if_needed(force, now))
        {
            self.push_element(&r, now);
        }
    }

    /// A stanza of the bound session is routed: count it; CSI state changes the ack
    /// threshold (and `<active/>` asks for an ack, as `csi-client-active` does).
    pub(super) fn sm_incoming(&mut self, el: &Element, now: Instant) {
        let Some(state) = &mut self.sm else { return };
        if el.ns == ns::CLIENT {
            state.on_incoming();
        } else if el.ns == ns::CSI {
            state.inactive = el.name == "inactive";
            if el.name == "active" {
                self.sm_request(true, now);
            }
        }
    }

    /// A stanza from the core is being sent: keep it until acknowledged.
    pub(super) fn sm_outgoing(&mut self, el: &Arc<Element>) {
        if let Some(state) = &mut self.sm {
            if el.ns == ns::CLIENT || el.ns.is_empty() {
                state.on_outgoing(el.clone(), unix_now());
            }
        }
    }

    /// The output drained (Prosody's `c2s-pre-ondrain`): ask for an ack if one is due.
    pub(super) fn sm_drained(&mut self, now: Instant) {
        if self.sm.is_some() && self.state == State::Open && self.timers.closing_since.is_none() {
            self.sm_request(false, now);
        }
    }

    /// Prosody's `pre-session-close`: the token is revoked and a final `<a/>` sent.
    pub(super) fn sm_before_close(&mut self) {
        let Some(state) = &mut self.sm else { return };
        if let Some(token) = state.token.take() {
            let bare = self
                .stream
                .full_jid()
                .and_then(|j| j.split('/').next())
                .unwrap_or_default();
            registry::revoke(&self.shared, bare, &token);
            state.takeover = None;
        }
        if !state.closing {
            state.closing = true;
            let a = state.ack_element();
            self.framing.element(&a, self.out.buf());
        }
    }

    /// The deadline of `smacks_max_ack_delay`.
    pub(crate) fn sm_deadline(&self) -> Option<Instant> {
        self.sm.as_ref().and_then(|s| s.deadline())
    }

    pub(super) fn sm_on_timer(&mut self, now: Instant) {
        let Some(state) = &mut self.sm else { return };
        if !state.ack_delayed(now) {
            return;
        }
        let snapshot: Vec<Queued> = state.queue.unacked().cloned().collect();
        let bare = self.bare_jid();
        let host = self.stream.host().unwrap_or_default().to_owned();
        events::fire(
            &self.shared,
            &host,
            "smacks-ack-delayed",
            self.id,
            move || smacks::destroy::queue_copies(&snapshot, &bare),
            None,
        );
    }

    fn bare_jid(&self) -> String {
        match self.stream.full_jid() {
            Some(j) => j.split('/').next().unwrap_or(j).to_owned(),
            None => self.stream.host().unwrap_or_default().to_owned(),
        }
    }

    /// The unacked stanzas of a session being unbound (for `delivery/failure`).
    pub fn take_unacked(&mut self) -> Vec<Queued> {
        self.sm
            .take()
            .map(|mut s| s.queue.drain())
            .unwrap_or_default()
    }

    /// Whether a resuming connection may ask for this session (the driver listens).
    pub fn is_resumable(&self) -> bool {
        self.sm.as_ref().is_some_and(|s| s.takeover.is_some())
    }

    /// A takeover request (None: the token's channel is gone); true when this connection
    /// must end and hand the session over.
    pub fn on_takeover(&mut self, req: Option<Takeover>) -> bool {
        let Some(sm) = &mut self.sm else { return false };
        match req {
            Some(req) => {
                sm.pending = Some(req);
                true
            }
            None => {
                sm.takeover = None;
                false
            }
        }
    }

    /// The request that ended this connection, if a resumption did.
    pub fn take_pending_takeover(&mut self) -> Option<Takeover> {
        self.sm.as_mut().and_then(|s| s.pending.take())
    }

    /// A resumable session that lost its connection: what hibernation keeps (the core
    /// still holds the session bound; the driver must not unbind it).
    pub fn take_hibernation(&mut self) -> Option<(Box<SmState>, Arc<str>)> {
        if !self.bound || self.unbind_due || self.sm.as_ref()?.token.is_none() {
            return None;
        }
        let full: Arc<str> = Arc::from(self.stream.full_jid()?);
        self.bound = false;
        metrics().session_unbound();
        tracing::info!(jid = %full, "Session hibernating");
        Some((self.sm.take()?, full))
    }

    /// A new connection resumes this live session: its connection ends here, the session
    /// goes on there.
    pub fn handover(&mut self) -> Option<Handover> {
        let (sm, full_jid) = self.take_hibernation()?;
        self.reason = Some("session resumed elsewhere".into());
        self.state = State::Done;
        Some(Handover {
            id: self.id,
            full_jid,
            sm,
            rx: None,
        })
    }

    /// The driver's answer to [`Effect::Resume`].
    pub(super) fn on_resumed(
        &mut self,
        req: ResumeRequest,
        result: Result<Handover, NotFound>,
        now: Instant,
    ) {
        let xmlns = req.xmlns;
        let h = match result {
            Err(NotFound::Expired(h)) => {
                tracing::debug!("Tried to resume old expired session with id {}", req.previd);
                let f = sm::failed(xmlns, Some(StanzaCondition::ItemNotFound), Some(h), None);
                return self.push_element(&f, now);
            }
            Err(NotFound::Unknown) => {
                tracing::debug!(
                    "Tried to resume non-existent session with id {}",
                    req.previd
                );
                let f = sm::failed(xmlns, Some(StanzaCondition::ItemNotFound), None, None);
                return self.push_element(&f, now);
            }
            Ok(h) => h,
        };
        let Handover {
            id,
            full_jid,
            mut sm,
            ..
        } = h;
        self.id = id;
        self.stream.on_resumed(full_jid.clone());
        self.bound = true;
        metrics().session_bound();
        tracing::info!(jid = %full_jid, "Session resumed");
        let bare = full_jid.split('/').next().unwrap_or(&full_jid).to_owned();
        let acked = match req.h {
            Some(h) => sm.queue.ack(h).map_err(|e| {
                StreamError::new(StreamCondition::UndefinedCondition).with_text(e.to_string())
            }),
            None => Err(StreamError::new(StreamCondition::UndefinedCondition)
                .with_text("Missing or invalid 'h' attribute")),
        };
        let acked = acked.and_then(|_| {
            if sm.queue.resumable() {
                Ok(())
            } else {
                Err(StreamError::new(StreamCondition::ResourceConstraint)
                    .with_text("Too many unacked stanzas remaining, session can't be resumed"))
            }
        });
        let handled = sm.handled;
        self.sm = Some(sm);
        if let Err(error) = acked {
            let f = sm::failed(xmlns, None, Some(handled), Some(&req.previd));
            self.push_element(&f, now);
            self.close_with(Some(error.element()), now);
            return;
        }
        self.push_element(&sm::resumed(xmlns, handled, &req.previd), now);
        // The core's copy of the session now describes this connection.
        let (ip, secure) = (self.ip(), self.stream.is_secure());
        crate::lua::events::notify(&self.shared, move |core| {
            if let Some(session) = core.sessions.get_mut(&id) {
                session.ip = ip;
                session.secure = secure;
                session.transport = F::NAME;
            }
        });
        let copies: Vec<Element> = self
            .sm
            .as_ref()
            .map(|s| s.queue.unacked().map(|q| q.with_delay(&bare)).collect())
            .unwrap_or_default();
        for el in &copies {
            self.push_element(el, now);
        }
        let host = self.stream.host().unwrap_or_default().to_owned();
        events::fire(
            &self.shared,
            &host,
            "smacks-hibernation-end",
            self.id,
            move || copies,
            None,
        );
        if let Some(s) = &mut self.sm {
            s.forget_request();
        }
        self.sm_request(true, now);
    }
}
