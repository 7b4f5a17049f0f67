//! The connection task of one XMPP-over-WebSocket session: RFC 6455 frames in and out,
//! RFC 7395 framing conversion, the XML stream parser and the c2s state machine, with
//! the keepalive, unauthenticated and close timers (reference §5.4–5.7).

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::core::{BindRequest, CoreMsg, Outbound, Shared};
use crate::modules::c2s::stream::{Action, C2sStream};
use crate::modules::limits::{ReadGate, SessionKind};
use crate::modules::websocket::conversion::{frame_to_stream, open_frame, CLOSE_FRAME};
use crate::modules::websocket::framing::{
    encode_close, encode_ping, encode_pong, encode_text, Frame, FrameDecoder, FrameError,
};
use crate::net::http::{AsyncReadWrite, WsIo};
use crate::xml::{Element, Limits, StreamEvent, StreamParser, XmlError};
use crate::xmpp::error::stream_error;
use crate::xmpp::ns;

/// What the HTTP layer knows about the upgraded request.
#[derive(Debug, Clone)]
pub struct WsInfo {
    pub ip: Option<std::net::IpAddr>,
    pub secure: bool,
    /// `network_settings.max_send_buffer_size`: output the peer has not taken yet beyond
    /// this drops the session.
    pub max_send_buffer: usize,
}

/// Serialises an outgoing element the way Prosody frames it: stanzas carry
/// `xmlns='jabber:client'`, stream-level elements the `stream:` prefix.
pub fn element_frame(el: &Element) -> String {
    let mut s = String::with_capacity(128);
    if el.ns == ns::STREAMS {
        s.push_str("<stream:");
        s.push_str(&el.name);
        s.push_str(" xmlns='jabber:client' xmlns:stream='");
        s.push_str(ns::STREAMS);
        s.push('\'');
        for (k, v) in &el.attrs {
            s.push(' ');
            s.push_str(k);
            s.push_str("='");
            crate::xml::escape(v, &mut s);
            s.push('\'');
        }
        if el.children.is_empty() {
            s.push_str("/>");
            return s;
        }
        s.push('>');
        for child in &el.children {
            match child {
                crate::xml::Node::Element(c) => c.write_xml(&mut s, ns::STREAMS),
                crate::xml::Node::Text(t) => crate::xml::escape(t, &mut s),
            }
        }
        s.push_str("</stream:");
        s.push_str(&el.name);
        s.push('>');
        return s;
    }
    el.write_xml(&mut s, "");
    s
}

enum Flow {
    Continue,
    /// Close frame already queued; drop the connection after flushing.
    Drop,
}

struct Conn {
    shared: Arc<Shared>,
    id: u64,
    info: WsInfo,
    stream: C2sStream,
    parser: StreamParser,
    out: Vec<u8>,
    tx: mpsc::UnboundedSender<Outbound>,
    bound: bool,
    /// Set when we sent `<close/>` and wait for the client's.
    closing_since: Option<Instant>,
    /// mod_limits: how long to stop reading after each read.
    gate: ReadGate,
    /// The account a SASL exchange in progress is for (failed-login throttling).
    auth_account: Option<String>,
}

/// The reading half of a session's socket.
enum Reader {
    /// Plain TCP: waits for readiness first, so an idle session holds no read buffer.
    Tcp(tokio::net::tcp::OwnedReadHalf),
    Boxed(tokio::io::ReadHalf<Box<dyn AsyncReadWrite>>),
}

impl Reader {
    async fn read(&mut self, buf: &mut Vec<u8>) -> std::io::Result<usize> {
        match self {
            Reader::Tcp(r) => loop {
                r.readable().await?;
                buf.reserve(4096);
                match r.try_read_buf(buf) {
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    Err(e) => return Err(e),
                }
            },
            Reader::Boxed(r) => {
                buf.reserve(4096);
                r.read_buf(buf).await
            }
        }
    }
}

