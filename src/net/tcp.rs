//! The connection task of one c2s session over TCP (reference §9.1–9.3): bytes in, the XML
//! stream parser, the shared c2s state machine, bytes out; STARTTLS upgrades the socket in
//! place, direct TLS (XEP-0368) starts encrypted. Timers: whitespace keepalive after
//! `read_timeout` of silence, `c2s_timeout` for unauthenticated sessions, `send_timeout`
//! for writes and `c2s_close_timeout` for the peer's closing tag.

pub mod serialise;
pub mod socket;

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

use crate::core::{CoreMsg, Outbound, Shared};
use crate::modules::c2s::stream::{Action, C2sStream};
use crate::modules::limits::{SessionKind, SessionLimits};
use crate::net::c2s_session;
use crate::xml::{Element, Limits, StreamEvent, StreamParser, XmlError};
use crate::xmpp::error::stream_error;
use crate::xmpp::ns;
pub use socket::Socket;

/// Prosody reads at most this much at a time, which is what makes the unconsumed-bytes
/// stanza size check effective on TCP (reference §4.1).
const READ_SIZE: usize = 4096;

/// The TLS side of the c2s service: STARTTLS acceptors by host and the handshake bound.
pub struct C2sTls {
    starttls: HashMap<String, TlsAcceptor>,
    hosts: Arc<HashSet<String>>,
    handshake_timeout: Duration,
}

impl C2sTls {
    pub fn new(starttls: HashMap<String, TlsAcceptor>, handshake_timeout: Duration) -> Self {
        let hosts = Arc::new(starttls.keys().cloned().collect());
        C2sTls {
            starttls,
            hosts,
            handshake_timeout,
        }
    }

    pub fn handshake_timeout(&self) -> Duration {
        self.handshake_timeout
    }

    /// Hosts on which STARTTLS is offered.
    pub fn starttls_hosts(&self) -> &HashSet<String> {
        &self.hosts
    }
}

/// Accepts the TLS handshake of a direct-TLS connection (bounded by
/// `ssl_handshake_timeout`; a silent or broken client is just dropped, there is no stream
/// yet to send an error on) and runs the session.
pub async fn serve_direct_tls(
    tcp: TcpStream,
    ip: Option<IpAddr>,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
    tls: Arc<C2sTls>,
) {
    match crate::net::tls::accept_tls(&acceptor, tcp, tls.handshake_timeout).await {
        Ok(stream) => serve(Socket::Tls(Box::new(stream)), ip, shared, tls).await,
        Err(e) => tracing::debug!(?ip, "c2s_direct_tls: TLS handshake failed: {e}"),
    }
}

enum Flow {
    Continue,
    /// Everything queued is written, then the connection is closed.
    Drop,
    /// `<proceed/>` is queued: write it, then run the TLS handshake.
    StartTls,
}

struct Conn {
    shared: Arc<Shared>,
    id: u64,
    ip: Option<IpAddr>,
    stream: C2sStream,
    parser: StreamParser,
    out: String,
    tx: crate::core::OutboundTx,
    bound: bool,
    /// Our header for the current stream (after a restart, the next one) was sent.
    header_sent: bool,
    /// The client opened a stream at least once (keepalives only make sense then).
    opened: bool,
    closing_since: Option<Instant>,
    /// mod_limits: read rate (`limits.c2s`) and failed-login throttling.
    limits: SessionLimits,
}

