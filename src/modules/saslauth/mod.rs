//! mod_saslauth: which SASL mechanisms a session is offered (reference §9.3) and the
//! negotiation of one `<auth/>` exchange, sans-IO.
//!
//! The negotiation never touches storage itself: it asks its driver for SCRAM
//! credentials or a PLAIN password check and is fed the answer.

use std::rc::Rc;

use base64::Engine;

use crate::core::{Bus, Core};
use crate::modules::iq::result_for;

use crate::core::shared::HostPolicy;
use crate::xml::Element;
use crate::xmpp::jid::nodeprep;
use crate::xmpp::ns;
use crate::xmpp::sasl::{
    parse_plain, ScramAwaitCreds, ScramAwaitFinal, ScramCredentials, ScramHash, ScramServer,
};

pub const NOT_AUTHORIZED_TEXT: &str =
    "Unable to authorize you with the authentication credentials you've sent.";

/// The mechanisms offered to a session with this policy and security. The `-PLUS`
/// variant is offered only when the transport supplies a `tls-exporter` value
/// (`channel_binding`), which only a TLS connection can.
pub fn offered_mechanisms(
    policy: &HostPolicy,
    secure: bool,
    channel_binding: bool,
) -> Vec<&'static str> {
    if !secure && policy.require_encryption {
        return Vec::new();
    }
    let (scram, plus) = match policy.password_hash {
        ScramHash::Sha1 => ("SCRAM-SHA-1", "SCRAM-SHA-1-PLUS"),
        ScramHash::Sha256 => ("SCRAM-SHA-256", "SCRAM-SHA-256-PLUS"),
    };
    let plus = channel_binding.then_some(plus);
    // SCRAM first, as Prosody offers them (a client that takes the first it knows then
    // does not send the password itself).
    [Some(scram), plus, Some("PLAIN")]
        .into_iter()
        .flatten()
        .filter(|m| !policy.disabled_mechanisms.contains(*m))
        .filter(|m| secure || !policy.insecure_mechanisms.contains(*m))
        .collect()
}

/// The `<mechanisms/>` stream feature.
pub fn mechanisms_feature(mechs: &[&str]) -> Element {
    let mut el = Element::new("mechanisms", ns::SASL);
    for m in mechs {
        el.push_child(Element::new("mechanism", ns::SASL).with_text(*m));
    }
    el
}

/// A `<failure/>` with a condition and optional text.
pub fn failure(condition: &str, text: Option<&str>) -> Element {
    let mut el = Element::new("failure", ns::SASL).with_child(Element::new(condition, ns::SASL));
    if let Some(t) = text {
        el.push_child(Element::new("text", ns::SASL).with_text(t));
    }
    el
}

fn sasl_data(kind: &str, data: &[u8]) -> Element {
    let el = Element::new(kind, ns::SASL);
    if data.is_empty() {
        el
    } else {
        el.with_text(base64::engine::general_purpose::STANDARD.encode(data))
    }
}

/// Decodes the text of `<auth/>`/`<response/>` (`=` or nothing means empty).
pub fn decode_payload(el: &Element) -> Result<Vec<u8>, base64::DecodeError> {
    let text = el.text();
    let text = text.trim();
    if text.is_empty() || text == "=" {
        return Ok(Vec::new());
    }
    base64::engine::general_purpose::STANDARD.decode(text)
}

/// Where one negotiation stands.
pub enum Negotiation {
    /// PLAIN: waiting for the driver's password check.
    PlainPending { username: String },
    /// SCRAM: waiting for the driver to load credentials.
    ScramLoading {
        server: ScramAwaitCreds,
        username: String,
    },
    /// SCRAM: challenge sent, waiting for the client's final message.
    ScramChallenged { server: ScramAwaitFinal },
}

/// What the driver must do next for a negotiation.
pub enum Step {
    /// Send this element (challenge or failure) and keep waiting.
    Send(Element, Option<Negotiation>),
    VerifyPlain {
        username: String,
        password: String,
        negotiation: Negotiation,
    },
    LoadScram {
        username: String,
        negotiation: Negotiation,
    },
    /// Authenticated: send `<success/>`.
    Success { username: String, success: Element },
}

