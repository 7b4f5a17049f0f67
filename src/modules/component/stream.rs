//! The XEP-0114 accept stream as a sans-IO state machine (reference §12.3): the header
//! checks, the handshake, and the checks on what an authenticated component sends. It is
//! fed the parser's events and says what to write, what to hand the core and when to
//! close; the connection task (`listener.rs`) does the IO.

use std::collections::HashMap;

use sha1::{Digest, Sha1};

use crate::xml::Element;
use crate::xmpp::error::{StanzaCondition, StanzaError, StreamCondition, StreamError};
use crate::xmpp::jid::Jid;
use crate::xmpp::ns;

/// The namespace of a component stream (XEP-0114).
pub const NS_ACCEPT: &str = "jabber:component:accept";

/// The external components of the config: domain → `component_secret` (None when unset).
pub type Secrets = HashMap<String, Option<String>>;

/// What the connection task must do next.
#[derive(Debug, PartialEq)]
pub enum Action {
    /// Write this text (the stream header).
    Write(String),
    /// Write this element.
    Send(Element),
    /// The handshake is right: ask the core to attach this connection to `host`, then
    /// call [`ComponentStream::on_attached`].
    Attach { host: String },
    /// Hand an element the component sent to the core.
    Forward(Element),
    /// Close the stream, with this stream error when given.
    Close(Option<Element>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// Waiting for the component's stream header.
    Header,
    /// Header accepted; waiting for `<handshake>`.
    Handshake {
        host: String,
        id: String,
    },
    /// The core is attaching the session.
    Attaching {
        host: String,
    },
    /// Authenticated as `host`.
    Ready {
        host: String,
    },
    Closed,
}

/// One component connection's protocol state.
#[derive(Debug)]
pub struct ComponentStream {
    phase: Phase,
    validate_from: bool,
    header_sent: bool,
}

/// `<?xml version='1.0'?><stream:stream ...>` for a component stream; `from`/`id` are
/// absent only on the header sent just before an early stream error.
pub fn header(from: Option<&str>, id: Option<&str>) -> String {
    let mut s = format!(
        "<?xml version='1.0'?><stream:stream xmlns:stream='{}' xml:lang='en' xmlns='{NS_ACCEPT}'",
        ns::STREAMS
    );
    for (k, v) in [("id", id), ("from", from)] {
        if let Some(v) = v {
            s.push_str(&format!(" {k}='"));
            crate::xml::escape(v, &mut s);
            s.push('\'');
        }
    }
    s.push('>');
    s
}

/// The handshake token: hex SHA-1 of stream id followed by the secret.
pub fn token(stream_id: &str, secret: &str) -> String {
    let mut h = Sha1::new();
    h.update(stream_id.as_bytes());
    h.update(secret.as_bytes());
    hex::encode(h.finalize())
}

fn close(error: StreamError) -> Action {
    Action::Close(Some(error.element()))
}

/// Gives an element of the component stream (and its children of the same namespace)
/// the `jabber:client` namespace the router works in.
pub fn into_client_ns(el: &mut Element) {
    if el.ns == NS_ACCEPT {
        el.ns = ns::CLIENT.into();
    }
    for child in el.children.iter_mut() {
        if let crate::xml::Node::Element(c) = child {
            if c.ns == NS_ACCEPT {
                into_client_ns(c);
            }
        }
    }
}

impl ComponentStream {
    /// A new stream; `validate_from` is `validate_from_addresses` (default true).
    pub fn new(validate_from: bool) -> Self {
        ComponentStream {
            phase: Phase::Header,
            validate_from,
            header_sent: false,
        }
    }

    /// The component domain, once the header named one.
    pub fn host(&self) -> Option<&str> {
        match &self.phase {
            Phase::Handshake { host, .. } | Phase::Attaching { host } | Phase::Ready { host } => {
                Some(host)
            }
            _ => None,
        }
    }

    pub fn is_authenticated(&self) -> bool {
        matches!(self.phase, Phase::Ready { .. })
    }

    /// Whether our header was written (else a close writes one first).
    pub fn header_sent(&self) -> bool {
        self.header_sent
    }

    /// The component's stream header; `stream_id` is the id to give this stream.
    pub fn on_open(
        &mut self,
        header_el: &Element,
        secrets: &Secrets,
        stream_id: &str,
    ) -> Vec<Action> {
        let Some(to) = header_el.attr("to") else {
            self.phase = Phase::Closed;
            return vec![close(
                StreamError::new(StreamCondition::ImproperAddressing)
                    .with_text("A 'to' attribute is required on stream headers"),
            )];
        };
        let host = Jid::parse(to)
            .map(|j| j.to_string())
            .unwrap_or_else(|_| to.to_owned());
        if !secrets.contains_key(&host) {
            self.phase = Phase::Closed;
            let text = format!("{to} does not match any configured external components");
            return vec![close(
                StreamError::new(StreamCondition::HostUnknown).with_text(text),
            )];
        }
        let actions = vec![Action::Write(header(Some(&host), Some(stream_id)))];
        self.header_sent = true;
        self.phase = Phase::Handshake {
            host,
            id: stream_id.to_owned(),
        };
        actions
    }