/// Runs one c2s TCP session (plain, or already TLS for direct TLS) to its end.
pub async fn serve(mut sock: Socket, ip: Option<IpAddr>, shared: Arc<Shared>, tls: Arc<C2sTls>) {
    let c2s = shared.c2s.clone();
    let (tx, mut rx) = crate::core::outbound::channel();
    let mut stream = C2sStream::new(sock.is_tls())
        .with_feature_hooks(shared.feature_hooks.clone(), c2s_session::unix_now());
    if sock.is_tls() {
        stream.set_channel_binding(sock.tls_exporter());
    } else {
        stream = stream.with_starttls(tls.hosts.clone());
    }
    let mut conn = Conn {
        id: shared.new_session_id(),
        ip,
        stream,
        parser: StreamParser::new(Limits {
            max_stanza_bytes: c2s.unauthed_stanza_size_limit,
            max_child_elements: c2s.max_child_elements,
            ..Limits::default()
        })
        .with_default_lang("en"),
        out: String::new(),
        tx,
        bound: false,
        header_sent: false,
        opened: false,
        closing_since: None,
        limits: SessionLimits::new(&shared, SessionKind::C2s, ip),
        shared,
    };
    // While throttled the socket is simply not read: back-pressure, no buffering.
    let mut read_resume: Option<Instant> = None;
    let secs = |s: f64| Duration::from_secs_f64(s.max(0.001));
    let read_timeout = secs(c2s.read_timeout);
    let send_timeout = secs(c2s.send_timeout);
    let close_timeout = secs(
        conn.shared
            .config
            .global()
            .number("c2s_close_timeout")
            .unwrap_or(5.0),
    );
    let unauth_deadline = Instant::now() + secs(c2s.c2s_timeout);
    let mut idle_deadline = Instant::now() + read_timeout;
    let mut rbuf = vec![0u8; READ_SIZE];
    let mut reason: Option<String> = None;

    loop {
        let closing_deadline = conn.closing_since.map(|t| t + close_timeout);
        let flow = tokio::select! {
            _ = tokio::time::sleep_until(read_resume.unwrap_or(unauth_deadline)), if read_resume.is_some() => {
                read_resume = None;
                Flow::Continue
            }
            r = sock.read(&mut rbuf), if read_resume.is_none() => match r {
                Ok(0) | Err(_) => {
                    reason = Some("connection closed".into());
                    break;
                }
                Ok(n) => {
                    idle_deadline = Instant::now() + read_timeout;
                    if let Some(pause) = conn.limits.after_read(n) {
                        read_resume = Some(Instant::now() + pause);
                    }
                    conn.on_data(&rbuf[..n]).await
                }
            },
            Some(mut batch) = rx.recv_all() => conn.on_outbound_batch(&mut batch),
            _ = tokio::time::sleep_until(idle_deadline) => {
                idle_deadline = Instant::now() + read_timeout;
                if conn.opened {
                    // mod_c2s answers c2s-read-timeout with a whitespace keepalive.
                    conn.out.push(' ');
                    Flow::Continue
                } else {
                    reason = Some("read timeout".into());
                    Flow::Drop
                }
            }
            _ = tokio::time::sleep_until(unauth_deadline), if !conn.stream.is_authenticated() => {
                conn.close_with(Some(stream_error("connection-timeout", None, None)))
            }
            _ = tokio::time::sleep_until(closing_deadline.unwrap_or(unauth_deadline)), if closing_deadline.is_some() => {
                Flow::Drop
            }
        };
        if !conn.out.is_empty() {
            let res = tokio::time::timeout(send_timeout, sock.write_all(conn.out.as_bytes())).await;
            conn.out.clear();
            // Idle sessions keep no write buffer.
            conn.out = String::new();
            match res {
                Ok(Ok(())) => {}
                Ok(Err(_)) => {
                    reason = Some("write error".into());
                    break;
                }
                Err(_) => {
                    reason = Some("write timeout".into());
                    break;
                }
            }
        }
        match flow {
            Flow::Continue => {}
            Flow::Drop => {
                let _ = tokio::time::timeout(send_timeout, sock.shutdown()).await;
                break;
            }
            Flow::StartTls => match conn.start_tls(sock, &tls).await {
                Some(upgraded) => sock = upgraded,
                None => {
                    reason = Some("TLS handshake failed".into());
                    break;
                }
            },
        }
    }
    if conn.bound {
        let _ = conn.shared.core_tx.send(CoreMsg::Unbind {
            session: conn.id,
            error: reason,
        });
    }
}

impl Conn {
    fn send(&mut self, el: &Element) {
        serialise::write_element(el, &mut self.out);
    }