/// Runs one WebSocket XMPP session to its end.
pub async fn serve(io: WsIo, info: WsInfo, shared: Arc<Shared>) {
    let (mut rd, mut wr, prefix): (Reader, Box<dyn AsyncWrite + Unpin + Send>, bytes::Bytes) =
        match io {
            WsIo::Tcp { stream, prefix } => {
                let (r, w) = stream.into_split();
                (Reader::Tcp(r), Box::new(w), prefix)
            }
            WsIo::Other(io) => {
                let (r, w) = tokio::io::split(io);
                (Reader::Boxed(r), Box::new(w), bytes::Bytes::new())
            }
        };
    let c2s = shared.c2s.clone();
    let secure = info.secure || c2s.consider_websocket_secure;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut conn = Conn {
        id: shared.new_session_id(),
        stream: C2sStream::new(secure),
        parser: StreamParser::new(Limits {
            max_stanza_bytes: c2s.unauthed_stanza_size_limit,
            max_child_elements: c2s.max_child_elements,
            ..Limits::default()
        }),
        out: Vec::new(),
        tx,
        bound: false,
        closing_since: None,
        gate: {
            let rate = shared
                .limits
                .as_ref()
                .and_then(|l| l.for_session_type(SessionKind::WebSocket));
            let resolution = shared
                .limits
                .as_ref()
                .map(|l| l.resolution())
                .unwrap_or(Duration::from_secs(1));
            ReadGate::new(rate, resolution, std::time::Instant::now())
                .with_counters(shared.limit_counters.clone())
        },
        auth_account: None,
        info,
        shared,
    };
    // While throttled the socket is simply not read: back-pressure, no buffering.
    let mut read_resume: Option<Instant> = None;
    let mut decoder = FrameDecoder::new(c2s.stanza_size_limit, c2s.frame_buffer_limit);
    let read_timeout = Duration::from_secs_f64(c2s.read_timeout.max(0.001));
    let unauth_deadline = Instant::now() + Duration::from_secs_f64(c2s.c2s_timeout.max(0.001));
    let close_timeout = Duration::from_secs_f64(c2s.close_timeout.max(0.0));
    let send_timeout = Duration::from_secs_f64(c2s.send_timeout.max(0.001));
    let mut idle_deadline = Instant::now() + read_timeout;
    let mut buf = Vec::new();
    let mut disconnect_reason: Option<String> = None;
    // Frames that arrived together with the upgrade request.
    let mut early = if prefix.is_empty() {
        None
    } else {
        decoder.feed(&prefix);
        Some(conn.on_frames(&mut decoder).await)
    };

    // Output waits here while the peer is slow; it is written as the socket accepts it, so
    // the core's queue keeps draining. Over `max_send_buffer_size` the session is dropped,
    // and a write that makes no progress for `send_timeout` ends it ("write timeout").
    let send_budget = conn.info.max_send_buffer;
    let mut pending: Vec<u8> = Vec::new();
    let mut written = 0usize;
    let mut write_deadline: Option<Instant> = None;
    loop {
        let closing_deadline = conn.closing_since.map(|t| t + close_timeout);
        let flow = if let Some(f) = early.take() {
            f
        } else {
            tokio::select! {
                _ = tokio::time::sleep_until(read_resume.unwrap_or(unauth_deadline)), if read_resume.is_some() => {
                    read_resume = None;
                    Flow::Continue
                }
                r = rd.read(&mut buf), if read_resume.is_none() => {
                    match r {
                        Ok(0) | Err(_) => {
                            disconnect_reason = Some("connection closed".into());
                            break;
                        }
                        Ok(n) => {
                            idle_deadline = Instant::now() + read_timeout;
                            if let Some(pause) = conn.gate.after_read(n, std::time::Instant::now()) {
                                read_resume = Some(Instant::now() + pause);
                            }
                            decoder.feed(&buf);
                            // Idle sessions keep no read buffer.
                            buf = Vec::new();
                            conn.on_frames(&mut decoder).await
                        }
                    }
                }
                w = wr.write(&pending[written..]), if written < pending.len() => {
                    match w {
                        Ok(0) | Err(_) => {
                            disconnect_reason = Some("write error".into());
                            break;
                        }
                        Ok(n) => {
                            written += n;
                            write_deadline = Some(Instant::now() + send_timeout);
                            Flow::Continue
                        }
                    }
                }
                _ = tokio::time::sleep_until(write_deadline.unwrap_or(unauth_deadline)), if write_deadline.is_some() => {
                    disconnect_reason = Some("write timeout".into());
                    break;
                }
                Some(msg) = rx.recv() => conn.on_outbound(msg),
                _ = tokio::time::sleep_until(idle_deadline) => {
                    // Silence for read_timeout: probe with an empty ping (Prosody's
                    // c2s-read-timeout handling for WebSocket).
                    encode_ping(&[], &mut conn.out);
                    idle_deadline = Instant::now() + read_timeout;
                    Flow::Continue
                }
                _ = tokio::time::sleep_until(unauth_deadline), if !conn.stream.is_authenticated() => {
                    conn.close_with(Some(stream_error("connection-timeout", None, None)))
                }
                _ = tokio::time::sleep_until(closing_deadline.unwrap_or(unauth_deadline)), if closing_deadline.is_some() => {
                    encode_close(1000, "Stream closed", &mut conn.out);
                    Flow::Drop
                }
            }
        };
        if written == pending.len() {
            pending.clear();
            written = 0;
            write_deadline = None;
            if pending.capacity() > 64 * 1024 {
                pending = Vec::new();
            }
        }
        if !conn.out.is_empty() {
            if write_deadline.is_none() {
                write_deadline = Some(Instant::now() + send_timeout);
            }
            pending.extend_from_slice(&conn.out);
            conn.out.clear();
            if conn.out.capacity() > 64 * 1024 {
                conn.out = Vec::new();
            }
        }
        if pending.len() - written > send_budget {
            // The peer does not read: nothing more can reach it, so no stream error.
            tracing::debug!(session = conn.id, "send buffer exceeded, closing");
            disconnect_reason = Some("send buffer exceeded".into());
            break;
        }
        if let Flow::Drop = flow {
            let res = tokio::time::timeout(send_timeout, wr.write_all(&pending[written..])).await;
            if matches!(res, Ok(Ok(()))) {
                let _ = wr.shutdown().await;
            }
            break;
        }
    }
    if conn.bound {
        let _ = conn.shared.core_tx.send(CoreMsg::Unbind {
            session: conn.id,
            error: disconnect_reason,
        });
    }
}

