//! mod_tls: STARTTLS on plain TCP c2s streams (RFC 6120 §5, reference §9.2).
//!
//! What the module does once the TCP c2s transport exists: while the stream is not yet
//! encrypted, the transport runs on plain TCP and a TLS context exists for the stream's
//! host, the `stream-features` handler adds `<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`
//! (with `<required/>` when `c2s_require_encryption`, default true). On `<starttls/>`
//! the server answers `<proceed/>`, the connection task wraps its socket with
//! tokio-rustls (`net::tls::server_config` with the host's certificate), resets the XML
//! parser and waits for a fresh stream header; the session is then marked secure. If TLS
//! is impossible the answer is `<failure/>` and the stream is closed. STARTTLS is never
//! offered on direct TLS, WebSocket or BOSH. The decisions and the XML are here, sans IO;
//! [`contexts`] builds the acceptors from the configuration and `net::tcp` upgrades the
//! socket.

pub mod contexts;

/// The STARTTLS namespace.
pub const NS_TLS: &str = "urn:ietf:params:xml:ns:xmpp-tls";

/// Sent before the server starts the TLS handshake.
pub const PROCEED: &str = "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";

/// Sent when TLS cannot be negotiated; the stream is then closed.
pub const FAILURE: &str = "<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";

/// How a c2s connection reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Plain TCP (the `c2s` service): the only transport that can upgrade.
    Tcp,
    /// XEP-0368 direct TLS: already encrypted.
    DirectTls,
    /// RFC 7395 WebSocket: TLS belongs to the HTTP layer.
    WebSocket,
    /// XEP-0206 BOSH: TLS belongs to the HTTP layer.
    Bosh,
}

/// What mod_tls knows about a stream when features are offered or `<starttls/>` arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsOffer {
    pub transport: Transport,
    /// The stream is already encrypted.
    pub secure: bool,
    /// A TLS server configuration exists for the stream's host.
    pub has_context: bool,
    /// `c2s_require_encryption`.
    pub required: bool,
}

/// The answer to a `<starttls/>` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StarttlsReply {
    /// Send [`PROCEED`], then hand the socket to the TLS handshake and expect a new header.
    Proceed,
    /// Send [`FAILURE`], then close the stream (`</stream:stream>`) and the connection.
    Failure,
}

impl StarttlsReply {
    /// The element to send.
    pub fn xml(self) -> &'static str {
        match self {
            StarttlsReply::Proceed => PROCEED,
            StarttlsReply::Failure => FAILURE,
        }
    }
}

impl TlsOffer {
    /// True when this stream can be upgraded now.
    pub fn can_starttls(&self) -> bool {
        self.transport == Transport::Tcp && !self.secure && self.has_context
    }

    /// The `<starttls/>` stream feature to add, if any.
    pub fn feature(&self) -> Option<String> {
        self.can_starttls().then(|| starttls_feature(self.required))
    }

    /// How to answer a `<starttls/>` from the client.
    pub fn respond(&self) -> StarttlsReply {
        if self.can_starttls() {
            StarttlsReply::Proceed
        } else {
            StarttlsReply::Failure
        }
    }
}

/// The `<starttls/>` feature element; `<required/>` when encryption is mandatory.
pub fn starttls_feature(required: bool) -> String {
    if required {
        format!("<starttls xmlns='{NS_TLS}'><required/></starttls>")
    } else {
        format!("<starttls xmlns='{NS_TLS}'/>")
    }
}

/// True for the client's request element `{urn:ietf:params:xml:ns:xmpp-tls}starttls`.
pub fn is_starttls_request(name: &str, ns: &str) -> bool {
    name == "starttls" && ns == NS_TLS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp() -> TlsOffer {
        TlsOffer {
            transport: Transport::Tcp,
            secure: false,
            has_context: true,
            required: true,
        }
    }

    #[test]
    fn feature_carries_required_only_when_encryption_is_required() {
        assert_eq!(
            tcp().feature().as_deref(),
            Some("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>")
        );
        let optional = TlsOffer {
            required: false,
            ..tcp()
        };
        assert_eq!(
            optional.feature().as_deref(),
            Some("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        );
    }

    #[test]
    fn not_offered_on_secure_streams_other_transports_or_without_certificate() {
        for offer in [
            TlsOffer {
                secure: true,
                ..tcp()
            },
            TlsOffer {
                has_context: false,
                ..tcp()
            },
            TlsOffer {
                transport: Transport::DirectTls,
                ..tcp()
            },
            TlsOffer {
                transport: Transport::WebSocket,
                ..tcp()
            },
            TlsOffer {
                transport: Transport::Bosh,
                ..tcp()
            },
        ] {
            assert_eq!(offer.feature(), None, "{offer:?}");
            assert_eq!(offer.respond(), StarttlsReply::Failure, "{offer:?}");
        }
    }

    #[test]
    fn starttls_request_gets_proceed_when_possible() {
        assert_eq!(tcp().respond(), StarttlsReply::Proceed);
        assert_eq!(
            tcp().respond().xml(),
            "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
        );
        assert_eq!(
            StarttlsReply::Failure.xml(),
            "<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
        );
    }

    #[test]
    fn only_the_tls_namespace_starttls_is_a_request() {
        assert!(is_starttls_request("starttls", NS_TLS));
        assert!(!is_starttls_request("starttls", "jabber:client"));
        assert!(!is_starttls_request("proceed", NS_TLS));
    }
}

#[cfg(test)]
mod stream_tests;
