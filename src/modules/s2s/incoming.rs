//! One incoming s2s stream (Prosody's `s2sin`, reference §17.3–17.5): header checks,
//! features (STARTTLS, SASL EXTERNAL for a valid certificate, dialback), the certificate
//! check of the peer's `from`, dialback as receiving and as authoritative server, and the
//! stanzas of the domains authenticated on it, which must come from those domains.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::bidi;
use super::certs::CertStatus;
use super::conn::{to_client_ns, xml_error, Conn, ConnError};
use super::dialback;
use super::events::StreamView;
use super::routes::{self, on_core, Cmd, CmdTx};
use super::stream::{self, Addressing, Offer};
use super::S2sContext;
use crate::modules::limits::SessionKind;
use crate::xml::{Element, StreamEvent};
use crate::xmpp::error::{StreamCondition, StreamError};
use crate::xmpp::jid::Jid;
use crate::xmpp::ns;

struct In {
    ctx: Arc<S2sContext>,
    peer: SocketAddr,
    tx: CmdTx,
    stream_id: String,
    /// The first stream's `to` (a local host) and `from` (the claimed remote domain).
    to: Option<String>,
    from: Option<String>,
    cert: CertStatus,
    /// Remote domains authenticated on this stream.
    authed: HashSet<String>,
    starttls_offered: bool,
    /// Bidi (XEP-0288) was offered on this stream, and then requested by the peer.
    bidi_offered: bool,
    bidi: bool,
    /// Stanzas for the peer held while a restarted stream has no header of ours yet.
    bidi_pending: Vec<Arc<Element>>,
    /// TLS was on when a domain authenticated (for the Lua session view).
    secure: bool,
    /// A stream restart is owed our header when the next one opens (after TLS/SASL).
    opened_once: bool,
}

enum Flow {
    Continue,
    Close(Option<Element>),
    Gone,
    StartTls,
}