impl Conn {
    fn send_text(&mut self, text: &str) {
        encode_text(text, &mut self.out);
    }

    fn send_element(&mut self, el: &Element) {
        let text = element_frame(el);
        self.send_text(&text);
    }

    /// Server-initiated close: optional stream error, `<close/>`, then either wait for
    /// the client's `<close/>` (clean close of a bound session) or end now.
    fn close_with(&mut self, error: Option<Element>) -> Flow {
        let had_error = error.is_some();
        if let Some(e) = error {
            self.send_element(&e);
        }
        self.send_text(CLOSE_FRAME);
        if !had_error && self.bound && self.closing_since.is_none() {
            self.closing_since = Some(Instant::now());
            return Flow::Continue;
        }
        encode_close(1000, "Stream closed", &mut self.out);
        Flow::Drop
    }

    fn on_outbound(&mut self, msg: Outbound) -> Flow {
        match msg {
            Outbound::Stanza(el) => {
                self.send_element(&el);
                Flow::Continue
            }
            Outbound::Close(err) => {
                // The core already forgot a session it closes for a conflict; an unbind
                // for it again is harmless.
                self.close_with(err)
            }
        }
    }

    async fn on_frames(&mut self, decoder: &mut FrameDecoder) -> Flow {
        loop {
            match decoder.next_frame() {
                Ok(None) => return Flow::Continue,
                Ok(Some(Frame::Text(payload))) => {
                    let data = frame_to_stream(&payload);
                    // Stanzas completed before an error in the same frame are handled
                    // first; the parser repeats the error after them (drain_parser).
                    let fed = self.parser.feed(data.as_bytes());
                    if let Flow::Drop = self.drain_parser().await {
                        return Flow::Drop;
                    }
                    if let Err(e) = fed {
                        return self.on_xml_error(e);
                    }
                }
                Ok(Some(Frame::Ping(p))) => encode_pong(&p, &mut self.out),
                Ok(Some(Frame::Pong(_))) | Ok(Some(Frame::ContinuationIgnored)) => {}
                Ok(Some(Frame::Close(_, _))) => {
                    encode_close(1000, "Goodbye", &mut self.out);
                    return Flow::Drop;
                }
                Err(FrameError::Close { code, reason }) => {
                    encode_close(code, reason, &mut self.out);
                    return Flow::Drop;
                }
                Err(FrameError::StanzaTooLarge) => {
                    return self.close_with(Some(stream_error(
                        "policy-violation",
                        Some("stanza too large"),
                        None,
                    )));
                }
                Err(FrameError::BufferExceeded) => {
                    return self.close_with(Some(stream_error(
                        "resource-constraint",
                        Some("frame buffer exceeded"),
                        None,
                    )));
                }
            }
        }
    }

