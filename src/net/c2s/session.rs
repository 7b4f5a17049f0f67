//! One c2s session, sans-IO and generic over its [`Framing`]: fed socket bytes, the core's
//! outbound messages and `now`, it yields [`Effect`]s for its driver (route a stanza, load
//! credentials, bind, register, upgrade to TLS, unbind), the bytes to write and its next
//! deadline. Timers (`c2s_timeout`, keepalive and pong timeout, the close wait, the send
//! timeout, the read throttle), the send-buffer cap and the session's logs live here once
//! for every transport; only the framing differs.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod actions;
pub mod sm;

use super::effect::{Answer, Effect, State};
use super::framing::{Framing, Input};
use super::output::Output;
pub use super::settings::SessionSettings;
use crate::core::{Outbound, SessionId, Shared, StreamInfo};
use crate::modules::c2s::stream::{Action, C2sStream};
use crate::modules::limits::SessionLimits;
use crate::modules::openmetrics::{metrics, LimitKind};
use crate::modules::websocket::keepalive::{Keepalive, KeepaliveAction, KeepaliveConfig};
use crate::xml::{Element, Limits, StreamParser};
use crate::xmpp::error::{StreamCondition, StreamError};

/// Reads closer together than this count towards making a stream busy.
const BUSY_GAP: Duration = Duration::from_millis(100);
/// A busy stream quiet this long gives back its parser and frame buffers.
const IDLE_TRIM: Duration = Duration::from_secs(2);
/// Quick reads in a row after which a stream keeps its buffers between stanzas (about ten
/// allocations a stanza saved) until it is quiet for [`IDLE_TRIM`]. Logins and idle
/// sessions never reach it, so thousands of them hold no buffers.
const WARM_AFTER: u8 = 8;

/// Deadlines that are not always running, kept together (and boxed only while any runs
/// would cost more than it saves: they are a few words).
#[derive(Debug, Default, Clone, Copy)]
struct Timers {
    read_resume: Option<Instant>,
    write: Option<Instant>,
    closing_since: Option<Instant>,
    trim_at: Option<Instant>,
}

/// One c2s session over framing `F`.
pub struct C2sSession<F: Framing> {
    /// Decodes socket bytes; the driver feeds it while reading.
    pub(super) framing: F,
    /// Bytes to write; the driver writes from it while reading.
    pub(super) out: Output,
    shared: Arc<Shared>,
    settings: Arc<SessionSettings>,
    id: SessionId,
    /// Real TLS (STARTTLS done, direct TLS, or an HTTPS WebSocket).
    encrypted: bool,
    stream: C2sStream,
    parser: StreamParser,
    /// Actions still to run, the next one last.
    actions: Vec<Action>,
    /// The bind request waiting for [`Answer::Bound`].
    bind_iq: Option<Box<Element>>,
    timers: Timers,
    unauth_deadline: Instant,
    keepalive: Keepalive,
    limits: SessionLimits,
    state: State,
    /// Why the session ended, for logs and the unavailable presence.
    reason: Option<Cow<'static, str>>,
    /// The session ended in an error (`reason` says which), for monitoring.
    failed: bool,
    bytes_in: u64,
    bytes_out: u64,
    quick: u8,
    waiting: bool,
    bound: bool,
    unbind_due: bool,
    /// The client opened a stream at least once.
    opened: bool,
    /// Our header for the current stream was sent.
    header_sent: bool,
    /// Stream management, once the peer enabled it (boxed: most sessions never do).
    pub(super) sm: Option<Box<crate::modules::smacks::state::SmState>>,
}

