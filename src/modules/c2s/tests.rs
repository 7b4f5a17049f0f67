//! The c2s state machine stepped by hand: headers, features, SASL PLAIN and SCRAM, stream
//! restart and bind, with no sockets.

use std::collections::{BTreeSet, HashMap};

use base64::Engine;

use super::stream::{Action, C2sStream};
use crate::core::shared::HostPolicy;
use crate::xml::Element;
use crate::xmpp::ns;
use crate::xmpp::sasl::{derive_credentials, ScramHash};

fn policies(require_encryption: bool) -> HashMap<String, HostPolicy> {
    let mut m = HashMap::new();
    m.insert(
        "example.test".to_owned(),
        HostPolicy {
            require_encryption,
            allow_unencrypted_plain_auth: !require_encryption,
            insecure_mechanisms: if require_encryption {
                ["PLAIN".to_owned()].into()
            } else {
                BTreeSet::new()
            },
            disabled_mechanisms: ["DIGEST-MD5".to_owned()].into(),
            password_hash: ScramHash::Sha1,
            conflict_resolve: "kick_old".into(),
            modules: BTreeSet::new(),
        },
    );
    m
}

fn header(to: Option<&str>) -> Element {
    let mut h = Element::new("stream", ns::STREAMS).with_attr("version", "1.0");
    if let Some(to) = to {
        h.set_attr("to", to);
    }
    h
}

fn sent(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(e) => Some(e.to_xml()),
            Action::Close(Some(e)) => Some(e.to_xml()),
            _ => None,
        })
        .collect()
}

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

#[test]
fn insecure_stream_with_required_encryption_closes_for_lack_of_features() {
    let p = policies(true);
    let mut s = C2sStream::new(false);
    let actions = s.on_open(&header(Some("example.test")), &p);
    assert!(matches!(actions[0], Action::OpenStream { .. }));
    let out = sent(&actions).join("");
    assert!(out.contains("undefined-condition"), "{out}");
    assert!(out.contains("No stream features to proceed with"), "{out}");
    assert!(s.is_closed());
}

#[test]
fn secure_stream_offers_plain_and_scram() {
    let p = policies(true);
    let mut s = C2sStream::new(true);
    let out = sent(&s.on_open(&header(Some("Example.TEST")), &p)).join("");
    assert!(out.contains("<mechanism>PLAIN</mechanism>"), "{out}");
    assert!(out.contains("<mechanism>SCRAM-SHA-1</mechanism>"), "{out}");
    assert_eq!(s.host(), Some("example.test"));
}

#[test]
fn header_errors_follow_prosody() {
    let p = policies(false);
    let out = sent(&C2sStream::new(false).on_open(&header(None), &p)).join("");
    assert!(out.contains("improper-addressing"), "{out}");
    let out = sent(&C2sStream::new(false).on_open(&header(Some("nope.test")), &p)).join("");
    assert!(out.contains("host-unknown") && out.contains("This server does not serve nope.test"));
}

#[test]
fn plain_login_restart_and_bind() {
    let p = policies(false);
    let mut s = C2sStream::new(false);
    s.on_open(&header(Some("example.test")), &p);
    let auth = Element::new("auth", ns::SASL)
        .with_attr("mechanism", "PLAIN")
        .with_text(b64(b"\0alice\0secret"));
    let actions = s.on_stanza(auth, &p);
    assert!(
        matches!(&actions[0], Action::VerifyPlain { username, password } if username == "alice" && password == "secret")
    );
    let actions = s.on_plain_checked(true);
    assert!(sent(&actions)[0].starts_with("<success"));
    assert!(matches!(actions[1], Action::Authenticated { .. }));
    let out = sent(&s.on_open(&header(Some("example.test")), &p)).join("");
    assert!(out.contains(ns::BIND), "{out}");
    let bind = Element::new("iq", ns::CLIENT)
        .with_attr("type", "set")
        .with_attr("id", "b1")
        .with_child(
            Element::new("bind", ns::BIND)
                .with_child(Element::new("resource", ns::BIND).with_text("phone")),
        );
    let actions = s.on_stanza(bind.clone(), &p);
    assert!(matches!(&actions[0], Action::Bind { resource, .. } if resource == "phone"));
    let out = sent(&s.on_bound(&bind, Ok("alice@example.test/phone".into()))).join("");
    assert!(
        out.contains("<jid>alice@example.test/phone</jid>") && out.contains("id='b1'"),
        "{out}"
    );
    assert!(s.is_bound());
    let msg = Element::new("message", ns::CLIENT);
    assert!(matches!(s.on_stanza(msg, &p)[0], Action::Forward(_)));
}

#[test]
fn after_bind_the_account_and_host_still_come_from_the_bound_jid() {
    // The stream drops its own copies after bind and reads them from the full JID; a
    // resource with `@` and `/` must not confuse that.
    let p = policies(false);
    let mut s = C2sStream::new(false);
    s.on_open(&header(Some("example.test")), &p);
    let auth = Element::new("auth", ns::SASL)
        .with_attr("mechanism", "PLAIN")
        .with_text(b64(b"\0alice\0secret"));
    s.on_stanza(auth, &p);
    s.on_plain_checked(true);
    s.on_open(&header(Some("example.test")), &p);
    let bind = Element::new("iq", ns::CLIENT)
        .with_attr("type", "set")
        .with_attr("id", "b1")
        .with_child(Element::new("bind", ns::BIND));
    s.on_stanza(bind.clone(), &p);
    s.on_bound(&bind, Ok("alice@example.test/a@b/c".into()));
    assert_eq!(s.username(), Some("alice"));
    assert_eq!(s.host(), Some("example.test"));
    assert_eq!(s.full_jid(), Some("alice@example.test/a@b/c"));
    assert!(s.is_authenticated());
    // Still authenticated: a new SASL exchange is not started.
    let again = Element::new("auth", ns::SASL)
        .with_attr("mechanism", "PLAIN")
        .with_text(b64(b"\0bob\0secret"));
    let actions = s.on_stanza(again, &p);
    assert!(
        !actions
            .iter()
            .any(|a| matches!(a, Action::VerifyPlain { .. })),
        "a bound stream must not log in again"
    );
}

