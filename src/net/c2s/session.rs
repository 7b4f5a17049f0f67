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

use super::framing::{Failure, Framing, Input};
use super::output::Output;
use crate::core::{Outbound, SessionId, Shared, StreamInfo};
use crate::modules::c2s::stream::{Action, C2sStream};
use crate::modules::limits::SessionLimits;
use crate::modules::openmetrics::{metrics, LimitKind};
use crate::modules::websocket::keepalive::{Keepalive, KeepaliveAction, KeepaliveConfig};
use crate::net::c2s_session::BindRefusal;
use crate::xml::{Element, Limits, StreamEvent, StreamParser, XmlError};
use crate::xmpp::error::stream_error;
use crate::xmpp::ns;
use crate::xmpp::sasl::ScramCredentials;

/// Timing and bounds of the sessions of one listener, shared by all of them.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// `network_settings.read_timeout`: silence before a keepalive.
    pub read_timeout: Duration,
    /// `network_settings.send_timeout`: longest a write may make no progress.
    pub send_timeout: Duration,
    /// `c2s_close_timeout`: how long a clean close waits for the peer's closing tag.
    pub close_timeout: Duration,
    /// `c2s_timeout`: how long a stream may stay unauthenticated.
    pub c2s_timeout: Duration,
    /// `websocket_ping_interval` (WebSocket only).
    pub ping_interval: Option<Duration>,
    /// `websocket_pong_timeout` (WebSocket only).
    pub pong_timeout: Option<Duration>,
    /// `network_settings.max_send_buffer_size`: unsent output beyond this ends the session.
    pub max_send_buffer: usize,
    pub stanza_size_limit: usize,
    pub unauthed_stanza_size_limit: usize,
    pub max_child_elements: usize,
    /// `connection_monitoring`, where the transport reports it (WebSocket).
    pub monitoring: Option<crate::modules::websocket::options::Monitoring>,
    /// WebSocket framing: `websocket_max_frame_size` and the frame buffer limit.
    pub max_frame_size: Option<usize>,
    pub frame_buffer_limit: usize,
}

impl SessionSettings {
    /// The c2s settings of `shared` with `max_send_buffer`; no ping interval or pong
    /// timeout.
    pub fn from_shared(shared: &Shared, max_send_buffer: usize) -> Self {
        let c2s = &shared.c2s;
        let secs = |s: f64| Duration::from_secs_f64(s.max(0.001));
        SessionSettings {
            read_timeout: secs(c2s.read_timeout),
            send_timeout: secs(c2s.send_timeout),
            close_timeout: Duration::from_secs_f64(c2s.close_timeout.max(0.0)),
            c2s_timeout: secs(c2s.c2s_timeout),
            ping_interval: None,
            pong_timeout: None,
            max_send_buffer,
            stanza_size_limit: c2s.stanza_size_limit,
            unauthed_stanza_size_limit: c2s.unauthed_stanza_size_limit,
            max_child_elements: c2s.max_child_elements,
            monitoring: None,
            max_frame_size: None,
            frame_buffer_limit: c2s.frame_buffer_limit,
        }
    }

    /// The settings of WebSocket sessions: the c2s ones refined by the guide's
    /// `websocket_*` options (read once per server, not per session).
    pub fn websocket(shared: &Shared, max_send_buffer: usize) -> Self {
        let edge = crate::modules::websocket::options::EdgeOptions::from_config(&shared.config);
        let mut s = SessionSettings::from_shared(shared, max_send_buffer);
        s.ping_interval = edge.ping_interval;
        s.pong_timeout = edge.pong_timeout;
        if let Some(t) = edge.close_timeout {
            s.close_timeout = t;
        }
        s.max_frame_size = edge.max_frame_size;
        if let Some(limit) = edge.frame_buffer_limit {
            s.frame_buffer_limit = limit;
        }
        s.monitoring = Some(edge.monitoring);
        s
    }

    /// The last flush of a closing session waits at most this long: the peer was told
    /// the stream is over, so nothing it still owes us is worth a long wait.
    fn flush_deadline(&self) -> Duration {
        self.close_timeout
            .max(Duration::from_millis(100))
            .min(self.send_timeout)
    }
}

/// What the driver must do for the session. Effects marked "answer" wait for
/// [`C2sSession::answer`] before the session goes on.
#[derive(Debug)]
pub enum Effect {
    /// A stanza of the bound session, for the core.
    Route(Element),
    /// Answer: [`Answer::Scram`].
    LoadScram { username: String },
    /// Answer: [`Answer::Plain`].
    VerifyPlain { username: String, password: String },
    /// Answer: [`Answer::Registered`] with the reply to `iq`.
    Register {
        username: String,
        password: String,
        iq: Element,
    },
    /// Answer: [`Answer::Bound`].
    Bind { resource: String },
    /// Answer: [`Answer::Features`].
    CollectFeatures(StreamInfo, Element),
    /// Write what is queued, run the TLS handshake; answer [`Answer::Tls`].
    StartTls,
    /// The core must forget the session now (`error`: the unavailable presence's reason);
    /// the connection may still be flushing.
    Unbind(Option<String>),
}

/// The driver's answer to an effect.
#[derive(Debug)]
pub enum Answer {
    Scram(Option<ScramCredentials>),
    Plain(bool),
    Registered(Element),
    Bound(Result<Arc<str>, BindRefusal>),
    Features(Element),
    /// The TLS handshake finished (`Some`: with this `tls-exporter` value, `None` inside:
    /// none offered) or failed (`None`).
    Tls(Option<Option<Vec<u8>>>),
}

