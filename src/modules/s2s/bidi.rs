//! mod_s2s_bidi (XEP-0288, reference §17.6), sans-IO: when a stream may offer or request a
//! bidirectional stream. An incoming stream offers the feature while it is still
//! unauthenticated and either encrypted or allowed to be plain; an outgoing stream that is
//! offered it requests it before authenticating. Once authenticated, a bidi stream carries
//! stanzas both ways: the incoming side becomes the route back to the peer
//! ([`super::routes::bidi_established`]) and the outgoing side accepts the peer's stanzas.

use crate::xml::Element;

/// The stream feature an incoming stream offers.
pub const FEATURE_NS: &str = "urn:xmpp:features:bidi";
/// The element an outgoing stream sends to ask for it.
pub const NS: &str = "urn:xmpp:bidi";

/// The module name (loaded per host with `modules_enabled`, as in Prosody).
pub const MODULE_NAME: &str = "s2s_bidi";

/// Whether a stream in this state may offer (incoming) or request (outgoing) bidi:
/// Prosody's rule is "encrypted, or encryption not required" (`s2s_require_encryption`).
pub fn allowed(require_encryption: bool, secure: bool) -> bool {
    !require_encryption || secure
}

/// The feature element for an incoming stream's `<stream:features>`.
pub fn feature() -> Element {
    Element::new("bidi", FEATURE_NS)
}

/// Whether `features` (offered to an outgoing stream) include bidi.
pub fn offered(features: &Element) -> bool {
    features.get_child("bidi", FEATURE_NS).is_some()
}

/// The request an outgoing stream sends.
pub fn request() -> Element {
    Element::new("bidi", NS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xmpp::ns;

    #[test]
    fn bidi_needs_encryption_only_when_encryption_is_required() {
        assert!(allowed(true, true));
        assert!(!allowed(true, false));
        assert!(allowed(false, false));
    }

    #[test]
    fn the_offer_is_recognised_in_features_and_the_request_has_its_own_namespace() {
        let f = Element::new("features", ns::STREAMS).with_child(feature());
        assert!(offered(&f));
        assert!(!offered(&Element::new("features", ns::STREAMS)));
        let mut out = String::new();
        request().write_xml(&mut out, ns::CLIENT);
        assert_eq!(out, "<bidi xmlns='urn:xmpp:bidi'/>");
    }
}