impl<F: Framing> C2sSession<F> {
    /// A new session. `secure`: the stream counts as secure from the start; `encrypted`:
    /// it runs over real TLS.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        shared: Arc<Shared>,
        settings: Arc<SessionSettings>,
        framing: F,
        id: SessionId,
        ip: Option<IpAddr>,
        secure: bool,
        encrypted: bool,
        now: Instant,
    ) -> Self {
        let stream = C2sStream::new(secure).with_feature_hooks(
            shared.feature_hooks.clone(),
            crate::net::c2s_session::unix_now(),
        );
        let parser = StreamParser::new(Limits {
            max_stanza_bytes: settings.unauthed_stanza_size_limit,
            max_child_elements: settings.max_child_elements,
            max_header_bytes: settings.unauthed_stanza_size_limit,
            ..Limits::default()
        })
        .with_default_lang("en");
        let keepalive = Keepalive::new(
            KeepaliveConfig {
                read_timeout: settings.read_timeout,
                ping_interval: settings.ping_interval,
                pong_timeout: settings.pong_timeout,
            },
            now,
        );
        C2sSession {
            framing,
            out: Output::default(),
            limits: SessionLimits::new(&shared, F::KIND, ip),
            unauth_deadline: now + settings.c2s_timeout,
            shared,
            settings,
            id,
            encrypted,
            stream,
            parser,
            actions: Vec::new(),
            bind_iq: None,
            timers: Timers::default(),
            keepalive,
            state: State::Open,
            reason: None,
            failed: false,
            bytes_in: 0,
            bytes_out: 0,
            quick: 0,
            waiting: false,
            bound: false,
            unbind_due: false,
            opened: false,
            header_sent: false,
            sm: None,
        }
    }

    /// The c2s stream state (host, username, bound JID).
    pub fn stream(&self) -> &C2sStream {
        &self.stream
    }

    /// A plain TCP stream that may upgrade with STARTTLS for these hosts.
    pub fn allow_starttls(&mut self, hosts: Arc<std::collections::HashSet<String>>) {
        let stream = std::mem::replace(&mut self.stream, C2sStream::new(false));
        self.stream = stream.with_starttls(hosts);
    }

    /// The `tls-exporter` value of a connection that started encrypted.
    pub fn set_channel_binding(&mut self, exporter: Option<Vec<u8>>) {
        self.stream.set_channel_binding(exporter);
    }

    pub fn id(&self) -> SessionId {
        self.id
    }

    pub fn ip(&self) -> Option<IpAddr> {
        self.limits.ip()
    }

    pub fn is_encrypted(&self) -> bool {
        self.encrypted
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// Whether the core holds this session (the driver unbinds it at the end if so).
    pub fn is_bound(&self) -> bool {
        self.bound
    }

    /// Why the session ended or is ending.
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    /// Why the connection failed, for monitoring (`None`: it ended normally).
    pub fn failure(&self) -> Option<&str> {
        self.failed.then(|| self.reason()).flatten()
    }

    /// Bytes read and written so far, for `connection_monitoring`.
    pub fn byte_counts(&self) -> (u64, u64) {
        (self.bytes_in, self.bytes_out)
    }

    pub fn send_timeout(&self) -> Duration {
        self.settings.send_timeout
    }

    pub fn settings(&self) -> &SessionSettings {
        &self.settings
    }

    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    pub fn last_rtt(&self) -> Option<Duration> {
        self.keepalive.last_rtt()
    }

    /// The stream as `stream-features` handlers see it.
    pub fn stream_info(&self) -> StreamInfo {
        crate::net::c2s_session::stream_info(
            &self.stream,
            self.id,
            self.ip(),
            self.encrypted,
            F::NAME,
        )
    }

    /// Whether the driver should read the socket now.
    pub fn wants_read(&self) -> bool {
        self.state == State::Open && !self.waiting && self.timers.read_resume.is_none()
    }

    /// Whether the core's queued messages should be taken now.
    pub fn wants_outbound(&self) -> bool {
        self.state == State::Open && !self.waiting
    }

    /// `n` bytes were read (and fed to `framing`) at `now`.
    pub fn on_read(&mut self, n: usize, now: Instant) {
        self.keepalive.on_receive(now);
        let last = self.timers.trim_at.map(|t| t - IDLE_TRIM);
        self.quick = match last {
            Some(last) if now.saturating_duration_since(last) < BUSY_GAP => {
                self.quick.saturating_add(1)
            }
            _ => 0,
        };
        self.timers.trim_at = Some(now + IDLE_TRIM);
        self.bytes_in += n as u64;
        metrics().bytes_in(F::TRANSPORT, n);
        if let Some(pause) = self.limits.after_read_at(n, now) {
            metrics().limit_hit(LimitKind::Rate);
            self.timers.read_resume = Some(now + pause);
        }
    }

    /// Socket bytes in (what a driver without a zero-copy read does; tests use it).
    pub fn receive(&mut self, data: &[u8], now: Instant) {
        self.framing.feed(data);
        self.on_read(data.len(), now);
    }

    /// The peer closed the connection (or a read failed).
    pub fn on_eof(&mut self) {
        self.reason
            .get_or_insert(Cow::Borrowed("connection closed"));
        self.state = State::Done;
    }

    /// `n` bytes of [`Self::out`] were written at `now`.
    pub fn on_written(&mut self, n: usize, now: Instant) {
        metrics().bytes_out(F::TRANSPORT, n);
        self.bytes_out += n as u64;
        self.out.consume(n);
        self.timers.write = (!self.out.is_empty()).then(|| now + self.settings.send_timeout);
        if self.out.is_empty() {
            self.sm_drained(now);
        }
    }

    /// A write failed.
    pub fn on_write_error(&mut self) {
        self.reason.get_or_insert(Cow::Borrowed("write error"));
        self.failed = true;
        self.state = State::Done;
    }

    /// The next thing the driver must do, or `None` once the session waits for bytes, an
    /// answer or a deadline. `core_busy`: the core still has many of this session's
    /// stanzas queued, so no new input is decoded (back-pressure on the socket).
    pub fn poll_effect(&mut self, now: Instant, core_busy: bool) -> Option<Effect> {
        loop {
            if self.unbind_due {
                self.unbind_due = false;
                self.bound = false;
                metrics().session_unbound();
                return Some(Effect::Unbind(self.reason.as_deref().map(str::to_owned)));
            }
            if self.waiting || self.state != State::Open {
                return None;
            }
            if let Some(action) = self.actions.pop() {
                if let Some(effect) = self.run_action(action, now) {
                    return Some(effect);
                }
                continue;
            }
            match self.parser.next_event() {
                Ok(Some(ev)) => {
                    if let Some(effect) = self.on_event(ev, now) {
                        return Some(effect);
                    }
                    continue;
                }
                Ok(None) => {}
                Err(e) => {
                    self.on_xml_error(e, now);
                    continue;
                }
            }
            if core_busy {
                return None;
            }
            match self.framing.next_input()? {
                // Stanzas completed before an error are handled first: the parser
                // repeats the error after them.
                Input::Xml(bytes) => {
                    let _ = self.parser.feed(&bytes);
                }
                Input::Ping(p) => self.framing.pong(&p, self.out.buf()),
                Input::Pong(p) => {
                    if let Some(rtt) = self.keepalive.on_pong(&p, now) {
                        metrics().observe_ping_latency(rtt);
                    }
                }
                Input::PeerClosed => {
                    self.framing.end(true, self.out.buf());
                    self.finish(now, None);
                }
                Input::Failed(f) => self.on_failure(f, now),
            }
        }
    }

    /// The driver's answer to the last effect that asked for one (`_now`: answers start
    /// no timer today; the clock is passed like every other input).
    pub fn answer(&mut self, answer: Answer, _now: Instant) {
        self.waiting = false;
        let more = match answer {
            Answer::Scram(creds) => self.stream.on_scram_loaded(creds),
            Answer::Plain(ok) => self.stream.on_plain_checked(ok),
            Answer::Registered(reply) => vec![Action::Send(reply)],
            Answer::Features(features) => self.stream.on_features(features),
            Answer::Bound(result) => {
                if let Ok(full) = &result {
                    self.bound = true;
                    metrics().session_bound();
                    tracing::info!(jid = %full, "Session bound");
                }
                let Some(iq) = self.bind_iq.take() else {
                    return;
                };
                self.stream.on_bound(&iq, result)
            }
            Answer::Tls(Some(exporter)) => {
                self.encrypted = true;
                self.parser.reset();
                self.header_sent = false;
                self.stream.on_tls_established(exporter);
                Vec::new()
            }
            Answer::Resumed(req, result) => {
                self.on_resumed(*req, result, _now);
                Vec::new()
            }
            Answer::Tls(None) => {
                self.reason = Some(Cow::Borrowed("TLS handshake failed"));
                self.failed = true;
                self.state = State::Done;
                Vec::new()
            }
        };
        self.push_actions(more);
    }

    /// A message from the core.
    pub fn on_outbound(&mut self, msg: Outbound, now: Instant) {
        if self.state != State::Open {
            return;
        }
        match msg {
            Outbound::Stanza(el) => {
                metrics().stanza_out();
                self.sm_outgoing(&el);
                self.push_element(&el, now);
            }
            Outbound::Shared(el, to) => {
                metrics().stanza_out();
                if self.sm.is_some() {
                    // The queue of unacknowledged stanzas keeps trees to resend.
                    self.sm_outgoing(&Arc::new(el.addressed(&to)));
                }
                self.framing.shared(&el, &to, self.out.buf());
                self.after_output(now);
            }
            Outbound::Close(err) => self.close_with(err.map(|e| *e), now),
        }
    }

    /// The earliest instant [`Self::on_timer`] has something to do.
    pub fn deadline(&self) -> Instant {
        let t = &self.timers;
        let closing = t.closing_since.map(|s| s + self.settings.close_timeout);
        let unauth = (!self.stream.is_authenticated()).then_some(self.unauth_deadline);
        let flushing = match self.state {
            State::Flushing(until) => Some(until),
            _ => None,
        };
        let sm = self.sm_deadline();
        [
            t.read_resume,
            t.write,
            closing,
            unauth,
            flushing,
            t.trim_at,
            sm,
        ]
        .into_iter()
        .flatten()
        .fold(self.keepalive.deadline(), Instant::min)
    }

    /// Runs what is due at `now`; the deadlines that end the session first.
    pub fn on_timer(&mut self, now: Instant) {
        let due = |d: Option<Instant>| d.is_some_and(|d| d <= now);
        if due(self.timers.write) {
            self.reason = Some(Cow::Borrowed("write timeout"));
            self.failed = true;
            self.state = State::Done;
            return;
        }
        if let State::Flushing(until) = self.state {
            if until <= now {
                self.state = State::Done;
            }
            return;
        }
        if self.state != State::Open {
            return;
        }
        if due(self
            .timers
            .closing_since
            .map(|s| s + self.settings.close_timeout))
        {
            self.framing.end(false, self.out.buf());
            self.finish(now, None);
            return;
        }
        if !self.stream.is_authenticated() && self.unauth_deadline <= now {
            let err = StreamError::new(StreamCondition::ConnectionTimeout).element();
            self.reason = Some(Cow::Borrowed("unauthenticated session timed out"));
            self.close_with(Some(err), now);
            return;
        }
        if due(self.timers.read_resume) {
            self.timers.read_resume = None;
        }
        if due(self.sm_deadline()) {
            self.sm_on_timer(now);
        }
        if due(self.timers.trim_at) {
            self.timers.trim_at = None;
            self.quick = 0;
        }
        if self.keepalive.deadline() <= now {
            match self.keepalive.poll(now) {
                Some(KeepaliveAction::Ping(_))
                    if !self.opened && !self.framing.pings_answered() =>
                {
                    // mod_c2s keeps only opened streams alive.
                    self.reason = Some(Cow::Borrowed("read timeout"));
                    self.finish(now, None);
                }
                Some(KeepaliveAction::Ping(_)) if self.sm_read_timeout(now) => {
                    // mod_smacks answered the read timeout: no ping awaits a pong.
                    self.keepalive.withdraw_ping();
                }
                Some(KeepaliveAction::Ping(payload)) => {
                    self.framing.keepalive(&payload, self.out.buf());
                    self.after_output(now);
                }
                Some(KeepaliveAction::TimedOut) => {
                    tracing::info!("No pong within websocket_pong_timeout; closing the session");
                    metrics().limit_hit(LimitKind::PongTimeout);
                    self.failed = true;
                    self.reason = Some(Cow::Borrowed("ping timeout"));
                    let err = StreamError::new(StreamCondition::ConnectionTimeout)
                        .with_text("No pong received in time")
                        .element();
                    self.close_with(Some(err), now);
                }
                None => {}
            }
        }
    }

    /// A stream busy enough to keep its buffers (and the core queue's) between stanzas.
    pub fn is_busy(&self) -> bool {
        self.quick >= WARM_AFTER
    }

    /// Gives back buffers a quiet stream does not need (called after each turn).
    pub fn release_if_idle(&mut self) {
        if self.quick >= WARM_AFTER {
            return;
        }
        self.parser.release_idle();
        self.framing.release_idle();
        self.out.release_if_empty();
    }
}
