//! XML namespace URIs used by the core protocol and the stock modules, so that a typo in a
//! namespace is a compile error rather than a silently unmatched stanza.

/// Client-to-server stanzas (`jabber:client`).
pub const CLIENT: &str = "jabber:client";
/// Server-to-server stanzas (`jabber:server`).
pub const SERVER: &str = "jabber:server";
/// The `<stream:stream>` wrapper and `<stream:features>`/`<stream:error>`.
pub const STREAMS: &str = "http://etherx.jabber.org/streams";
/// Defined conditions inside `<stream:error>`.
pub const STREAM_ERRORS: &str = "urn:ietf:params:xml:ns:xmpp-streams";
/// Defined conditions inside a stanza `<error>`.
pub const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
/// STARTTLS negotiation.
pub const TLS: &str = "urn:ietf:params:xml:ns:xmpp-tls";
/// SASL negotiation.
pub const SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
/// Resource binding.
pub const BIND: &str = "urn:ietf:params:xml:ns:xmpp-bind";
/// Legacy session establishment (RFC 3921), still answered by Prosody.
pub const SESSION: &str = "urn:ietf:params:xml:ns:xmpp-session";
/// RFC 7395 WebSocket framing (`<open/>`, `<close/>`).
pub const FRAMING: &str = "urn:ietf:params:xml:ns:xmpp-framing";
/// XEP-0199 ping.
pub const PING: &str = "urn:xmpp:ping";
/// XEP-0030 service discovery, info.
pub const DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";
/// XEP-0030 service discovery, items.
pub const DISCO_ITEMS: &str = "http://jabber.org/protocol/disco#items";
/// RFC 6121 roster.
pub const ROSTER: &str = "jabber:iq:roster";
/// Roster versioning stream feature.
pub const ROSTER_VER: &str = "urn:xmpp:features:rosterver";
/// Subscription pre-approval stream feature.
pub const PRE_APPROVAL: &str = "urn:xmpp:features:pre-approval";
/// XEP-0115 entity capabilities.
pub const CAPS: &str = "http://jabber.org/protocol/caps";
/// XEP-0092 software version.
pub const VERSION: &str = "jabber:iq:version";
/// XEP-0202 entity time.
pub const TIME: &str = "urn:xmpp:time";
/// XEP-0090 legacy entity time.
pub const LEGACY_TIME: &str = "jabber:iq:time";
/// XEP-0012 last activity (used by mod_uptime).
pub const LAST: &str = "jabber:iq:last";
/// XEP-0077 in-band registration, IQ payload.
pub const REGISTER: &str = "jabber:iq:register";
/// XEP-0077 in-band registration, stream feature.
pub const REGISTER_FEATURE: &str = "http://jabber.org/features/iq-register";
/// XEP-0198 stream management, version 3.
pub const SM3: &str = "urn:xmpp:sm:3";
/// XEP-0352 client state indication.
pub const CSI: &str = "urn:xmpp:csi:0";
/// XEP-0203 delayed delivery.
pub const DELAY: &str = "urn:xmpp:delay";
/// XEP-0049 private XML storage.
pub const PRIVATE: &str = "jabber:iq:private";
/// XEP-0054 vcard-temp.
pub const VCARD: &str = "vcard-temp";
/// XEP-0191 blocking command.
pub const BLOCKING: &str = "urn:xmpp:blocking";
/// XEP-0280 message carbons.
pub const CARBONS: &str = "urn:xmpp:carbons:2";
/// XEP-0004 data forms.
pub const DATA_FORMS: &str = "jabber:x:data";
/// The XML namespace bound to the `xml:` prefix.
pub const XML: &str = "http://www.w3.org/XML/1998/namespace";