    fn on_xml_error(&mut self, e: XmlError) -> Flow {
        let err = match e {
            XmlError::StanzaTooLarge => stream_error(
                "policy-violation",
                Some("XML stanza is too big"),
                Some(Element::new("stanza-too-big", "urn:xmpp:errors")),
            ),
            XmlError::InvalidNamespace => stream_error("invalid-namespace", None, None),
            _ => stream_error("not-well-formed", None, None),
        };
        self.close_with(Some(err))
    }

    async fn drain_parser(&mut self) -> Flow {
        loop {
            let ev = match self.parser.next_event() {
                Ok(Some(ev)) => ev,
                Ok(None) => return Flow::Continue,
                Err(e) => return self.on_xml_error(e),
            };
            let actions = match ev {
                StreamEvent::Open(header) => {
                    let policies = &self.shared.policies;
                    self.stream.on_open(&header, policies)
                }
                StreamEvent::Stanza(el) => {
                    let policies = &self.shared.policies;
                    self.stream.on_stanza(el, policies)
                }
                StreamEvent::Close => {
                    if self.closing_since.is_some() {
                        encode_close(1000, "Stream closed", &mut self.out);
                        return Flow::Drop;
                    }
                    self.send_text(CLOSE_FRAME);
                    encode_close(1000, "Stream closed", &mut self.out);
                    return Flow::Drop;
                }
            };
            if let Flow::Drop = self.run_actions(actions).await {
                return Flow::Drop;
            }
        }
    }

    async fn run_actions(&mut self, mut actions: Vec<Action>) -> Flow {
        let mut i = 0;
        while i < actions.len() {
            let action = std::mem::replace(&mut actions[i], Action::Close(None));
            i += 1;
            let more = match action {
                Action::OpenStream { from, to, id, .. } => {
                    let frame = open_frame(from.as_deref().unwrap_or(""), to.as_deref(), &id, "en");
                    self.send_text(&frame);
                    continue;
                }
                Action::Send(el) => {
                    if el.ns == ns::SASL && el.name == "failure" {
                        self.auth_failed(&el);
                    }
                    self.send_element(&el);
                    continue;
                }
                Action::Close(err) => return self.close_with(err),
                Action::Forward(el) => {
                    let _ = self.shared.core_tx.send(CoreMsg::Stanza {
                        session: self.id,
                        stanza: el,
                    });
                    continue;
                }
                Action::Authenticated { username } => {
                    self.auth_succeeded(&username);
                    self.parser.reset();
                    self.parser
                        .set_max_stanza_bytes(self.shared.c2s.stanza_size_limit);
                    continue;
                }
                Action::LoadScram { username } => {
                    if let Some(flow) = self.auth_refused(&username) {
                        return flow;
                    }
                    let creds = self.load_scram(username).await;
                    self.stream.on_scram_loaded(creds)
                }
                Action::VerifyPlain { username, password } => {
                    if let Some(flow) = self.auth_refused(&username) {
                        return flow;
                    }
                    let ok = self.verify_plain(username, password).await;
                    self.stream.on_plain_checked(ok)
                }
                Action::Bind { resource, iq } => {
                    let result = self.bind(resource).await;
                    if result.is_ok() {
                        self.bound = true;
                    }
                    self.stream.on_bound(&iq, result)
                }
            };
            actions.splice(i..i, more);
        }
        Flow::Continue
    }