/// Serves one accepted connection (already TLS for `direct_tls`).
pub async fn serve(ctx: Arc<S2sContext>, tcp: TcpStream, peer: SocketAddr, direct_tls: bool) {
    let _ = tcp.set_nodelay(true);
    let mut conn = Conn::open(
        &ctx.shared,
        tcp,
        ctx.settings.unauthed_stanza_size_limit,
        SessionKind::S2sIn,
    );
    if direct_tls {
        let Some(acceptor) = ctx.acceptor.clone() else {
            return;
        };
        let timeout = ctx.settings.connect_timeout;
        if let Err(e) = conn.tls_accept(&acceptor, timeout).await {
            tracing::debug!(%peer, "s2s direct TLS: {e}");
            return;
        }
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    {
        let tx = tx.clone();
        on_core(&ctx.shared, move |core| routes::register_incoming(core, tx));
    }
    let mut s = In {
        ctx: ctx.clone(),
        peer,
        tx,
        stream_id: new_id(),
        to: None,
        from: None,
        cert: CertStatus::None,
        authed: HashSet::new(),
        starttls_offered: false,
        bidi_offered: false,
        bidi: false,
        bidi_pending: Vec::new(),
        secure: false,
        opened_once: false,
    };
    let settings = ctx.settings.clone();
    let unauth_deadline = Instant::now() + settings.timeout;
    let mut closing: Option<Instant> = None;
    loop {
        let flow = tokio::select! {
            ev = conn.next_event() => s.on_event(&mut conn, ev),
            Some(cmd) = rx.recv() => s.on_cmd(&mut conn, cmd),
            _ = tokio::time::sleep_until(unauth_deadline), if s.authed.is_empty() => {
                Flow::Close(Some(StreamError::new(StreamCondition::ConnectionTimeout).element()))
            }
            _ = tokio::time::sleep_until(closing.unwrap_or(unauth_deadline)), if closing.is_some() => Flow::Gone,
        };
        match flow {
            Flow::Continue => {}
            Flow::Gone => break,
            Flow::Close(e) => {
                let clean = e.is_none();
                conn.close(e).await;
                if clean && !s.authed.is_empty() && closing.is_none() {
                    // An authenticated stream closed by us waits for the peer's close.
                    closing = Some(Instant::now() + settings.close_timeout);
                    continue;
                }
                break;
            }
            Flow::StartTls => {
                if conn.flush().await.is_err() {
                    break;
                }
                let Some(acceptor) = ctx.acceptor.clone() else {
                    break;
                };
                if let Err(e) = conn.tls_accept(&acceptor, settings.connect_timeout).await {
                    tracing::debug!(%peer, "s2s STARTTLS: {e}");
                    break;
                }
                continue;
            }
        }
        if conn.flush().await.is_err() {
            break;
        }
    }
    if let (Some(to), Some(from)) = (&s.to, &s.from) {
        tracing::debug!("s2s: incoming {from} -> {to} ({peer}) closed");
    }
    {
        // Stanzas for the peer that reached a bidi stream after it ended are routed again.
        rx.close();
        let mut leftovers = Vec::new();
        while let Ok(cmd) = rx.try_recv() {
            if let Cmd::Stanza(st) = cmd {
                let st = Arc::try_unwrap(st).unwrap_or_else(|st| (*st).clone());
                let ends = |a: &str| st.attr(a).and_then(domain);
                if let (Some(local), Some(remote)) = (ends("from"), ends("to")) {
                    leftovers.push((local, remote, st));
                }
            }
        }
        let tx = s.tx.clone();
        let view = match (&s.to, &s.from) {
            (Some(local), Some(remote)) => Some(StreamView {
                local: local.clone(),
                remote: remote.clone(),
                outgoing: false,
                secure: s.secure,
                authed: !s.authed.is_empty(),
            }),
            _ => None,
        };
        on_core(&ctx.shared, move |core| {
            routes::incoming_closed(core, &tx, view, leftovers)
        });
    }
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn domain(jid: &str) -> Option<String> {
    Jid::parse(jid).ok().map(|j| j.domain().to_owned())
}

fn close_with(condition: StreamCondition) -> Flow {
    Flow::Close(Some(StreamError::new(condition).element()))
}

impl In {
    fn on_cmd(&mut self, conn: &mut Conn, cmd: Cmd) -> Flow {
        match cmd {
            Cmd::DialbackOutcome {
                domain,
                local,
                valid,
            } => {
                let key = String::new();
                let mut valid = valid;
                if valid {
                    if let Some(e) =
                        self.ctx
                            .settings
                            .authentication_refusal(&domain, conn.is_tls(), None)
                    {
                        return Flow::Close(Some(e));
                    }
                    if self.ctx.settings.must_secure(&domain) && !self.cert_valid_for(conn, &domain)
                    {
                        valid = false;
                    }
                }
                conn.push(&dialback::answer(
                    "result",
                    &local,
                    &domain,
                    Some(&self.stream_id),
                    valid,
                    &key,
                ));
                if valid {
                    tracing::info!("s2s: incoming {domain} -> {local} authenticated (dialback)");
                    conn.set_max_stanza(self.ctx.settings.stanza_size_limit);
                    if self.ctx.shared.is_unlimited(&local, &domain) {
                        conn.lift_limits();
                    }
                    self.became_route(conn, &local, &domain, "dialback");
                    self.authed.insert(domain);
                }
                Flow::Continue
            }
            Cmd::Close(e) => Flow::Close(e),
            Cmd::Stanza(st) if self.bidi => {
                if conn.header_sent {
                    conn.push(&st);
                } else {
                    self.bidi_pending.push(st);
                }
                Flow::Continue
            }
            Cmd::Stanza(_) | Cmd::Dialback(_) => Flow::Continue,
        }
    }

    /// `remote` authenticated with `mechanism`: the core fires the events, and on a bidi
    /// stream this stream becomes the route back.
    fn became_route(&mut self, conn: &Conn, local: &str, remote: &str, mechanism: &'static str) {
        self.secure = conn.is_tls();
        let view = StreamView {
            local: local.to_owned(),
            remote: remote.to_owned(),
            outgoing: false,
            secure: self.secure,
            authed: true,
        };
        let bidi = self.bidi.then(|| self.tx.clone());
        on_core(&self.ctx.shared, move |core| {
            routes::incoming_authenticated(core, view, mechanism, bidi);
        });
    }

    fn cert_valid_for(&self, conn: &Conn, domain: &str) -> bool {
        if self.from.as_deref() == Some(domain) {
            return self.cert.is_valid();
        }
        self.ctx
            .checker
            .check(&conn.peer_certificates(), domain)
            .is_valid()
    }

    fn on_event(&mut self, conn: &mut Conn, ev: Result<StreamEvent, ConnError>) -> Flow {
        match ev {
            Err(ConnError::Xml(e)) => {
                tracing::debug!(peer = %self.peer, "s2s: {e}");
                Flow::Close(Some(xml_error(&e)))
            }
            Err(_) => Flow::Gone,
            Ok(StreamEvent::Close) => Flow::Close(None),
            Ok(StreamEvent::Open(h)) => self.on_open(conn, &h),
            Ok(StreamEvent::Stanza(el)) => self.on_element(conn, el),
        }
    }

    fn on_open(&mut self, conn: &mut Conn, h: &Element) -> Flow {
        let first = self.opened_once.then(|| Addressing {
            to: self.to.clone(),
            from: self.from.clone(),
        });
        let addressing = match stream::parse_header(h, conn.default_ns(), first.as_ref()) {
            Ok(a) => a,
            Err(e) => return Flow::Close(Some(e)),
        };
        let Addressing { to, from } = addressing.clone();
        self.opened_once = true;
        self.stream_id = new_id();
        conn.push_header(to.as_deref(), from.as_deref(), Some(&self.stream_id));
        let ctx = &self.ctx;
        if let Err(e) = stream::check_hosts(
            &addressing,
            |h| is_served(ctx, h),
            |h| ctx.s2s_hosts.contains(h),
        ) {
            return Flow::Close(Some(e));
        }
        self.to = to.clone().or(self.to.take());
        self.from = from.clone().or(self.from.take());
        if conn.is_tls() {
            if let Some(from) = &from {
                self.cert = self.ctx.checker.check(&conn.peer_certificates(), from);
                tracing::debug!("s2s: certificate of {from}: {:?}", self.cert);
                if let Some(e) = self.ctx.settings.certificate_refusal(from, self.cert) {
                    return Flow::Close(Some(e));
                }
            }
        }
        if h.attr("version").is_none_or(|v| !v.starts_with('1')) {
            // Pre-1.0 peers get no features and go straight to dialback.
            return Flow::Continue;
        }
        let host = to.unwrap_or_default();
        let starttls =
            !conn.is_tls() && self.ctx.tls_hosts.contains(&host) && self.ctx.acceptor.is_some();
        let offer = Offer {
            starttls: starttls.then_some(self.ctx.settings.require_encryption),
            external: conn.is_tls()
                && self.cert.is_valid()
                && !self.authed.contains(self.from.as_deref().unwrap_or("")),
            dialback: self.ctx.dialback_hosts.contains(&host),
            bidi: self.authed.is_empty()
                && !self.bidi
                && self.ctx.bidi_hosts.contains(&host)
                && bidi::allowed(self.ctx.settings.require_encryption, conn.is_tls()),
        };
        self.starttls_offered = starttls;
        self.bidi_offered = offer.bidi;
        match stream::incoming_features(offer, !self.authed.is_empty()) {
            Ok(features) => {
                conn.push(&features);
                for st in std::mem::take(&mut self.bidi_pending) {
                    conn.push(&st);
                }
                Flow::Continue
            }
            Err(e) => Flow::Close(Some(e)),
        }
    }

    fn on_element(&mut self, conn: &mut Conn, el: Element) -> Flow {
        match (el.ns.as_str(), el.name.as_str()) {
            (ns::TLS, "starttls") if self.starttls_offered && !conn.is_tls() => {
                conn.push(&Element::new("proceed", ns::TLS));
                self.starttls_offered = false;
                Flow::StartTls
            }
            (ns::SASL, "auth") => self.on_sasl(conn, &el),
            (bidi::NS, "bidi") if self.bidi_offered && self.authed.is_empty() => {
                tracing::debug!(peer = %self.peer, "s2s: bidirectional stream requested");
                self.bidi = true;
                Flow::Continue
            }
            (dialback::NS, "result") => self.on_dialback_result(&el),
            (dialback::NS, "verify") => {
                // Typed verifies on an incoming stream are answers to no one: ignored.
                if el.attr("type").is_some() {
                    return Flow::Continue;
                }
                let (Some(from), Some(to)) = (el.attr("from"), el.attr("to")) else {
                    return close_with(StreamCondition::ImproperAddressing);
                };
                let id = el.attr("id").unwrap_or_default();
                let key = el.text();
                let valid = self.ctx.settings.secret.verify(id, from, to, &key);
                if !valid {
                    tracing::warn!(
                        "s2s: asked to verify a dialback key that is not ours (claimed {to})"
                    );
                }
                conn.push(&dialback::answer("verify", to, from, Some(id), valid, &key));
                Flow::Continue
            }
            (ns::SERVER, "message" | "presence" | "iq") => self.on_stanza(el),
            _ => close_with(StreamCondition::UnsupportedStanzaType),
        }
    }

    fn on_stanza(&mut self, el: Element) -> Flow {
        let from = el.attr("from").and_then(domain);
        let to = el.attr("to").and_then(domain);
        let (Some(from), Some(to)) = (from, to) else {
            return close_with(StreamCondition::ImproperAddressing);
        };
        if !self.authed.contains(&from) {
            tracing::warn!(
                "s2s: stanza claiming to be from {from} on a stream authenticated for {:?}",
                self.authed
            );
            return close_with(StreamCondition::NotAuthorized);
        }
        if !is_served(&self.ctx, &to) {
            return close_with(StreamCondition::HostUnknown);
        }
        let stanza = to_client_ns(el);
        on_core(&self.ctx.shared, move |core| {
            routes::inbound(core, to, stanza)
        });
        Flow::Continue
    }

    fn on_dialback_result(&mut self, el: &Element) -> Flow {
        if el.attr("type").is_some() {
            return Flow::Continue;
        }
        let (Some(to), Some(from)) = (el.attr("to"), el.attr("from")) else {
            return close_with(StreamCondition::ImproperAddressing);
        };
        let Some(to) = domain(to).filter(|d| is_served(&self.ctx, d)) else {
            return close_with(StreamCondition::HostUnknown);
        };
        let Some(from) = domain(from) else {
            return close_with(StreamCondition::ImproperAddressing);
        };
        if !self.ctx.dialback_hosts.contains(&to) {
            return close_with(StreamCondition::UnsupportedStanzaType);
        }
        if self.from.is_none() {
            self.from = Some(from.clone());
        }
        if self.to.is_none() {
            self.to = Some(to.clone());
        }
        let key = el.text();
        let (sid, tx) = (self.stream_id.clone(), self.tx.clone());
        on_core(&self.ctx.shared, move |core| {
            routes::verify_key(core, to, from, sid, key, tx)
        });
        Flow::Continue
    }

    fn on_sasl(&mut self, conn: &mut Conn, el: &Element) -> Flow {
        let failure =
            |cond: &str| Element::new("failure", ns::SASL).with_child(Element::new(cond, ns::SASL));
        if el.attr("mechanism") != Some("EXTERNAL") {
            conn.push(&failure("invalid-mechanism"));
            return Flow::Continue;
        }
        if !conn.is_tls() {
            conn.push(&failure("encryption-required"));
            return Flow::Continue;
        }
        let text = el.text();
        if text.is_empty() {
            conn.push(&failure("malformed-request"));
            return Flow::Continue;
        }
        let authzid = if text == "=" {
            String::new()
        } else {
            match base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
            {
                Some(s) => s,
                None => {
                    conn.push(&failure("incorrect-encoding"));
                    return Flow::Continue;
                }
            }
        };
        let Some(from) = self.from.clone() else {
            conn.push(&failure("not-authorized"));
            return Flow::Close(None);
        };
        if !authzid.is_empty() && authzid != from {
            conn.push(&failure("invalid-authzid"));
            return Flow::Continue;
        }
        if !self.cert.is_valid() {
            conn.push(&failure("not-authorized"));
            return Flow::Close(None);
        }
        if let Some(e) = self.ctx.settings.authentication_refusal(&from, true, None) {
            return Flow::Close(Some(e));
        }
        conn.push(&Element::new("success", ns::SASL));
        tracing::info!(
            "s2s: incoming {from} -> {} authenticated (certificate)",
            self.to.as_deref().unwrap_or("?")
        );
        conn.set_max_stanza(self.ctx.settings.stanza_size_limit);
        if self
            .ctx
            .shared
            .is_unlimited(self.to.as_deref().unwrap_or_default(), &from)
        {
            conn.lift_limits();
        }
        let local = self.to.clone().unwrap_or_default();
        self.became_route(conn, &local, &from, "EXTERNAL");
        self.authed.insert(from);
        // The peer restarts the stream on the same connection.
        conn.restart();
        Flow::Continue
    }
}

fn is_served(ctx: &S2sContext, host: &str) -> bool {
    ctx.served.contains(host)
}
