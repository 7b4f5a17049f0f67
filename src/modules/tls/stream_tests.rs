//! STARTTLS and -PLUS in the shared c2s state machine, stepped by hand: the feature is
//! offered only on upgradable streams of hosts with a context, `<starttls/>` gets
//! `<proceed/>` and a restart, and channel binding adds the -PLUS mechanism.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use crate::core::shared::HostPolicy;
use crate::modules::c2s::stream::{Action, C2sStream};
use crate::xml::Element;
use crate::xmpp::ns;
use crate::xmpp::sasl::ScramHash;

const HOST: &str = "example.test";

fn policies(require_encryption: bool) -> HashMap<String, HostPolicy> {
    let policy = HostPolicy {
        require_encryption,
        allow_unencrypted_plain_auth: false,
        insecure_mechanisms: ["PLAIN".to_owned()].into(),
        disabled_mechanisms: BTreeSet::new(),
        password_hash: ScramHash::Sha1,
        conflict_resolve: "kick_old".into(),
        modules: BTreeSet::new(),
    };
    [(HOST.to_owned(), policy)].into()
}

fn header() -> Element {
    Element::new("stream", ns::STREAMS)
        .with_attr("to", HOST)
        .with_attr("version", "1.0")
}

fn tcp() -> C2sStream {
    let hosts: HashSet<String> = [HOST.to_owned()].into();
    C2sStream::new(false).with_starttls(Arc::new(hosts))
}

fn features(actions: &[Action]) -> String {
    actions
        .iter()
        .find_map(|a| match a {
            Action::Send(e) if e.name == "features" => Some(e.to_xml()),
            _ => None,
        })
        .expect("features sent")
}

#[test]
fn required_starttls_is_the_only_feature_before_tls() {
    let p = policies(true);
    let f = features(&tcp().on_open(&header(), &p));
    assert!(
        f.contains("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"),
        "{f}"
    );
    assert!(!f.contains("mechanisms"), "{f}");
}

#[test]
fn optional_starttls_sits_beside_the_mechanisms() {
    let p = policies(false);
    let f = features(&tcp().on_open(&header(), &p));
    assert!(
        f.contains("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
        "{f}"
    );
    assert!(f.contains("SCRAM-SHA-1") && !f.contains("PLAIN"), "{f}");
}

#[test]
fn no_starttls_without_a_context_for_the_host_or_on_websocket() {
    let p = policies(false);
    let none = C2sStream::new(false).with_starttls(Arc::new(HashSet::new()));
    for mut s in [none, C2sStream::new(false)] {
        let f = features(&s.on_open(&header(), &p));
        assert!(!f.contains("starttls"), "{f}");
    }
}

#[test]
fn starttls_request_gets_proceed_then_a_secure_restart() {
    let p = policies(true);
    let mut s = tcp();
    s.on_open(&header(), &p);
    let req = Element::new("starttls", crate::modules::tls::NS_TLS);
    let out = s.on_stanza(req, &p);
    assert!(
        matches!(&out[0], Action::Send(e) if e.name == "proceed" && e.ns == crate::modules::tls::NS_TLS)
    );
    assert!(matches!(out[1], Action::StartTls));
    s.on_tls_established(Some(vec![1; 32]));
    assert!(s.is_secure());
    let f = features(&s.on_open(&header(), &p));
    assert!(!f.contains("starttls"), "{f}");
    assert!(
        f.contains("PLAIN") && f.contains(">SCRAM-SHA-1<") && f.contains("SCRAM-SHA-1-PLUS"),
        "{f}"
    );
}

#[test]
fn starttls_where_impossible_gets_failure_and_close() {
    let p = policies(false);
    let mut s = C2sStream::new(false);
    s.on_open(&header(), &p);
    let out = s.on_stanza(Element::new("starttls", crate::modules::tls::NS_TLS), &p);
    assert!(matches!(&out[0], Action::Send(e) if e.name == "failure"));
    assert!(matches!(out[1], Action::Close(None)));
    assert!(s.is_closed());
}

#[test]
fn plus_is_offered_only_with_channel_binding() {
    let p = policies(true);
    let mut s = C2sStream::new(true);
    let f = features(&s.on_open(&header(), &p));
    assert!(!f.contains("PLUS"), "{f}");
    let mut s = C2sStream::new(true);
    s.set_channel_binding(Some(vec![0; 32]));
    let f = features(&s.on_open(&header(), &p));
    assert!(f.contains("SCRAM-SHA-1-PLUS"), "{f}");
}
