//! The two header computations of the RFC 6455 opening handshake that Prosody performs:
//! the `Sec-WebSocket-Accept` value and the `xmpp` subprotocol check (reference §5.3).

use base64::Engine;
use sha1::{Digest, Sha1};

/// RFC 6455 §1.3: appended to the client's key before hashing.
const ACCEPT_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`.
///
/// ```
/// use lilt::modules::websocket::handshake::accept_key;
/// assert_eq!(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
pub fn accept_key(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(ACCEPT_GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

/// Whether a `Sec-WebSocket-Protocol` value (comma list, repeated headers joined with `,`)
/// offers the `xmpp` token; whitespace is ignored and case does not matter.
pub fn offers_xmpp(protocol_header: &str) -> bool {
    protocol_header
        .split(',')
        .any(|token| token.trim().eq_ignore_ascii_case("xmpp"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_matches_rfc_6455_example() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn xmpp_token_found_in_lists_regardless_of_case_and_spaces() {
        assert!(offers_xmpp("xmpp"));
        assert!(offers_xmpp("foo, XMPP"));
        assert!(offers_xmpp(" chat ,\txmpp ,bar"));
        assert!(offers_xmpp("foo,xmpp"));
    }

    #[test]
    fn lists_without_the_xmpp_token_are_refused() {
        assert!(!offers_xmpp(""));
        assert!(!offers_xmpp("foo"));
        assert!(!offers_xmpp("xmpp2, x-xmpp"));
        assert!(!offers_xmpp("xm pp"));
    }
}
