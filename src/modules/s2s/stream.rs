//! The negotiation rules of s2s streams (reference §17.3), sans-IO: what an incoming
//! header may say, which features an incoming stream is offered, and what an outgoing
//! stream does next with the features it was offered. The connection tasks feed these
//! the parsed elements and act on the answer.

use crate::xml::Element;
use crate::xmpp::error::{StreamCondition, StreamError};
use crate::xmpp::jid::Jid;
use crate::xmpp::ns;

use super::dialback;

/// The domains an incoming stream header names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Addressing {
    pub to: Option<String>,
    pub from: Option<String>,
}

fn domain(jid: &str) -> Option<String> {
    Jid::parse(jid).ok().map(|j| j.domain().to_owned())
}

/// Checks a header before it is answered: its namespace and addresses, and (on a restart)
/// that they did not change. The error is sent after a bare header of ours.
pub fn parse_header(
    header: &Element,
    default_ns: &str,
    first: Option<&Addressing>,
) -> Result<Addressing, Element> {
    if default_ns != ns::SERVER {
        return Err(StreamError::new(StreamCondition::InvalidNamespace).element());
    }
    let bad = |text: &str| {
        StreamError::new(StreamCondition::ImproperAddressing)
            .with_text(text.to_owned())
            .element()
    };
    let to = match header.attr("to").map(domain) {
        Some(Some(d)) => Some(d),
        Some(None) => return Err(bad("Invalid 'to' address")),
        None => None,
    };
    let from = match header.attr("from").map(domain) {
        Some(Some(d)) => Some(d),
        Some(None) => return Err(bad("Invalid 'from' address")),
        None => None,
    };
    if let Some(first) = first {
        if first.to.is_some() && to != first.to {
            return Err(bad("New stream 'to' attribute does not match original"));
        }
        if first.from.is_some() && from != first.from {
            return Err(bad("New stream 'from' attribute does not match original"));
        }
    }
    Ok(Addressing { to, from })
}

/// Checks the header's hosts once our header is out: `to` must be ours with s2s on, `from`
/// must not be ours.
pub fn check_hosts(
    addressing: &Addressing,
    served: impl Fn(&str) -> bool,
    s2s_on: impl Fn(&str) -> bool,
) -> Result<(), Element> {
    if let Some(to) = &addressing.to {
        if !served(to) {
            let text = format!("This host does not serve {to}");
            return Err(StreamError::new(StreamCondition::HostUnknown)
                .with_text(text)
                .element());
        }
        if !s2s_on(to) {
            return Err(StreamError::new(StreamCondition::PolicyViolation)
                .with_text("Server-to-server communication is disabled for this host")
                .element());
        }
    }
    if let Some(from) = &addressing.from {
        if served(from) {
            return Err(StreamError::new(StreamCondition::UndefinedCondition)
                .with_text("Attempt to connect from a host we serve")
                .element());
        }
    }
    Ok(())
}

/// What an incoming stream can be offered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Offer {
    /// STARTTLS, and whether it is `<required/>`.
    pub starttls: Option<bool>,
    /// SASL EXTERNAL (TLS with a certificate valid for the stream's `from`).
    pub external: bool,
    pub dialback: bool,
    /// XEP-0288 bidirectional streams (mod_s2s_bidi).
    pub bidi: bool,
}

/// The `<stream:features>` for `offer`; nothing to offer a stream that has not
/// authenticated anything is Prosody's `undefined-condition`.
pub fn incoming_features(offer: Offer, any_authenticated: bool) -> Result<Element, Element> {
    let mut features = Element::new("features", ns::STREAMS);
    if let Some(required) = offer.starttls {
        let mut st = Element::new("starttls", ns::TLS);
        if required {
            st.push_child(Element::new("required", ns::TLS));
        }
        features.push_child(st);
    }
    if offer.external {
        features.push_child(
            Element::new("mechanisms", ns::SASL)
                .with_child(Element::new("mechanism", ns::SASL).with_text("EXTERNAL")),
        );
    }
    if offer.dialback {
        features.push_child(Element::new("dialback", dialback::FEATURE_NS));
    }
    if offer.bidi {
        features.push_child(super::bidi::feature());
    }
    if features.children.is_empty() && !any_authenticated {
        return Err(StreamError::new(StreamCondition::UndefinedCondition)
            .with_text("No stream features to offer")
            .element());
    }
    Ok(features)
}

/// Where an outgoing stream stands when features arrive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutgoingState {
    pub tls: bool,
    pub tls_allowed: bool,
    /// `s2s_require_encryption`, `s2s_secure_auth` or a secure domain applies.
    pub needs_encryption: bool,
    pub external_succeeded: bool,
    pub external_tried: bool,
    pub dialback_enabled: bool,
}

/// What an outgoing stream does with the features it was offered (Prosody's feature
/// handlers by priority: STARTTLS 500, EXTERNAL 150, dialback 100, then the refusals).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    StartTls,
    /// The stream restarted after SASL success: authenticated.
    Authenticated,
    External,
    Dialback,
    /// Close with this error; the route's queue is bounced with `reason`.
    Refuse {
        error: Element,
        reason: String,
    },
}