    fn account_jid(&self, username: &str) -> String {
        format!("{username}@{}", self.stream.host().unwrap_or_default())
    }

    /// Failed-login throttling: refuses with `policy-violation` when this IP or account
    /// has used up its attempts.
    fn auth_refused(&mut self, username: &str) -> Option<Flow> {
        let ip = self.info.ip?;
        let account = self.account_jid(username);
        self.auth_account = Some(account.clone());
        let check = self
            .shared
            .auth_throttle
            .lock()
            .map(|t| t.check(ip, Some(&account), std::time::Instant::now()))
            .ok();
        match check {
            Some(Err(refusal)) => {
                tracing::warn!(%ip, account, "login refused: {}", refusal.text());
                self.shared.limit_counters.record_auth_refusal();
                Some(self.close_with(Some(stream_error(
                    refusal.condition(),
                    Some(&refusal.text()),
                    None,
                ))))
            }
            _ => None,
        }
    }

    fn auth_failed(&mut self, failure: &Element) {
        let (Some(ip), Some(account)) = (self.info.ip, self.auth_account.take()) else {
            return;
        };
        if failure.get_child("not-authorized", ns::SASL).is_none() {
            return;
        }
        if let Ok(mut t) = self.shared.auth_throttle.lock() {
            t.record_failure(ip, Some(&account), std::time::Instant::now());
        }
    }

    fn auth_succeeded(&mut self, username: &str) {
        let account = self.account_jid(username);
        self.auth_account = None;
        if let (Some(ip), Ok(mut t)) = (self.info.ip, self.shared.auth_throttle.lock()) {
            t.record_success(ip, &account, std::time::Instant::now());
        }
        let host = self.stream.host().unwrap_or_default().to_owned();
        if self.shared.is_unlimited(&host, &account) {
            self.gate.lift();
        }
    }

    async fn load_scram(&self, username: String) -> Option<crate::xmpp::sasl::ScramCredentials> {
        let host = self.stream.host()?.to_owned();
        let hash = self.shared.policies.get(&host)?.password_hash;
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || {
            shared
                .accounts
                .scram_credentials(&host, &username, hash)
                .ok()
                .flatten()
        })
        .await
        .ok()
        .flatten()
    }

    async fn verify_plain(&self, username: String, password: String) -> bool {
        let Some(host) = self.stream.host().map(str::to_owned) else {
            return false;
        };
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || {
            shared
                .accounts
                .test_password(&host, &username, &password)
                .unwrap_or(false)
        })
        .await
        .unwrap_or(false)
    }

    async fn bind(&self, resource: String) -> Result<String, (String, String, Option<String>)> {
        let (reply_tx, reply_rx) = oneshot::channel();
        let req = BindRequest {
            session: self.id,
            username: self.stream.username().unwrap_or_default().to_owned(),
            host: self.stream.host().unwrap_or_default().to_owned(),
            resource,
            ip: self.info.ip,
            secure: self.info.secure,
            transport: "websocket",
            tx: self.tx.clone(),
            reply: reply_tx,
        };
        let internal = || {
            (
                "cancel".to_owned(),
                "internal-server-error".to_owned(),
                None,
            )
        };
        if self.shared.core_tx.send(CoreMsg::Bind(req)).is_err() {
            return Err(internal());
        }
        match reply_rx.await {
            Ok(Ok(full)) => Ok(full),
            Ok(Err(e)) => Err((e.error_type.to_owned(), e.condition.to_owned(), e.text)),
            Err(_) => Err(internal()),
        }
    }
}