    /// Runs the handshake on the plain socket after `<proceed/>` was written.
    async fn start_tls(&mut self, sock: Socket, tls: &C2sTls) -> Option<Socket> {
        let acceptor = tls.starttls.get(self.stream.host()?)?;
        let Socket::Plain(tcp) = sock else {
            return None;
        };
        let upgraded = crate::net::tls::accept_tls(acceptor, tcp, tls.handshake_timeout)
            .await
            .map_err(|e| tracing::debug!(ip = ?self.ip, "STARTTLS handshake failed: {e}"))
            .ok()?;
        let sock = Socket::Tls(Box::new(upgraded));
        self.parser.reset();
        self.header_sent = false;
        self.stream.on_tls_established(sock.tls_exporter());
        Some(sock)
    }

    /// Server-initiated close: a header first if none was sent for this stream (§9.1),
    /// the optional error, the closing tag; a clean close of a bound session waits for the
    /// client's closing tag.
    fn close_with(&mut self, error: Option<Element>) -> Flow {
        if !self.header_sent {
            self.out.push_str(&serialise::header(None, None, "", true));
            self.header_sent = true;
        }
        let had_error = error.is_some();
        if let Some(e) = error {
            self.send(&e);
        }
        if self.closing_since.is_none() {
            self.out.push_str(serialise::CLOSE);
        }
        if !had_error && self.bound && self.closing_since.is_none() {
            self.closing_since = Some(Instant::now());
            return Flow::Continue;
        }
        Flow::Drop
    }

    /// Everything the core queued since the last turn, serialised into one write; after
    /// a close that drops the connection the rest is moot.
    fn on_outbound_batch(&mut self, batch: &mut std::collections::VecDeque<Outbound>) -> Flow {
        while let Some(msg) = batch.pop_front() {
            if let Flow::Drop = self.on_outbound(msg) {
                return Flow::Drop;
            }
        }
        Flow::Continue
    }

