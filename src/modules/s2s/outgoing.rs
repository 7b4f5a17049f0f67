//! One outgoing s2s stream (Prosody's `s2sout`, reference §17.2–17.5): resolve, connect
//! (direct TLS for `_xmpps-server` targets), open, STARTTLS, check the remote certificate,
//! authenticate with SASL EXTERNAL or dialback, then carry the route's stanzas. Dialback
//! `db:verify` requests of incoming streams ride on it before it is authenticated.

use std::sync::Arc;

use base64::Engine;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::bidi;
use super::certs::CertStatus;
use super::conn::{to_client_ns, xml_error, Conn, ConnError};
use super::dialback;
use super::dns;
use super::routes::{self, on_core, Cmd};
use super::stream::{self, Next, OutgoingState};
use super::S2sContext;
use crate::modules::limits::SessionKind;
use crate::xml::{Element, StreamEvent};
use crate::xmpp::error::{StreamCondition, StreamError};
use crate::xmpp::ns;

/// How a stream ended: the reason its queue is bounced with.
type Outcome = Result<(), String>;

struct Out {
    ctx: Arc<S2sContext>,
    local: String,
    remote: String,
    had_stream: bool,
    stream_id: Option<String>,
    cert: CertStatus,
    /// Features after TLS were seen: dialback requests may go out.
    ready: bool,
    authed: bool,
    external_tried: bool,
    external_ok: bool,
    pending_dialback: Vec<Element>,
    /// We asked for a bidirectional stream (XEP-0288): once authenticated, the peer's
    /// stanzas come over this stream too.
    bidi: bool,
}

/// Runs the route `local -> remote` (`id`) until it ends, then tells the core.
pub(super) async fn run(
    ctx: Arc<S2sContext>,
    local: String,
    remote: String,
    id: u64,
    mut rx: mpsc::UnboundedReceiver<Cmd>,
) {
    let mut out = Out {
        ctx: ctx.clone(),
        local: local.clone(),
        remote: remote.clone(),
        had_stream: false,
        stream_id: None,
        cert: CertStatus::None,
        ready: false,
        authed: false,
        external_tried: false,
        external_ok: false,
        pending_dialback: Vec::new(),
        bidi: false,
    };
    let outcome = match out.connect().await {
        Ok(conn) => out.drive(conn, id, &mut rx).await,
        Err(e) => Err(e),
    };
    let reason = match outcome {
        Ok(()) => "connection closed".to_owned(),
        Err(e) => {
            tracing::info!("s2s: outgoing {local} -> {remote} failed: {e}");
            e
        }
    };
    let had_stream = out.had_stream;
    // Stanzas the core handed over after the stream ended go back to be routed again.
    rx.close();
    let mut leftovers = Vec::new();
    while let Ok(cmd) = rx.try_recv() {
        if let Cmd::Stanza(s) = cmd {
            leftovers.push(Arc::try_unwrap(s).unwrap_or_else(|s| (*s).clone()));
        }
    }
    on_core(&ctx.shared, move |core| {
        routes::closed(core, &local, &remote, id, &reason, had_stream, leftovers)
    });
}

