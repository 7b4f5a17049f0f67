//! The c2s stream state machine, sans-IO and shared by every transport: stream headers,
//! features, SASL, stream restart and resource binding (reference §9.1, §9.3, §9.4).
//!
//! It is fed parsed stream events and the answers to its own requests (credentials,
//! bind results) and returns [`Action`]s for its driver. Bound sessions hand every
//! stanza to the core.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::core::shared::{FeatureHooks, HostPolicy};
use crate::modules::register::ibr;
use crate::modules::saslauth::{self, Negotiation, Step};
use crate::modules::tls::{self as mod_tls, TlsOffer, Transport};
use crate::xml::Element;
use crate::xmpp::error::{stanza_error_reply, stream_error};
use crate::xmpp::jid::{nameprep, resourceprep};
use crate::xmpp::ns;
use crate::xmpp::sasl::ScramCredentials;

/// What the driver must do.
#[derive(Debug)]
pub enum Action {
    /// Send a stream header. `from` is None for the header sent just before an early
    /// stream error (Prosody sends `id=''` and no `from` then).
    OpenStream {
        from: Option<String>,
        to: Option<String>,
        id: String,
        version: bool,
    },
    Send(Element),
    /// Send `<stream:error>` when given, then close the stream.
    Close(Option<Element>),
    LoadScram {
        username: String,
    },
    VerifyPlain {
        username: String,
        password: String,
    },
    /// SASL succeeded: reset the parser and use the authenticated size limit.
    Authenticated {
        username: String,
    },
    Bind {
        resource: String,
        iq: Element,
    },
    /// In-band registration asks for a new account; answer `iq` with
    /// `register::ibr::creation_reply` once `register::ibr::create_account` ran.
    Register {
        username: String,
        password: String,
        iq: Element,
    },
    /// A stanza of a bound session, for the core.
    Forward(Element),
    /// `stream-features` is hooked on this host: ask the core to fire it for these
    /// features, then call [`C2sStream::on_features`] with what it answers.
    CollectFeatures(Element),
    /// `<proceed/>` was queued: write it, run the TLS handshake on the socket, reset the
    /// parser and call [`C2sStream::on_tls_established`] (or drop the connection).
    StartTls,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    AwaitingHeader,
    Open,
    Binding,
    Bound,
    Closed,
}

/// One client stream.
pub struct C2sStream {
    phase: Phase,
    secure: bool,
    host: Option<String>,
    username: Option<String>,
    /// The bound JID, shared with the core's session.
    full_jid: Option<Arc<str>>,
    /// Boxed: the negotiation lives only during login, and inline it would size every
    /// session's stream (and so its task) for a SCRAM exchange it finished long ago.
    sasl: Option<Box<Negotiation>>,
    /// Hosts with a STARTTLS context; `None` when the transport cannot upgrade.
    starttls_hosts: Option<Arc<HashSet<String>>>,
    /// The connection's `tls-exporter` value, offered for SCRAM-*-PLUS.
    exporter: Option<Vec<u8>>,
    /// Which hosts fire `stream-features` on the core (None: none ever does).
    feature_hooks: Option<Arc<FeatureHooks>>,
    /// Connect time (seconds since the epoch), for `stream-features` handlers.
    conntime: f64,
}

impl C2sStream {
    pub fn new(secure: bool) -> Self {
        C2sStream {
            phase: Phase::AwaitingHeader,
            secure,
            host: None,
            username: None,
            full_jid: None,
            sasl: None,
            starttls_hosts: None,
            exporter: None,
            feature_hooks: None,
            conntime: 0.0,
        }
    }

    /// Streams on hosts flagged in `hooks` let the core add `stream-features`.
    pub fn with_feature_hooks(mut self, hooks: Arc<FeatureHooks>, conntime: f64) -> Self {
        self.feature_hooks = Some(hooks);
        self.conntime = conntime;
        self
    }

    pub fn conntime(&self) -> f64 {
        self.conntime
    }

    /// A plain TCP stream that may upgrade with STARTTLS for the hosts in `hosts`.
    pub fn with_starttls(mut self, hosts: Arc<HashSet<String>>) -> Self {
        self.starttls_hosts = Some(hosts);
        self
    }

    /// The `tls-exporter` channel binding value (direct TLS sets it at the start).
    pub fn set_channel_binding(&mut self, exporter: Option<Vec<u8>>) {
        self.exporter = exporter;
    }