    fn on_outbound(&mut self, msg: Outbound) -> Flow {
        match msg {
            Outbound::Stanza(el) => {
                self.send(&el);
                Flow::Continue
            }
            Outbound::Close(err) => self.close_with(err.map(|e| *e)),
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

    async fn on_data(&mut self, data: &[u8]) -> Flow {
        if let Err(e) = self.parser.feed(data) {
            return self.on_xml_error(e);
        }
        loop {
            let ev = match self.parser.next_event() {
                Ok(Some(ev)) => ev,
                Ok(None) => {
                    // Drained: an idle TCP stream keeps no parser buffers (the
                    // WebSocket driver keeps them warm while busy, see IDLE_TRIM there).
                    self.parser.release_idle();
                    return Flow::Continue;
                }
                Err(e) => return self.on_xml_error(e),
            };
            let actions = match ev {
                StreamEvent::Open(header) => {
                    self.opened = true;
                    self.stream.on_open(&header, &self.shared.policies)
                }
                StreamEvent::Stanza(el) => self.stream.on_stanza(el, &self.shared.policies),
                StreamEvent::Close => {
                    if self.closing_since.is_none() {
                        self.out.push_str(serialise::CLOSE);
                    }
                    return Flow::Drop;
                }
            };
            match self.run_actions(actions).await {
                Flow::Continue => {}
                other => return other,
            }
        }
    }

    async fn run_actions(&mut self, mut actions: Vec<Action>) -> Flow {
        let mut i = 0;
        while i < actions.len() {
            let action = std::mem::replace(&mut actions[i], Action::Close(None));
            i += 1;
            let more = match action {
                Action::OpenStream {
                    from,
                    to,
                    id,
                    version,
                } => {
                    let h = serialise::header(from.as_deref(), to.as_deref(), &id, version);
                    self.out.push_str(&h);
                    self.header_sent = true;
                    continue;
                }
                Action::Send(el) => {
                    if el.ns == ns::SASL && el.name == "failure" {
                        self.limits.on_sasl_failure(&self.shared, &el);
                        let info = c2s_session::stream_info(
                            &self.stream,
                            self.id,
                            self.ip,
                            self.stream.is_secure(),
                            "c2s",
                        );
                        crate::lua::events::notify_authentication(
                            &self.shared,
                            info,
                            Some(el.clone()),
                        );
                    }
                    self.send(&el);
                    continue;
                }
                Action::Close(err) => return self.close_with(err),
                Action::StartTls => return Flow::StartTls,
                Action::CollectFeatures(features) => {
                    let tls = self.stream.is_secure();
                    let info = c2s_session::stream_info(&self.stream, self.id, self.ip, tls, "c2s");
                    let features =
                        c2s_session::collect_features(&self.shared, info, features).await;
                    self.stream.on_features(features)
                }
                Action::Forward(el) => {
                    let _ = self.shared.core_tx.send(CoreMsg::Stanza {
                        session: self.id,
                        stanza: el,
                    });
                    continue;
                }
                Action::Authenticated { username } => {
                    let host = self.stream.host().unwrap_or_default().to_owned();
                    self.limits.on_authenticated(&self.shared, &host, &username);
                    let info = c2s_session::stream_info(
                        &self.stream,
                        self.id,
                        self.ip,
                        self.stream.is_secure(),
                        "c2s",
                    );
                    crate::lua::events::notify_authentication(&self.shared, info, None);
                    self.parser.reset();
                    self.parser
                        .set_max_stanza_bytes(self.shared.c2s.stanza_size_limit);
                    self.header_sent = false;
                    continue;
                }
                Action::LoadScram { username } => {
                    let host = self.stream.host().unwrap_or_default().to_owned();
                    if let Some(e) = self.limits.refuse_login(&self.shared, &host, &username) {
                        return self.close_with(Some(e));
                    }
                    let creds = self.load_scram(username).await;
                    self.stream.on_scram_loaded(creds)
                }
                Action::VerifyPlain { username, password } => {
                    let host = self.stream.host().unwrap_or_default().to_owned();
                    if let Some(e) = self.limits.refuse_login(&self.shared, &host, &username) {
                        return self.close_with(Some(e));
                    }
                    let ok = self.verify_plain(username, password).await;
                    self.stream.on_plain_checked(ok)
                }
                Action::Register {
                    username,
                    password,
                    iq,
                } => {
                    // user-registering may refuse it; user-registered follows (§20.1).
                    let info = c2s_session::stream_info(
                        &self.stream,
                        self.id,
                        self.ip,
                        self.stream.is_secure(),
                        "c2s",
                    );
                    let reply = crate::lua::events::register_with_events(
                        self.shared.clone(),
                        info,
                        username,
                        password,
                        iq,
                    )
                    .await;
                    vec![Action::Send(reply)]
                }
                Action::Bind { resource, iq } => {
                    let result = self.bind(resource).await;
                    self.bound |= result.is_ok();
                    self.stream.on_bound(&iq, result)
                }
            };
            actions.splice(i..i, more);
        }
        Flow::Continue
    }

    async fn load_scram(&self, username: String) -> Option<crate::xmpp::sasl::ScramCredentials> {
        let host = self.stream.host()?.to_owned();
        c2s_session::load_scram(&self.shared, &host, username).await
    }

    async fn verify_plain(&self, username: String, password: String) -> bool {
        let Some(host) = self.stream.host().map(str::to_owned) else {
            return false;
        };
        c2s_session::verify_plain(&self.shared, &host, username, password).await
    }

    async fn bind(&self, resource: String) -> Result<Arc<str>, c2s_session::BindRefusal> {
        let who = c2s_session::Binder {
            session: self.id,
            username: self.stream.username().unwrap_or_default(),
            host: self.stream.host().unwrap_or_default(),
            ip: self.ip,
            secure: self.stream.is_secure(),
            transport: "c2s",
            tx: self.tx.clone(),
        };
        c2s_session::bind(&self.shared, who, resource).await
    }
}
