//! XML for XMPP streams: a sans-IO streaming parser with size and depth limits, the
//! element tree that stanzas are made of, and a serialiser that escapes as Prosody does.
//! DTDs, entity declarations, comments and processing instructions are refused.

mod builder;
mod element;
mod fanout;
mod namespaces;
mod scanner;
mod serialise;
mod stream;
mod text;

#[cfg(test)]
mod stream_tests;

pub use element::{CompactString, Element, Node};
pub use fanout::Fanout;
pub use serialise::escape;
pub use stream::{StreamEvent, StreamParser};

/// Namespace of the stream header and `stream:*` elements.
pub const STREAMS_NS: &str = "http://etherx.jabber.org/streams";
/// Namespace bound to the reserved `xml:` prefix.
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// Resource limits enforced by [`StreamParser`] while bytes arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest top-level element, and largest number of bytes buffered since the last
    /// completed top-level element. Prosody: `c2s_stanza_size_limit` (262144), or
    /// `c2s_unauthed_stanza_size_limit` (10000) before authentication.
    pub max_stanza_bytes: usize,
    /// Deepest nesting inside a stanza; the stanza itself is depth 1.
    pub max_depth: usize,
    /// Most descendant elements one stanza may have (Debian's `c2s_max_child_elements`).
    pub max_child_elements: usize,
    /// Most attributes (namespace declarations included) one element may have. Prosody has
    /// no such cap; real stanzas carry a handful, and the cap bounds what one start tag
    /// can cost to check.
    pub max_attributes: usize,
    /// Largest stream header, for the first and every restarted stream (Prosody: the
    /// unauthenticated stanza size limit, whatever the stream's stanza limit is now).
    pub max_header_bytes: usize,
}

impl Default for Limits {
    /// 262144 bytes, depth 256 (real XMPP payloads nest < 20 deep; 256 keeps the
    /// recursive derived `Clone`/`PartialEq`/`Debug` of parsed trees far from the stack
    /// limit), 25000 descendants, 5000 attributes per element, 10000-byte headers.
    fn default() -> Self {
        Limits {
            max_stanza_bytes: 262_144,
            max_depth: 256,
            max_child_elements: 25_000,
            max_attributes: 5_000,
            max_header_bytes: 10_000,
        }
    }
}

/// Why the peer's XML was rejected. Every variant is the peer's fault; the stream
/// cannot continue after one.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// Invalid UTF-8, bad syntax, mismatched tags, undeclared prefixes...
    #[error("not well-formed: {0}")]
    NotWellFormed(String),
    /// XML that XMPP forbids (RFC 6120 §11.1): DTD, entity declaration or reference,
    /// comment, processing instruction.
    #[error("restricted XML: {0}")]
    Restricted(&'static str),
    /// A stanza, or the bytes buffered waiting for one, exceeded `max_stanza_bytes`.
    #[error("stanza too large")]
    StanzaTooLarge,
    /// Elements nested deeper than `max_depth`.
    #[error("elements nested too deeply")]
    TooDeep,
    /// A stanza with more than `max_child_elements` descendants.
    #[error("too many child elements")]
    TooManyChildren,
    /// The first element is not `{http://etherx.jabber.org/streams}stream`.
    #[error("invalid namespace: expected a stream header")]
    InvalidNamespace,
    /// An element with more than `max_attributes` attributes (namespace declarations
    /// included).
    #[error("too many attributes")]
    TooManyAttributes,
}
