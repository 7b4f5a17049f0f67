//! Server dialback keys (XEP-0220, reference §17.4): the key an originating server sends in
//! `<db:result>` and that its authoritative server confirms in `<db:verify>`. Sans-IO: the
//! connection tasks build and check keys here and move the elements.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::xml::Element;

/// `jabber:server:dialback`.
pub const NS: &str = "jabber:server:dialback";
/// The stream feature advertising dialback (XEP-0220 §2.4).
pub const FEATURE_NS: &str = "urn:xmpp:features:dialback";

/// The dialback secret as Prosody keys its HMAC with it: the hex SHA-256 of
/// `dialback_secret` (a fresh UUID per start when the option is unset).
#[derive(Clone)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    pub fn new(dialback_secret: &str) -> Self {
        Secret(hex::encode(Sha256::digest(dialback_secret.as_bytes())))
    }

    /// A per-process secret, as Prosody's default.
    pub fn random() -> Self {
        Self::new(&uuid::Uuid::new_v4().to_string())
    }

    /// The key `originating` sends `receiving` on the stream `receiving` gave `stream_id`:
    /// hex HMAC-SHA256 of `"<receiving> <originating> <stream id>"`.
    pub fn key(&self, stream_id: &str, receiving: &str, originating: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.as_bytes())
            .expect("HMAC accepts keys of any length");
        mac.update(format!("{receiving} {originating} {stream_id}").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether `key` is ours for that stream, compared in constant time.
    pub fn verify(&self, stream_id: &str, receiving: &str, originating: &str, key: &str) -> bool {
        let expected = self.key(stream_id, receiving, originating);
        expected.len() == key.len()
            && expected
                .bytes()
                .zip(key.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

/// `<db:result from to>key</db:result>` (the originating server's claim).
pub fn result_request(from: &str, to: &str, key: &str) -> Element {
    Element::new("result", NS)
        .with_attr("from", from)
        .with_attr("to", to)
        .with_text(key)
}

/// `<db:verify from to id>key</db:verify>` (the receiving server asks the authoritative one).
pub fn verify_request(from: &str, to: &str, id: &str, key: &str) -> Element {
    Element::new("verify", NS)
        .with_attr("from", from)
        .with_attr("to", to)
        .with_attr("id", id)
        .with_text(key)
}

/// A typed answer (`valid`/`invalid`) to a `result` or `verify` request.
pub fn answer(
    name: &str,
    from: &str,
    to: &str,
    id: Option<&str>,
    valid: bool,
    key: &str,
) -> Element {
    let mut el = Element::new(name, NS)
        .with_attr("from", from)
        .with_attr("to", to);
    if let Some(id) = id {
        el.set_attr("id", id);
    }
    el.set_attr("type", if valid { "valid" } else { "invalid" });
    if key.is_empty() {
        el
    } else {
        el.with_text(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_the_hmac_of_receiving_originating_and_stream_id_under_the_hashed_secret() {
        // XEP-0220's example inputs; the value is what Prosody 0.12's mod_dialback computes
        // for them (util.hashes: hmac_sha256(sha256(secret, hex), msg, hex)), so a key made
        // by either server is recognised as its own by the other's algorithm.
        let s = Secret::new("s3cr3tf0rd14lb4ck");
        let key = s.key("D60000229F", "example.net", "example.com");
        assert_eq!(
            key,
            "008c689ff366b50c63d69a3e2d2c0e0e1f8404b0118eb688a0102c87cb691bdc"
        );
        assert!(s.verify("D60000229F", "example.net", "example.com", &key));
    }

    #[test]
    fn a_key_for_another_stream_pair_or_secret_is_refused() {
        let s = Secret::new("one");
        let key = s.key("id1", "b.test", "a.test");
        assert!(!s.verify("id2", "b.test", "a.test", &key));
        assert!(!s.verify("id1", "a.test", "b.test", &key));
        assert!(!Secret::new("two").verify("id1", "b.test", "a.test", &key));
        assert!(!s.verify("id1", "b.test", "a.test", ""));
    }

    #[test]
    fn answers_carry_type_id_and_key() {
        let a = answer("verify", "b.test", "a.test", Some("x1"), false, "k");
        assert_eq!(a.attr("type"), Some("invalid"));
        assert_eq!(a.attr("id"), Some("x1"));
        assert_eq!(a.text(), "k");
    }
}