/// Starts a negotiation for `<auth mechanism=..>`. `exporter` is the connection's
/// `tls-exporter` value when it has one (channel binding for `-PLUS`).
pub fn start(
    policy: &HostPolicy,
    secure: bool,
    host: &str,
    auth: &Element,
    exporter: Option<&[u8]>,
) -> Step {
    let mech = auth.attr("mechanism").unwrap_or("").to_owned();
    let offered = offered_mechanisms(policy, secure, exporter.is_some());
    if !offered.contains(&mech.as_str()) {
        let known = mech == "PLAIN" || mech.starts_with("SCRAM-SHA-");
        let insecure_refusal =
            !secure && (policy.require_encryption || policy.insecure_mechanisms.contains(&mech));
        return if known && insecure_refusal && !policy.disabled_mechanisms.contains(&mech) {
            Step::Send(failure("encryption-required", None), None)
        } else {
            Step::Send(failure("invalid-mechanism", None), None)
        };
    }
    let Ok(payload) = decode_payload(auth) else {
        return Step::Send(failure("incorrect-encoding", None), None);
    };
    if mech == "PLAIN" {
        let creds = match parse_plain(&payload) {
            Ok(c) => c,
            Err(e) => return Step::Send(failure(e.condition(), None), None),
        };
        let Ok(username) = nodeprep(&creds.authcid) else {
            return Step::Send(failure("not-authorized", Some(NOT_AUTHORIZED_TEXT)), None);
        };
        if !creds.authzid.is_empty() && creds.authzid != format!("{username}@{host}") {
            return Step::Send(failure("invalid-authzid", None), None);
        }
        return Step::VerifyPlain {
            username: username.clone(),
            password: creds.password,
            negotiation: Negotiation::PlainPending { username },
        };
    }
    let hash = policy.password_hash;
    let plus = mech.ends_with("-PLUS");
    let server = ScramServer::new(hash).with_channel_binding(exporter.map(<[u8]>::to_vec), plus);
    match server.client_first(&payload) {
        Ok((server, username)) => match nodeprep(&username) {
            Ok(u) => Step::LoadScram {
                username: u.clone(),
                negotiation: Negotiation::ScramLoading {
                    server,
                    username: u,
                },
            },
            Err(_) => Step::Send(failure("not-authorized", Some(NOT_AUTHORIZED_TEXT)), None),
        },
        Err(e) => Step::Send(failure(e.condition(), e.text()), None),
    }
}

/// Feeds the PLAIN check result.
pub fn plain_checked(negotiation: Negotiation, ok: bool) -> Step {
    match negotiation {
        Negotiation::PlainPending { username } if ok => Step::Success {
            username,
            success: sasl_data("success", &[]),
        },
        _ => Step::Send(failure("not-authorized", Some(NOT_AUTHORIZED_TEXT)), None),
    }
}

/// Feeds the SCRAM credentials (None: no such user).
pub fn scram_loaded(negotiation: Negotiation, creds: Option<ScramCredentials>) -> Step {
    match negotiation {
        Negotiation::ScramLoading { server, .. } => {
            let (server, challenge) = server.server_first(creds);
            Step::Send(
                sasl_data("challenge", &challenge),
                Some(Negotiation::ScramChallenged { server }),
            )
        }
        _ => Step::Send(
            failure("not-authorized", Some("Out of order SASL element")),
            None,
        ),
    }
}

/// Feeds a `<response/>`.
pub fn response(negotiation: Option<Negotiation>, el: &Element) -> Step {
    let Some(Negotiation::ScramChallenged { server }) = negotiation else {
        return Step::Send(
            failure("not-authorized", Some("Out of order SASL element")),
            None,
        );
    };
    let Ok(payload) = decode_payload(el) else {
        return Step::Send(failure("incorrect-encoding", None), None);
    };
    match server.client_final(&payload) {
        Ok((server_final, username)) => match nodeprep(&username) {
            Ok(u) => Step::Success {
                username: u,
                success: sasl_data("success", &server_final),
            },
            Err(_) => Step::Send(failure("not-authorized", Some(NOT_AUTHORIZED_TEXT)), None),
        },
        Err(e) => {
            let cond = e.condition();
            // Prosody words bad credentials its own way; other failures keep the
            // mechanism's text (e.g. "Invalid channel binding value.").
            let text = if cond == "not-authorized" {
                Some(NOT_AUTHORIZED_TEXT)
            } else {
                e.text()
            };
            Step::Send(failure(cond, text), None)
        }
    }
}

/// Registers the core-side part: the legacy RFC 3921 session IQ, answered with an empty
/// result (to oneself or to the host).
pub fn load(core: &mut Core, host: &str) {
    let bus = Bus::Host(host.to_owned());
    for kind in ["self", "host"] {
        let event = format!("iq-set/{kind}/{}:session", ns::SESSION);
        core.hook(
            &bus,
            &event,
            0.0,
            Rc::new(|core, ev| {
                let reply = result_for(ev.stanza.as_ref()?);
                core.reply(&ev.origin, reply);
                Some(true)
            }),
        );
    }
}