impl Out {
    /// Tries the resolved targets in order; the last error is the bounce reason.
    async fn connect(&mut self) -> Result<Conn, String> {
        let Some(resolver) = &self.ctx.resolver else {
            return Err("no usable DNS resolver (see s2s_resolver)".into());
        };
        let settings = &self.ctx.settings;
        let targets = dns::targets(resolver, &self.remote, self.ctx.tls_enabled())
            .await
            .map_err(|e| e.to_string())?;
        let mut last = String::from("zero SRV records found");
        for t in targets {
            let addrs = match dns::addresses(
                resolver,
                &t.host,
                t.port,
                settings.use_ipv4,
                settings.use_ipv6,
            )
            .await
            {
                Ok(a) => a,
                Err(e) => {
                    last = e.to_string();
                    continue;
                }
            };
            for addr in addrs {
                let tcp =
                    match tokio::time::timeout(settings.connect_timeout, TcpStream::connect(addr))
                        .await
                    {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            last = io_reason(&e);
                            continue;
                        }
                        Err(_) => {
                            last = "connection timed out".into();
                            continue;
                        }
                    };
                let _ = tcp.set_nodelay(true);
                let mut conn = Conn::open(
                    &self.ctx.shared,
                    tcp,
                    settings.unauthed_stanza_size_limit,
                    SessionKind::S2sOut,
                );
                if t.direct_tls {
                    let connector = self.ctx.connector(&self.local).clone();
                    if let Err(e) = conn
                        .tls_connect(&connector, &self.remote, settings.connect_timeout)
                        .await
                    {
                        last = e.to_string();
                        continue;
                    }
                }
                tracing::debug!("s2s: {} -> {} connected to {addr}", self.local, self.remote);
                return Ok(conn);
            }
        }
        Err(last)
    }

    async fn drive(
        &mut self,
        mut conn: Conn,
        id: u64,
        rx: &mut mpsc::UnboundedReceiver<Cmd>,
    ) -> Outcome {
        let settings = self.ctx.settings.clone();
        conn.push_header(Some(&self.local), Some(&self.remote), None);
        conn.flush().await.map_err(|e| e.to_string())?;
        let unauth_deadline = Instant::now() + settings.timeout;
        let mut idle_deadline = Instant::now() + settings.read_timeout;
        // `s2s_idle_timeout`: an authenticated route without traffic this long is closed.
        let idle_close = settings.idle_timeout;
        let mut last_traffic = Instant::now();
        let mut raised_limit = false;
        loop {
            let idle_close_at = last_traffic + idle_close.unwrap_or(settings.read_timeout);
            let step = tokio::select! {
                ev = conn.next_event() => {
                    idle_deadline = Instant::now() + settings.read_timeout;
                    last_traffic = Instant::now();
                    self.on_event(&mut conn, ev, id).await
                }
                cmd = rx.recv() => match cmd {
                    None => Step::Close(None, Ok(())),
                    Some(Cmd::Stanza(s)) => {
                        last_traffic = Instant::now();
                        conn.push(&s);
                        Step::Continue
                    }
                    Some(Cmd::Dialback(el)) => {
                        if self.ready {
                            conn.push(&el);
                        } else {
                            self.pending_dialback.push(el);
                        }
                        Step::Continue
                    }
                    Some(Cmd::Close(e)) => Step::Close(e, Ok(())),
                    Some(Cmd::DialbackOutcome { .. }) => Step::Continue,
                },
                _ = tokio::time::sleep_until(unauth_deadline), if !self.authed => Step::Close(
                    Some(StreamError::new(StreamCondition::ConnectionTimeout).element()),
                    Err("connection timed out before authentication".into()),
                ),
                _ = tokio::time::sleep_until(idle_close_at), if idle_close.is_some() && self.authed => {
                    tracing::debug!("s2s: closing idle route {} -> {}", self.local, self.remote);
                    Step::Close(None, Ok(()))
                }
                _ = tokio::time::sleep_until(idle_deadline) => {
                    // A quiet route gets a whitespace keepalive (Prosody's s2s-read-timeout).
                    idle_deadline = Instant::now() + settings.read_timeout;
                    conn.out.push(' ');
                    Step::Continue
                }
            };
            match step {
                Step::Continue => {}
                Step::Close(err, outcome) => {
                    conn.close(err).await;
                    return outcome;
                }
                Step::Gone(outcome) => return outcome,
                Step::StartTls => {
                    conn.flush().await.map_err(|e| e.to_string())?;
                    let connector = self.ctx.connector(&self.local).clone();
                    conn.tls_connect(&connector, &self.remote, settings.connect_timeout)
                        .await
                        .map_err(|e| e.to_string())?;
                    conn.push_header(Some(&self.local), Some(&self.remote), None);
                }
                Step::Restart => {
                    conn.flush().await.map_err(|e| e.to_string())?;
                    conn.restart();
                    conn.push_header(Some(&self.local), Some(&self.remote), None);
                }
            }
            if self.authed && !raised_limit {
                raised_limit = true;
                conn.set_max_stanza(settings.stanza_size_limit);
                if self.ctx.shared.is_unlimited(&self.local, &self.remote) {
                    conn.lift_limits();
                }
            }
            conn.flush().await.map_err(|e| e.to_string())?;
        }
    }

    async fn on_event(
        &mut self,
        conn: &mut Conn,
        ev: Result<StreamEvent, ConnError>,
        id: u64,
    ) -> Step {
        let el = match ev {
            Err(ConnError::Xml(e)) => {
                return Step::Close(Some(xml_error(&e)), Err(e.to_string()));
            }
            Err(e) => return Step::Gone(self.gone(e.to_string())),
            Ok(StreamEvent::Close) => return Step::Close(None, self.gone("stream closed".into())),
            Ok(StreamEvent::Open(h)) => return self.on_open(conn, &h),
            Ok(StreamEvent::Stanza(el)) => el,
        };
        match (el.ns.as_str(), el.name.as_str()) {
            (ns::STREAMS, "features") => self.on_features(conn, &el, id),
            (ns::STREAMS, "error") => {
                let cond = el
                    .child_elements()
                    .find(|c| c.ns == ns::STREAM_ERRORS && c.name != "text")
                    .map(|c| c.name.to_string())
                    .unwrap_or_else(|| "undefined-condition".into());
                let text = el
                    .get_child("text", ns::STREAM_ERRORS)
                    .map(|t| t.text())
                    .filter(|t| !t.is_empty());
                Step::Gone(Err(match text {
                    Some(t) => format!("{cond}: {t}"),
                    None => cond,
                }))
            }
            (ns::TLS, "proceed") => Step::StartTls,
            (ns::TLS, "failure") => Step::Close(None, Err("TLS negotiation failed".into())),
            (ns::SASL, "success") => {
                self.external_ok = true;
                Step::Restart
            }
            (ns::SASL, "failure") => {
                if self.ctx.dialback_hosts.contains(&self.local) {
                    self.send_dialback_key(conn)
                } else {
                    Step::Close(None, Err("Could not authenticate to remote server".into()))
                }
            }
            (dialback::NS, "result") => self.on_dialback_result(&el, id, conn.is_tls()),
            (dialback::NS, "verify") => {
                let (Some(from), Some(sid)) = (el.attr("from"), el.attr("id")) else {
                    return Step::Continue;
                };
                if from != self.remote {
                    return Step::Continue;
                }
                let valid = el.attr("type") == Some("valid");
                let (remote, local, sid) = (from.to_owned(), self.local.clone(), sid.to_owned());
                on_core(&self.ctx.shared, move |core| {
                    routes::verify_answer(core, remote, local, sid, valid)
                });
                Step::Continue
            }
            (ns::SERVER, "message" | "presence" | "iq")
                if self.bidi && (self.authed || self.external_ok) =>
            {
                self.on_bidi_stanza(el)
            }
            // Nothing else is expected on an outgoing stream.
            _ => Step::Continue,
        }
    }

    /// A stanza from the peer on our bidi stream: it must come from the domain we
    /// authenticated and go to a host we serve (as on an incoming stream).
    fn on_bidi_stanza(&mut self, el: Element) -> Step {
        let domain = |a: &str| {
            el.attr(a)
                .and_then(|j| crate::xmpp::jid::Jid::parse(j).ok())
                .map(|j| j.domain().to_owned())
        };
        let (Some(from), Some(to)) = (domain("from"), domain("to")) else {
            return Step::Close(
                Some(StreamError::new(StreamCondition::ImproperAddressing).element()),
                Err("improper-addressing".into()),
            );
        };
        if from != self.remote {
            tracing::warn!(
                "s2s: stanza claiming to be from {from} on a bidi stream to {}",
                self.remote
            );
            return Step::Close(
                Some(StreamError::new(StreamCondition::NotAuthorized).element()),
                Err("not-authorized".into()),
            );
        }
        if !self.ctx.served.contains(&to) {
            return Step::Close(
                Some(StreamError::new(StreamCondition::HostUnknown).element()),
                Err("host-unknown".into()),
            );
        }
        let stanza = to_client_ns(el);
        on_core(&self.ctx.shared, move |core| {
            routes::inbound(core, to, stanza)
        });
        Step::Continue
    }

    fn gone(&self, reason: String) -> Outcome {
        if self.authed {
            Ok(())
        } else {
            Err(reason)
        }
    }

    fn on_open(&mut self, conn: &mut Conn, header: &Element) -> Step {
        self.had_stream = true;
        let Some(sid) = header.attr("id") else {
            return Step::Close(
                Some(
                    StreamError::new(StreamCondition::UndefinedCondition)
                        .with_text("Missing stream ID")
                        .element(),
                ),
                Err("Missing stream ID".into()),
            );
        };
        self.stream_id = Some(sid.to_owned());
        if conn.is_tls() && self.cert == CertStatus::None {
            self.cert = self
                .ctx
                .checker
                .check(&conn.peer_certificates(), &self.remote);
            tracing::debug!("s2s: certificate of {}: {:?}", self.remote, self.cert);
            if let Some(e) = self
                .ctx
                .settings
                .certificate_refusal(&self.remote, self.cert)
            {
                let why = format!("Remote server's certificate {}", self.cert.reason());
                return Step::Close(Some(e), Err(why));
            }
        }
        Step::Continue
    }

    fn on_features(&mut self, conn: &mut Conn, features: &Element, id: u64) -> Step {
        let state = OutgoingState {
            tls: conn.is_tls(),
            tls_allowed: self.ctx.tls_enabled(),
            needs_encryption: self.ctx.settings.needs_encryption(&self.remote),
            external_succeeded: self.external_ok,
            external_tried: self.external_tried,
            dialback_enabled: self.ctx.dialback_hosts.contains(&self.local),
        };
        let next = stream::outgoing_next(features, state);
        if next != Next::StartTls && !self.ready {
            // Features after TLS (or without it): dialback checks may go out now.
            self.ready = true;
            for el in std::mem::take(&mut self.pending_dialback) {
                conn.push(&el);
            }
        }
        if self.authed {
            return Step::Continue;
        }
        if next != Next::StartTls
            && !self.bidi
            && self.ctx.bidi_hosts.contains(&self.local)
            && bidi::offered(features)
            && bidi::allowed(self.ctx.settings.require_encryption, conn.is_tls())
        {
            tracing::debug!("s2s: {} -> {} requesting bidi", self.local, self.remote);
            conn.push(&bidi::request());
            self.bidi = true;
        }
        match next {
            Next::StartTls => {
                conn.push(&Element::new("starttls", ns::TLS));
                Step::Continue
            }
            Next::Authenticated => self.authenticated(id, conn.is_tls()),
            Next::External => {
                self.external_tried = true;
                let b64 = base64::engine::general_purpose::STANDARD.encode(self.local.as_bytes());
                conn.push(
                    &Element::new("auth", ns::SASL)
                        .with_attr("mechanism", "EXTERNAL")
                        .with_text(b64),
                );
                Step::Continue
            }
            Next::Dialback => self.send_dialback_key(conn),
            Next::Refuse { error, reason } => Step::Close(Some(error), Err(reason)),
        }
    }

    fn send_dialback_key(&mut self, conn: &mut Conn) -> Step {
        let sid = self.stream_id.clone().unwrap_or_default();
        let key = self
            .ctx
            .settings
            .secret
            .key(&sid, &self.remote, &self.local);
        conn.push(&dialback::result_request(&self.local, &self.remote, &key));
        Step::Continue
    }

    fn on_dialback_result(&mut self, el: &Element, id: u64, encrypted: bool) -> Step {
        if el.attr("to") != Some(self.local.as_str()) {
            return Step::Close(
                Some(StreamError::new(StreamCondition::HostUnknown).element()),
                Err("host-unknown".into()),
            );
        }
        if el.attr("from") != Some(self.remote.as_str()) {
            return Step::Close(
                Some(StreamError::new(StreamCondition::InvalidId).element()),
                Err("invalid-id".into()),
            );
        }
        if el.attr("type") == Some("valid") {
            return self.authenticated(id, encrypted);
        }
        Step::Close(
            Some(
                StreamError::new(StreamCondition::NotAuthorized)
                    .with_text("dialback authentication failed")
                    .element(),
            ),
            Err("dialback authentication failed".into()),
        )
    }

    /// `s2s-authenticated` for the outgoing side: the policy, then the core flushes.
    fn authenticated(&mut self, id: u64, encrypted: bool) -> Step {
        if let Some(e) = self.ctx.settings.authentication_refusal(
            &self.remote,
            encrypted,
            Some(self.cert.is_valid()),
        ) {
            let text = e
                .get_child("text", ns::STREAM_ERRORS)
                .map(|t| t.text())
                .unwrap_or_default();
            return Step::Close(Some(e), Err(text));
        }
        self.authed = true;
        let (local, remote) = (self.local.clone(), self.remote.clone());
        let mechanism = if self.external_ok {
            "EXTERNAL"
        } else {
            "dialback"
        };
        on_core(&self.ctx.shared, move |core| {
            routes::established(core, &local, &remote, id, encrypted, mechanism)
        });
        Step::Continue
    }
}

enum Step {
    Continue,
    /// Send the error (if any) and the closing tag, then end with the outcome.
    Close(Option<Element>, Outcome),
    /// The peer is gone: end at once.
    Gone(Outcome),
    StartTls,
    /// SASL success: a new stream on the same connection.
    Restart,
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
        std::io::ErrorKind::TimedOut => "connection timed out".into(),
        _ => e.to_string(),
    }
}