    /// The STARTTLS handshake finished: the stream is secure and the client must send a
    /// new header.
    pub fn on_tls_established(&mut self, exporter: Option<Vec<u8>>) {
        self.secure = true;
        self.starttls_hosts = None;
        self.exporter = exporter;
        self.phase = Phase::AwaitingHeader;
    }

    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// What mod_tls needs to decide about this stream on `host`.
    fn tls_offer(&self, host: &str, policy: &HostPolicy) -> TlsOffer {
        TlsOffer {
            transport: if self.starttls_hosts.is_some() {
                Transport::Tcp
            } else {
                Transport::WebSocket
            },
            secure: self.secure,
            has_context: self
                .starttls_hosts
                .as_ref()
                .is_some_and(|h| h.contains(host)),
            required: policy.require_encryption,
        }
    }

    pub fn host(&self) -> Option<&str> {
        match &self.host {
            Some(h) => Some(h),
            None => self.full_jid.as_deref().and_then(jid_parts).map(|(_, h)| h),
        }
    }

    pub fn username(&self) -> Option<&str> {
        match &self.username {
            Some(u) => Some(u),
            None => self.full_jid.as_deref().and_then(jid_parts).map(|(u, _)| u),
        }
    }

    pub fn full_jid(&self) -> Option<&str> {
        self.full_jid.as_deref()
    }

    pub fn is_authenticated(&self) -> bool {
        self.username.is_some() || self.full_jid.is_some()
    }

    pub fn is_bound(&self) -> bool {
        self.phase == Phase::Bound
    }

    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    fn close(&mut self, out: &mut Vec<Action>, condition: &str, text: Option<&str>) {
        self.phase = Phase::Closed;
        out.push(Action::Close(Some(stream_error(condition, text, None))));
    }

    /// A stream header arrived (initial or after a restart).
    pub fn on_open(
        &mut self,
        header: &Element,
        policies: &HashMap<String, HostPolicy>,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        if self.phase != Phase::AwaitingHeader {
            self.close(&mut out, "not-well-formed", None);
            return out;
        }
        let early_header = |out: &mut Vec<Action>| {
            out.push(Action::OpenStream {
                from: None,
                to: None,
                id: String::new(),
                version: true,
            })
        };
        let Some(to) = header.attr("to") else {
            early_header(&mut out);
            self.close(
                &mut out,
                "improper-addressing",
                Some("A 'to' attribute is required on stream headers"),
            );
            return out;
        };
        let Ok(host) = nameprep(to) else {
            early_header(&mut out);
            self.close(
                &mut out,
                "improper-addressing",
                Some("A valid 'to' attribute is required on stream headers"),
            );
            return out;
        };
        if let Some(prev) = self.host() {
            if prev != host {
                early_header(&mut out);
                self.close(&mut out, "not-authorized", None);
                return out;
            }
        }
        let Some(policy) = policies.get(&host) else {
            early_header(&mut out);
            let text = format!("This server does not serve {host}");
            self.close(&mut out, "host-unknown", Some(&text));
            return out;
        };
        let version = header
            .attr("version")
            .and_then(|v| v.split('.').next())
            .and_then(|m| m.trim().parse::<u32>().ok())
            .is_some_and(|major| major > 0);
        out.push(Action::OpenStream {
            from: Some(host.clone()),
            to: header.attr("from").map(str::to_owned),
            id: uuid::Uuid::new_v4().to_string(),
            version,
        });
        self.host = Some(host);
        self.phase = Phase::Open;

        let mut features = Element::new("features", ns::STREAMS);
        let host = self.host().unwrap_or_default().to_owned();
        if self.tls_offer(&host, policy).can_starttls() {
            let mut starttls = Element::new("starttls", mod_tls::NS_TLS);
            if policy.require_encryption {
                starttls.push_child(Element::new("required", mod_tls::NS_TLS));
            }
            features.push_child(starttls);
        }
        if !self.is_authenticated() {
            let mechs = saslauth::offered_mechanisms(policy, self.secure, self.exporter.is_some());
            if !mechs.is_empty() {
                features.push_child(saslauth::mechanisms_feature(&mechs));
            }
            if ibr::offers_feature(policy, self.secure) {
                features.push_child(ibr::feature());
            }
        } else {
            features.push_child(
                Element::new("bind", ns::BIND).with_child(Element::new("required", ns::BIND)),
            );
            features.push_child(
                Element::new("session", ns::SESSION)
                    .with_child(Element::new("optional", ns::SESSION)),
            );
            if policy.modules.contains("smacks") {
                for f in crate::modules::smacks::features() {
                    features.push_child(f);
                }
            }
            // What modules offer after authentication (roster versioning, CSI,
            // pre-approval: Prosody's `stream-features` handlers that add a fixed child).
            for f in self.feature_hooks.iter().flat_map(|h| h.statics(&host)) {
                features.push_child(f);
            }
            // mod_disco: the server's entity caps, for authenticated streams.
            if let Some(ver) = self.feature_hooks.as_ref().and_then(|h| h.caps_ver(&host)) {
                features.push_child(crate::modules::disco::caps::feature(ver));
            }
        }
        if self.feature_hooks.as_ref().is_some_and(|h| h.wanted(&host)) {
            out.push(Action::CollectFeatures(features));
            return out;
        }
        out.extend(self.on_features(features));
        out
    }