pub fn outgoing_next(features: &Element, st: OutgoingState) -> Next {
    if !st.tls {
        if features.get_child("starttls", ns::TLS).is_some() && st.tls_allowed {
            return Next::StartTls;
        }
        if st.needs_encryption {
            return Next::Refuse {
                error: StreamError::new(StreamCondition::PolicyViolation)
                    .with_text(
                        "Encrypted server-to-server communication is required but was not offered",
                    )
                    .element(),
                reason: "Could not establish encrypted connection to remote server".into(),
            };
        }
    }
    if st.external_succeeded {
        return Next::Authenticated;
    }
    let external = features.get_child("mechanisms", ns::SASL).is_some_and(|m| {
        m.child_elements()
            .any(|c| c.name == "mechanism" && c.text() == "EXTERNAL")
    });
    if st.tls && external && !st.external_tried {
        return Next::External;
    }
    if st.dialback_enabled {
        return Next::Dialback;
    }
    Next::Refuse {
        error: StreamError::new(StreamCondition::UnsupportedFeature)
            .with_text("No viable authentication method offered")
            .element(),
        reason: "No viable authentication method offered by remote server".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(attrs: &[(&str, &str)]) -> Element {
        let mut h = Element::new("stream", ns::STREAMS);
        for (k, v) in attrs {
            h.set_attr(k, *v);
        }
        h
    }

    fn condition(e: &Element) -> String {
        e.child_elements()
            .next()
            .expect("condition")
            .name
            .to_string()
    }

    fn text(e: &Element) -> String {
        e.get_child("text", ns::STREAM_ERRORS)
            .map(|t| t.text())
            .unwrap_or_default()
    }

    #[test]
    fn a_header_in_the_client_namespace_is_invalid_namespace() {
        let e = parse_header(&header(&[("to", "a.test")]), ns::CLIENT, None).expect_err("refused");
        assert_eq!(condition(&e), "invalid-namespace");
    }

    #[test]
    fn bad_addresses_are_improper_addressing_with_prosodys_text() {
        let e = parse_header(&header(&[("to", "@bad")]), ns::SERVER, None).expect_err("refused");
        assert_eq!(condition(&e), "improper-addressing");
        assert_eq!(text(&e), "Invalid 'to' address");
        let first = Addressing {
            to: Some("a.test".into()),
            from: Some("b.test".into()),
        };
        let e = parse_header(
            &header(&[("to", "a.test"), ("from", "c.test")]),
            ns::SERVER,
            Some(&first),
        )
        .expect_err("changed from");
        assert_eq!(
            text(&e),
            "New stream 'from' attribute does not match original"
        );
        let ok = parse_header(
            &header(&[("to", "A.test"), ("from", "b.test")]),
            ns::SERVER,
            Some(&first),
        )
        .expect("same domains, prepared");
        assert_eq!(ok, first);
    }

    #[test]
    fn hosts_we_do_not_serve_or_serve_ourselves_are_refused() {
        let served = |h: &str| h == "a.test";
        let on = |_: &str| true;
        let a = |to: &str, from: &str| Addressing {
            to: Some(to.into()),
            from: Some(from.into()),
        };
        let e = check_hosts(&a("x.test", "b.test"), served, on).expect_err("unknown");
        assert_eq!(condition(&e), "host-unknown");
        assert_eq!(text(&e), "This host does not serve x.test");
        let e = check_hosts(&a("a.test", "a.test"), served, on).expect_err("ours");
        assert_eq!(condition(&e), "undefined-condition");
        let e = check_hosts(&a("a.test", "b.test"), served, |_| false).expect_err("off");
        assert_eq!(condition(&e), "policy-violation");
        assert!(check_hosts(&a("a.test", "b.test"), served, on).is_ok());
    }

    #[test]
    fn features_list_starttls_external_and_dialback_as_offered() {
        let f = incoming_features(
            Offer {
                starttls: Some(true),
                external: false,
                dialback: true,
                bidi: false,
            },
            false,
        )
        .expect("features");
        let xml = f.to_xml();
        assert!(xml.contains("<required/>") && xml.contains("urn:xmpp:features:dialback"));
        let e = incoming_features(Offer::default(), false).expect_err("nothing");
        assert_eq!(text(&e), "No stream features to offer");
        assert!(incoming_features(Offer::default(), true).is_ok());
    }

    fn features(starttls: bool, external: bool) -> Element {
        let mut f = Element::new("features", ns::STREAMS);
        if starttls {
            f.push_child(Element::new("starttls", ns::TLS));
        }
        if external {
            f.push_child(
                Element::new("mechanisms", ns::SASL)
                    .with_child(Element::new("mechanism", ns::SASL).with_text("EXTERNAL")),
            );
        }
        f
    }

    #[test]
    fn outgoing_prefers_starttls_then_external_then_dialback() {
        let st = OutgoingState {
            tls_allowed: true,
            dialback_enabled: true,
            ..Default::default()
        };
        assert_eq!(outgoing_next(&features(true, false), st), Next::StartTls);
        let tls = OutgoingState { tls: true, ..st };
        assert_eq!(outgoing_next(&features(false, true), tls), Next::External);
        let tried = OutgoingState {
            external_tried: true,
            ..tls
        };
        assert_eq!(outgoing_next(&features(false, true), tried), Next::Dialback);
        let done = OutgoingState {
            external_succeeded: true,
            ..tls
        };
        assert_eq!(
            outgoing_next(&features(false, false), done),
            Next::Authenticated
        );
    }

    #[test]
    fn outgoing_refuses_plaintext_when_encryption_is_required_and_no_method_otherwise() {
        let st = OutgoingState {
            tls_allowed: true,
            needs_encryption: true,
            dialback_enabled: true,
            ..Default::default()
        };
        let Next::Refuse { error, .. } = outgoing_next(&features(false, false), st) else {
            panic!("expected a refusal");
        };
        assert_eq!(condition(&error), "policy-violation");
        let st = OutgoingState {
            tls: true,
            ..Default::default()
        };
        let Next::Refuse { error, reason } = outgoing_next(&features(false, false), st) else {
            panic!("expected a refusal");
        };
        assert_eq!(condition(&error), "unsupported-feature");
        assert_eq!(
            reason,
            "No viable authentication method offered by remote server"
        );
    }
}
