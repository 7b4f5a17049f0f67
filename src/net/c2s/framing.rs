//! What differs between the transports of a c2s session: how socket bytes become XML
//! stream input and how the session's output is framed. Raw TCP (RFC 6120 §4) and
//! WebSocket (RFC 7395) implement it; a BOSH framing (XEP-0124) fits the same shape, its
//! HTTP requests feeding `feed` and its responses draining the output.

use crate::modules::limits::SessionKind;
use crate::modules::openmetrics::{LimitKind, Transport};
use crate::xml::Element;

/// One unit of input a framing decoded.
#[derive(Debug)]
pub enum Input {
    /// XML stream bytes for the parser.
    Xml(Vec<u8>),
    /// A transport-level ping: answer with [`Framing::pong`].
    Ping(Vec<u8>),
    /// A transport-level pong (answers a keepalive ping).
    Pong(Vec<u8>),
    /// The peer closed the transport-level session (a WebSocket close frame).
    PeerClosed,
    /// The framing refuses the peer's input.
    Failed(Failure),
}

/// How a framing ends a session whose peer broke its rules.
#[derive(Debug)]
pub struct Failure {
    /// For logs, monitoring and the unavailable presence.
    pub reason: &'static str,
    /// The limit that was hit, for metrics.
    pub limit: Option<LimitKind>,
    /// A stream error to send (then the stream is closed); `None`: no stream error.
    pub stream_error: Option<Element>,
    /// A transport close to write instead of the stream close (WebSocket status, reason).
    pub close: Option<(u16, &'static str)>,
}

/// The transport side of one c2s session.
pub trait Framing: Send + 'static {
    /// The session's transport as the core and Lua see it (`session.type` detail).
    const NAME: &'static str;
    /// The metrics label.
    const TRANSPORT: Transport;
    /// The mod_limits session type.
    const KIND: SessionKind;
    /// Bytes read from the socket at a time.
    const READ_SIZE: usize;
    /// Whether a stream error sent before any header needs a header first (TCP: the
    /// error is inside `<stream:stream>`; WebSocket: each frame stands alone).
    const HEADER_BEFORE_ERROR: bool;

    /// Socket bytes in.
    fn feed(&mut self, data: &[u8]);
    /// The next decoded input, `None` when more bytes are needed.
    fn next_input(&mut self) -> Option<Input>;
    /// Gives back buffers while nothing is half-decoded.
    fn release_idle(&mut self);

    /// The server's stream header.
    fn open(
        &self,
        from: Option<&str>,
        to: Option<&str>,
        id: &str,
        version: bool,
        out: &mut Vec<u8>,
    );
    /// One top-level element (stanza or stream-level element).
    fn element(&self, el: &Element, out: &mut Vec<u8>);
    /// A stanza shared by many sessions, addressed to `to`; framings that can copy its
    /// shared text instead of serialising the tree again override this.
    fn shared(&self, el: &crate::xml::Fanout, to: &str, out: &mut Vec<u8>) {
        self.element(&el.addressed(to), out);
    }
    /// The server's end of the XML stream (`</stream:stream>`, `<close/>`).
    fn close_stream(&self, out: &mut Vec<u8>);
    /// The transport-level close after the stream's (WebSocket close frame); `goodbye` when
    /// answering the peer's own transport close.
    fn end(&self, goodbye: bool, out: &mut Vec<u8>);
    /// A keepalive after `read_timeout` of silence (a WebSocket ping, a TCP space).
    fn keepalive(&self, payload: &[u8], out: &mut Vec<u8>);
    /// Answers a transport-level ping.
    fn pong(&self, payload: &[u8], out: &mut Vec<u8>);
    /// Whether keepalive pings expect pongs (a TCP space gets none).
    fn pings_answered(&self) -> bool;
}

/// Writes a stream-level element (`<stream:features>`, `<stream:error>`) with the `stream:`
/// prefix, `decls` (namespace declarations, with a leading space, or empty when the
/// enclosing document declares them) after its name, and its children in the streams
/// namespace.
pub fn write_stream_prefixed(el: &crate::xml::Element, decls: &str, s: &mut String) {
    use crate::xml::Node;
    use crate::xmpp::ns;
    s.push_str("<stream:");
    s.push_str(&el.name);
    s.push_str(decls);
    for (k, v) in &el.attrs {
        s.push(' ');
        s.push_str(k);
        s.push_str("='");
        crate::xml::escape(v, s);
        s.push('\'');
    }
    if el.children.is_empty() {
        s.push_str("/>");
        return;
    }
    s.push('>');
    for child in &el.children {
        match child {
            Node::Element(c) => c.write_xml(s, ns::STREAMS),
            Node::Text(t) => crate::xml::escape(t, s),
        }
    }
    s.push_str("</stream:");
    s.push_str(&el.name);
    s.push('>');
}