    /// The features to send, after `stream-features` handlers (Prosody closes a stream
    /// that has none to offer).
    pub fn on_features(&mut self, features: Element) -> Vec<Action> {
        let mut out = Vec::new();
        if features.child_elements().next().is_none() {
            self.close(
                &mut out,
                "undefined-condition",
                Some("No stream features to proceed with"),
            );
            return out;
        }
        out.push(Action::Send(features));
        out
    }

    /// The peer closed its stream.
    pub fn on_close(&mut self) -> Vec<Action> {
        self.phase = Phase::Closed;
        vec![Action::Close(None)]
    }

    /// A top-level element arrived.
    pub fn on_stanza(
        &mut self,
        el: Element,
        policies: &HashMap<String, HostPolicy>,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        let open = !matches!(self.phase, Phase::Closed | Phase::AwaitingHeader);
        if open && el.ns == ns::STREAMS && el.name == "error" {
            // The peer's stream error ends the stream; Prosody logs it and closes
            // without an error of its own.
            self.phase = Phase::Closed;
            out.push(Action::Close(None));
            return out;
        }
        match self.phase {
            Phase::Bound => {
                out.push(Action::Forward(el));
                return out;
            }
            Phase::Closed | Phase::AwaitingHeader => return out,
            Phase::Open | Phase::Binding => {}
        }
        let host = self.host().unwrap_or_default().to_owned();
        if mod_tls::is_starttls_request(&el.name, &el.ns) && !self.is_authenticated() {
            let offer = match policies.get(&host) {
                Some(policy) => self.tls_offer(&host, policy),
                None => return out,
            };
            match offer.respond() {
                mod_tls::StarttlsReply::Proceed => {
                    self.phase = Phase::AwaitingHeader;
                    out.push(Action::Send(Element::new("proceed", mod_tls::NS_TLS)));
                    out.push(Action::StartTls);
                }
                mod_tls::StarttlsReply::Failure => {
                    self.phase = Phase::Closed;
                    out.push(Action::Send(Element::new("failure", mod_tls::NS_TLS)));
                    out.push(Action::Close(None));
                }
            }
            return out;
        }
        if el.ns == ns::SASL && !self.is_authenticated() {
            let Some(policy) = policies.get(&host) else {
                return out;
            };
            let step = match el.name.as_str() {
                "auth" => {
                    saslauth::start(policy, self.secure, &host, &el, self.exporter.as_deref())
                }
                "response" => saslauth::response(self.sasl.take().map(|n| *n), &el),
                "abort" => {
                    self.sasl = None;
                    Step::Send(saslauth::failure("aborted", None), None)
                }
                _ => {
                    self.close(&mut out, "unsupported-stanza-type", None);
                    return out;
                }
            };
            self.apply_step(step, &mut out);
            return out;
        }
        if el.ns != ns::CLIENT {
            self.close(&mut out, "unsupported-stanza-type", None);
            return out;
        }
        let is_bind = el.name == "iq"
            && el.attr("type") == Some("set")
            && el.get_child("bind", ns::BIND).is_some();
        if is_bind {
            if !self.is_authenticated() {
                out.push(Action::Send(stanza_error_reply(
                    &el,
                    "auth",
                    "not-authorized",
                    None,
                )));
            } else if self.phase == Phase::Binding {
                out.push(Action::Send(stanza_error_reply(
                    &el,
                    "cancel",
                    "not-allowed",
                    None,
                )));
            } else {
                let requested = el
                    .get_child("bind", ns::BIND)
                    .and_then(|b| b.get_child("resource", ns::BIND))
                    .map(|r| r.text())
                    .unwrap_or_default();
                // No resource asked for: the core picks a random one (Prosody's id.short()).
                let prepped = if requested.trim().is_empty() {
                    Ok(String::new())
                } else {
                    resourceprep(requested.trim())
                };
                match prepped {
                    Ok(resource) => {
                        self.phase = Phase::Binding;
                        out.push(Action::Bind { resource, iq: el });
                    }
                    Err(_) => out.push(Action::Send(stanza_error_reply(
                        &el,
                        "modify",
                        "bad-request",
                        Some("Invalid resource"),
                    ))),
                }
            }
            return out;
        }
        if !self.is_authenticated() && ibr::is_register_iq(&el) {
            if let Some(policy) = policies.get(&host) {
                match ibr::pre_auth(policy, self.secure, &el) {
                    ibr::PreAuth::Reply(r) => out.push(Action::Send(r)),
                    ibr::PreAuth::Create { username, password } => out.push(Action::Register {
                        username,
                        password,
                        iq: el,
                    }),
                }
                return out;
            }
        }
        if matches!(el.name.as_str(), "message" | "presence" | "iq") {
            let t = el.attr("type").unwrap_or("");
            if t != "error" && t != "result" {
                out.push(Action::Send(stanza_error_reply(
                    &el,
                    "cancel",
                    "service-unavailable",
                    None,
                )));
            }
            return out;
        }
        self.close(&mut out, "unsupported-stanza-type", None);
        out
    }