    /// A top-level element from the component.
    pub fn on_stanza(&mut self, mut el: Element, secrets: &Secrets) -> Vec<Action> {
        let is_handshake = el.name == "handshake" && el.ns == NS_ACCEPT;
        match std::mem::replace(&mut self.phase, Phase::Closed) {
            Phase::Handshake { host, id } if is_handshake => self.handshake(host, id, &el, secrets),
            Phase::Ready { host } => {
                self.phase = Phase::Ready { host: host.clone() };
                if is_handshake {
                    return vec![close(StreamError::new(
                        StreamCondition::UnsupportedStanzaType,
                    ))];
                }
                self.authenticated_stanza(&host, el)
            }
            other => {
                self.phase = other;
                if is_handshake {
                    return vec![close(StreamError::new(
                        StreamCondition::UnsupportedStanzaType,
                    ))];
                }
                // Before the handshake nothing is routed.
                into_client_ns(&mut el);
                if is_stanza(&el) && !matches!(el.attr("type"), Some("error" | "result")) {
                    let e = StanzaError::cancel(StanzaCondition::ServiceUnavailable).reply(&el);
                    return vec![Action::Send(e)];
                }
                Vec::new()
            }
        }
    }

    fn handshake(
        &mut self,
        host: String,
        id: String,
        el: &Element,
        secrets: &Secrets,
    ) -> Vec<Action> {
        if el.child_elements().next().is_some() {
            return vec![close(StreamError::new(StreamCondition::NotAuthorized))];
        }
        let Some(Some(secret)) = secrets.get(&host) else {
            tracing::warn!(
                "Component attempted to identify as {host}, but component_secret is not set"
            );
            return vec![close(StreamError::new(StreamCondition::NotAuthorized))];
        };
        if !el.text().trim().eq_ignore_ascii_case(&token(&id, secret)) {
            tracing::info!("Component authentication failed for {host}");
            return vec![close(
                StreamError::new(StreamCondition::NotAuthorized)
                    .with_text("Given token does not match calculated token"),
            )];
        }
        self.phase = Phase::Attaching { host: host.clone() };
        vec![Action::Attach { host }]
    }

    /// The core's answer to [`Action::Attach`]: `Ok` or the conflict to close with.
    pub fn on_attached(&mut self, result: Result<(), Element>) -> Vec<Action> {
        let Phase::Attaching { host } = std::mem::replace(&mut self.phase, Phase::Closed) else {
            return Vec::new();
        };
        match result {
            Ok(()) => {
                self.phase = Phase::Ready { host };
                vec![Action::Send(Element::new("handshake", NS_ACCEPT))]
            }
            Err(e) => vec![Action::Close(Some(e))],
        }
    }