/// Where the session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Open,
    /// Write what is queued until this instant, then close the socket.
    Flushing(Instant),
    /// Close the socket now.
    Done,
}

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
                    self.on_event(ev, now);
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

    /// The driver's answer to the last effect that asked for one.
    pub fn answer(&mut self, answer: Answer, now: Instant) {
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
            Answer::Tls(None) => {
                self.reason = Some(Cow::Borrowed("TLS handshake failed"));
                self.failed = true;
                self.state = State::Done;
                Vec::new()
            }
        };
        self.push_actions(more);
        let _ = now;
    }

    /// A message from the core.
    pub fn on_outbound(&mut self, msg: Outbound, now: Instant) {
        if self.state != State::Open {
            return;
        }
        match msg {
            Outbound::Stanza(el) => {
                metrics().stanza_out();
                self.push_element(&el, now);
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
        [t.read_resume, t.write, closing, unauth, flushing, t.trim_at]
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
            let err = stream_error("connection-timeout", None, None);
            self.reason = Some(Cow::Borrowed("unauthenticated session timed out"));
            self.close_with(Some(err), now);
            return;
        }
        if due(self.timers.read_resume) {
            self.timers.read_resume = None;
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
                Some(KeepaliveAction::Ping(payload)) => {
                    self.framing.keepalive(&payload, self.out.buf());
                    self.after_output(now);
                }
                Some(KeepaliveAction::TimedOut) => {
                    tracing::info!("No pong within websocket_pong_timeout; closing the session");
                    metrics().limit_hit(LimitKind::PongTimeout);
                    self.failed = true;
                    self.reason = Some(Cow::Borrowed("ping timeout"));
                    let err =
                        stream_error("connection-timeout", Some("No pong received in time"), None);
                    self.close_with(Some(err), now);
                }
                None => {}
            }
        }
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

    fn run_action(&mut self, action: Action, now: Instant) -> Option<Effect> {
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
                Some(Effect::Route(el))
            }
            Action::Authenticated { username } => {
                let host = self.stream.host().unwrap_or_default().to_owned();
                tracing::info!(ip = ?self.ip(), "Authenticated as {username}@{host}");
                self.limits.on_authenticated(&self.shared, &host, &username);
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

    fn wait(&mut self, effect: Effect) -> Option<Effect> {
        self.waiting = true;
        Some(effect)
    }

    fn refuse_login(&mut self, username: &str) -> Option<Element> {
        let host = self.stream.host().unwrap_or_default().to_owned();
        self.limits.refuse_login(&self.shared, &host, username)
    }

    fn log_auth_failure(&self, failure: &Element) {
        let condition = failure
            .child_elements()
            .find(|c| c.name != "text")
            .map(|c| c.name.to_string())
            .unwrap_or_default();
        let host = self.stream.host().unwrap_or_default();
        tracing::info!(ip = ?self.ip(), host, "SASL authentication failed ({condition})");
    }

    fn on_event(&mut self, ev: StreamEvent, now: Instant) {
        let actions = match ev {
            StreamEvent::Open(header) => self.stream.on_open(&header, &self.shared.policies),
            StreamEvent::Stanza(el) => self.stream.on_stanza(el, &self.shared.policies),
            StreamEvent::Close => {
                if self.timers.closing_since.is_none() {
                    self.framing.close_stream(self.out.buf());
                }
                self.framing.end(false, self.out.buf());
                self.finish(now, None);
                return;
            }
        };
        self.push_actions(actions);
    }

    /// Runs `more` before the actions still queued, in order.
    fn push_actions(&mut self, more: Vec<Action>) {
        self.actions.extend(more.into_iter().rev());
    }

    fn on_xml_error(&mut self, e: XmlError, now: Instant) {
        self.failed = true;
        self.reason = Some(Cow::Owned(format!("XML error: {e}")));
        let err = match e {
            XmlError::StanzaTooLarge => {
                metrics().limit_hit(LimitKind::StanzaSize);
                stream_error(
                    "policy-violation",
                    Some("XML stanza is too big"),
                    Some(Element::new("stanza-too-big", "urn:xmpp:errors")),
                )
            }
            XmlError::TooManyAttributes => {
                stream_error("policy-violation", Some("Too many attributes"), None)
            }
            XmlError::InvalidNamespace => stream_error("invalid-namespace", None, None),
            _ => stream_error("not-well-formed", None, None),
        };
        self.close_with(Some(err), now);
    }

    fn on_failure(&mut self, f: Failure, now: Instant) {
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
    fn close_with(&mut self, error: Option<Element>, now: Instant) {
        if F::HEADER_BEFORE_ERROR && !self.header_sent {
            self.framing.open(None, None, "", true, self.out.buf());
            self.header_sent = true;
        }
        let had_error = error.is_some();
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
    fn finish(&mut self, now: Instant, reason: Option<&'static str>) {
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

    fn push_element(&mut self, el: &Element, now: Instant) {
        self.framing.element(el, self.out.buf());
        self.after_output(now);
    }

    /// Output was queued: start the send timer and enforce the send-buffer cap, counted
    /// as output is queued (Prosody's `max_send_buffer_size`: a peer that does not read
    /// is disconnected, not buffered for without end).
    fn after_output(&mut self, now: Instant) {
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