#[test]
fn restart_with_another_host_is_not_authorized() {
    let p = policies(false);
    let mut s = C2sStream::new(false);
    s.on_open(&header(Some("example.test")), &p);
    let auth = Element::new("auth", ns::SASL)
        .with_attr("mechanism", "PLAIN")
        .with_text(b64(b"\0alice\0secret"));
    s.on_stanza(auth, &p);
    s.on_plain_checked(true);
    let out = sent(&s.on_open(&header(Some("other.test")), &p)).join("");
    assert!(out.contains("not-authorized"), "{out}");
}

#[test]
fn sasl_failures_carry_prosody_conditions() {
    let p = policies(false);
    let mut s = C2sStream::new(false);
    s.on_open(&header(Some("example.test")), &p);
    let bad = Element::new("auth", ns::SASL).with_attr("mechanism", "X-NOPE");
    assert!(sent(&s.on_stanza(bad, &p))[0].contains("invalid-mechanism"));
    let bad = Element::new("auth", ns::SASL)
        .with_attr("mechanism", "PLAIN")
        .with_text("%%%");
    assert!(sent(&s.on_stanza(bad, &p))[0].contains("incorrect-encoding"));
    let resp = Element::new("response", ns::SASL);
    let out = sent(&s.on_stanza(resp, &p)).join("");
    assert!(
        out.contains("not-authorized") && out.contains("Out of order SASL element"),
        "{out}"
    );
    let abort = Element::new("abort", ns::SASL);
    assert!(sent(&s.on_stanza(abort, &p))[0].contains("aborted"));
    let auth = Element::new("auth", ns::SASL)
        .with_attr("mechanism", "PLAIN")
        .with_text(b64(b"\0alice\0wrong"));
    s.on_stanza(auth, &p);
    let out = sent(&s.on_plain_checked(false)).join("");
    assert!(
        out.contains("not-authorized") && out.contains("Unable to authorize you"),
        "{out}"
    );
}

#[test]
fn scram_sha1_exchange_succeeds_with_stored_keys() {
    use hmac::{Hmac, Mac};
    use sha1::{Digest, Sha1};
    let p = policies(false);
    let mut s = C2sStream::new(false);
    s.on_open(&header(Some("example.test")), &p);
    let client_first_bare = "n=alice,r=clientnonce";
    let auth = Element::new("auth", ns::SASL)
        .with_attr("mechanism", "SCRAM-SHA-1")
        .with_text(b64(format!("n,,{client_first_bare}").as_bytes()));
    let actions = s.on_stanza(auth, &p);
    assert!(matches!(&actions[0], Action::LoadScram { username } if username == "alice"));
    let salt = "87478329-2978-4b1a-b6dd-3da48c01ee60";
    let creds = derive_credentials("secret", salt, 4096, ScramHash::Sha1);
    let actions = s.on_scram_loaded(Some(creds));
    let challenge_b64 = match &actions[0] {
        Action::Send(e) => e.text(),
        other => panic!("challenge expected, got {other:?}"),
    };
    let server_first = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(challenge_b64)
            .expect("base64"),
    )
    .expect("utf8");
    let nonce = server_first
        .split(',')
        .next()
        .expect("r=")
        .trim_start_matches("r=");
    assert!(nonce.starts_with("clientnonce"));
    // Client side of RFC 5802.
    let mut salted = [0u8; 20];
    pbkdf2::pbkdf2_hmac::<Sha1>(b"secret", salt.as_bytes(), 4096, &mut salted);
    let hmac = |key: &[u8], data: &[u8]| {
        let mut m = Hmac::<Sha1>::new_from_slice(key).expect("any key length");
        m.update(data);
        m.finalize().into_bytes().to_vec()
    };
    let client_key = hmac(&salted, b"Client Key");
    let stored_key = Sha1::digest(&client_key);
    let without_proof = format!("c=biws,r={nonce}");
    let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
    let signature = hmac(&stored_key, auth_message.as_bytes());
    let proof: Vec<u8> = client_key
        .iter()
        .zip(signature)
        .map(|(a, b)| a ^ b)
        .collect();
    let final_msg = format!("{without_proof},p={}", b64(&proof));
    let resp = Element::new("response", ns::SASL).with_text(b64(final_msg.as_bytes()));
    let actions = s.on_stanza(resp, &p);
    let out = sent(&actions).join("");
    assert!(out.starts_with("<success"), "{out}");
    assert!(s.is_authenticated());
}

#[test]
fn bind_without_a_resource_asks_the_core_to_pick_one() {
    let p = policies(false);
    let mut s = C2sStream::new(false);
    s.on_open(&header(Some("example.test")), &p);
    let auth = Element::new("auth", ns::SASL)
        .with_attr("mechanism", "PLAIN")
        .with_text(b64(b"\0alice\0secret"));
    s.on_stanza(auth, &p);
    s.on_plain_checked(true);
    s.on_open(&header(Some("example.test")), &p);
    let bind = Element::new("iq", ns::CLIENT)
        .with_attr("type", "set")
        .with_attr("id", "b2")
        .with_child(Element::new("bind", ns::BIND));
    let actions = s.on_stanza(bind, &p);
    assert!(
        matches!(&actions[0], Action::Bind { resource, .. } if resource.is_empty()),
        "{actions:?}"
    );
}