    fn authenticated_stanza(&mut self, host: &str, mut el: Element) -> Vec<Action> {
        if el.ns != NS_ACCEPT && el.ns != ns::CLIENT {
            // Stream-level elements of other namespaces: nobody handles them here.
            return vec![close(StreamError::new(
                StreamCondition::UnsupportedStanzaType,
            ))];
        }
        into_client_ns(&mut el);
        if !is_stanza(&el) {
            return vec![close(StreamError::new(
                StreamCondition::UnsupportedStanzaType,
            ))];
        }
        match el.attr("from").map(str::to_owned) {
            Some(from) => {
                let domain = Jid::parse(&from).map(|j| j.domain().to_owned()).ok();
                if self.validate_from && domain.as_deref() != Some(host) {
                    tracing::warn!("Component sent stanza with missing or invalid 'from' address");
                    self.phase = Phase::Closed;
                    let text = format!(
                        "Component tried to send from address <{from}> which is not in domain <{host}>"
                    );
                    return vec![close(
                        StreamError::new(StreamCondition::InvalidFrom).with_text(text),
                    )];
                }
            }
            None => el.set_attr("from", host),
        }
        if el.attr("to").is_none() {
            let e = StanzaError::modify(StanzaCondition::BadRequest)
                .with_text("Components MUST specify a 'to' address on stanzas")
                .reply(&el);
            return vec![Action::Send(e)];
        }
        vec![Action::Forward(el)]
    }
}

fn is_stanza(el: &Element) -> bool {
    el.ns == ns::CLIENT && matches!(el.name.as_str(), "message" | "presence" | "iq")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> Secrets {
        [
            ("c.example".to_owned(), Some("pw".to_owned())),
            ("open.example".to_owned(), None),
        ]
        .into_iter()
        .collect()
    }

    fn open(to: Option<&str>) -> Element {
        let mut h = Element::new("stream", ns::STREAMS);
        if let Some(to) = to {
            h.set_attr("to", to);
        }
        h
    }

    fn handshake(text: &str) -> Element {
        Element::new("handshake", NS_ACCEPT).with_text(text)
    }

    fn closed_with(actions: &[Action], condition: &str) -> bool {
        actions.iter().any(|a| {
            matches!(a, Action::Close(Some(e))
                if e.child_elements().next().is_some_and(|c| c.name == condition))
        })
    }

    #[test]
    fn the_token_is_lowercase_hex_sha1_of_id_then_secret() {
        // sha1("abc") is a known vector.
        assert_eq!(token("ab", "c"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }

    #[test]
    fn the_header_names_the_component_and_has_no_version() {
        let mut s = ComponentStream::new(true);
        let a = s.on_open(&open(Some("C.Example")), &secrets(), "id1");
        let [Action::Write(h)] = a.as_slice() else {
            panic!("{a:?}")
        };
        assert!(
            h.contains("from='c.example'") && h.contains("id='id1'"),
            "{h}"
        );
        let stream_tag = h.split("<stream:stream").nth(1).expect("stream tag");
        assert!(!stream_tag.contains("version"), "{h}");
        assert!(s.header_sent());
    }

    #[test]
    fn header_errors_come_before_any_handshake() {
        let mut s = ComponentStream::new(true);
        assert!(closed_with(
            &s.on_open(&open(None), &secrets(), "x"),
            "improper-addressing"
        ));
        assert!(
            !s.header_sent(),
            "the listener writes a header before the error"
        );
        let mut s = ComponentStream::new(true);
        assert!(closed_with(
            &s.on_open(&open(Some("x.example")), &secrets(), "x"),
            "host-unknown"
        ));
    }

    #[test]
    fn a_right_token_attaches_in_any_case_and_a_wrong_one_is_not_authorized() {
        let mut s = ComponentStream::new(true);
        s.on_open(&open(Some("c.example")), &secrets(), "id1");
        let t = token("id1", "pw").to_uppercase();
        assert_eq!(
            s.on_stanza(handshake(&t), &secrets()),
            vec![Action::Attach {
                host: "c.example".into()
            }]
        );
        assert_eq!(
            s.on_attached(Ok(())),
            vec![Action::Send(Element::new("handshake", NS_ACCEPT))]
        );
        assert!(s.is_authenticated());
        assert!(closed_with(
            &s.on_stanza(handshake(&t), &secrets()),
            "unsupported-stanza-type"
        ));

        let mut s = ComponentStream::new(true);
        s.on_open(&open(Some("c.example")), &secrets(), "id1");
        assert!(closed_with(
            &s.on_stanza(handshake("00"), &secrets()),
            "not-authorized"
        ));
        let mut s = ComponentStream::new(true);
        s.on_open(&open(Some("open.example")), &secrets(), "id1");
        assert!(closed_with(
            &s.on_stanza(handshake("00"), &secrets()),
            "not-authorized"
        ));
    }

    fn ready() -> ComponentStream {
        let mut s = ComponentStream::new(true);
        s.on_open(&open(Some("c.example")), &secrets(), "i");
        s.on_stanza(handshake(&token("i", "pw")), &secrets());
        s.on_attached(Ok(()));
        s
    }

    #[test]
    fn stanzas_get_the_domain_as_from_and_need_a_to() {
        let mut s = ready();
        let msg = Element::new("message", NS_ACCEPT).with_attr("to", "a@b.example");
        let a = s.on_stanza(msg, &secrets());
        let [Action::Forward(el)] = a.as_slice() else {
            panic!("{a:?}")
        };
        assert_eq!(el.attr("from"), Some("c.example"));
        assert_eq!(el.ns, ns::CLIENT);
        let no_to = Element::new("iq", NS_ACCEPT)
            .with_attr("id", "1")
            .with_attr("type", "get");
        let a = s.on_stanza(no_to, &secrets());
        assert!(
            matches!(&a[..], [Action::Send(e)] if e.attr("type") == Some("error")),
            "{a:?}"
        );
        let foreign = Element::new("message", NS_ACCEPT)
            .with_attr("to", "a@b.example")
            .with_attr("from", "x@elsewhere.example");
        assert!(closed_with(
            &s.on_stanza(foreign, &secrets()),
            "invalid-from"
        ));
    }

    #[test]
    fn validate_from_addresses_false_lets_any_from_through() {
        let mut s = ComponentStream::new(false);
        s.on_open(&open(Some("c.example")), &secrets(), "i");
        s.on_stanza(handshake(&token("i", "pw")), &secrets());
        s.on_attached(Ok(()));
        let foreign = Element::new("message", NS_ACCEPT)
            .with_attr("to", "a@b.example")
            .with_attr("from", "x@elsewhere.example");
        assert!(matches!(
            &s.on_stanza(foreign, &secrets())[..],
            [Action::Forward(_)]
        ));
    }
}