    fn apply_step(&mut self, step: Step, out: &mut Vec<Action>) {
        match step {
            Step::Send(el, next) => {
                self.sasl = next.map(Box::new);
                out.push(Action::Send(el));
            }
            Step::VerifyPlain {
                username,
                password,
                negotiation,
            } => {
                self.sasl = Some(Box::new(negotiation));
                out.push(Action::VerifyPlain { username, password });
            }
            Step::LoadScram {
                username,
                negotiation,
            } => {
                self.sasl = Some(Box::new(negotiation));
                out.push(Action::LoadScram { username });
            }
            Step::Success { username, success } => {
                self.sasl = None;
                self.username = Some(username.clone());
                self.phase = Phase::AwaitingHeader;
                out.push(Action::Send(success));
                out.push(Action::Authenticated { username });
            }
        }
    }

    /// The driver's answer to [`Action::VerifyPlain`].
    pub fn on_plain_checked(&mut self, ok: bool) -> Vec<Action> {
        let mut out = Vec::new();
        if let Some(n) = self.sasl.take() {
            self.apply_step(saslauth::plain_checked(*n, ok), &mut out);
        }
        out
    }

    /// The driver's answer to [`Action::LoadScram`].
    pub fn on_scram_loaded(&mut self, creds: Option<ScramCredentials>) -> Vec<Action> {
        let mut out = Vec::new();
        if let Some(n) = self.sasl.take() {
            self.apply_step(saslauth::scram_loaded(*n, creds), &mut out);
        }
        out
    }

    /// A resumed session (XEP-0198): the stream takes over the bound JID of the session
    /// it resumed, as if it had bound it.
    pub fn on_resumed(&mut self, full: Arc<str>) {
        self.phase = Phase::Bound;
        if jid_parts(&full) == self.username.as_deref().zip(self.host.as_deref()) {
            self.username = None;
            self.host = None;
        }
        self.full_jid = Some(full);
    }

    /// The core's answer to [`Action::Bind`].
    pub fn on_bound(
        &mut self,
        iq: &Element,
        result: Result<Arc<str>, (String, String, Option<String>)>,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        match result {
            Ok(full) => {
                self.phase = Phase::Bound;
                // The bound JID spells the account and host: keep them once, as slices of
                // it, for the session's life (two allocations fewer per idle session).
                if jid_parts(&full) == self.username.as_deref().zip(self.host.as_deref()) {
                    self.username = None;
                    self.host = None;
                }
                self.full_jid = Some(full.clone());
                let mut reply = Element::new("iq", ns::CLIENT)
                    .with_attr("type", "result")
                    .with_child(
                        Element::new("bind", ns::BIND)
                            .with_child(Element::new("jid", ns::BIND).with_text(&*full)),
                    );
                if let Some(id) = iq.attr("id") {
                    reply.set_attr("id", id);
                }
                out.push(Action::Send(reply));
            }
            Err((etype, cond, text)) => {
                self.phase = Phase::Open;
                out.push(Action::Send(stanza_error_reply(
                    iq,
                    &etype,
                    &cond,
                    text.as_deref(),
                )));
            }
        }
        out
    }
}

/// The node and domain of a full JID `node@domain/resource` (neither may contain `@` or
/// `/`, the resource may).
fn jid_parts(full: &str) -> Option<(&str, &str)> {
    let (node, rest) = full.split_once('@')?;
    let host = rest.split_once('/').map_or(rest, |(h, _)| h);
    Some((node, host))
}
