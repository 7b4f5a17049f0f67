//! One s2s connection's bytes: a TCP socket, upgraded in place to TLS (client side for
//! outgoing streams, server side for incoming ones), the stream parser, and writes in the
//! `jabber:server` wire form (stanzas held as `jabber:client` go out without `xmlns`;
//! incoming `jabber:server` stanzas are turned into `jabber:client` ones for the core).

use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector, TlsStream};

use crate::modules::limits::{SessionKind, SessionLimits};
use crate::net::tcp::serialise;
use crate::xml::{escape, Element, Limits, Node, StreamEvent, StreamParser, XmlError};
use crate::xmpp::error::{StreamCondition, StreamError};
use crate::xmpp::ns;

/// Prosody reads 4 KiB at a time; the stanza size check relies on small reads.
const READ_SIZE: usize = 4096;

/// Why a connection ended.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnError {
    #[error("connection closed")]
    Closed,
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The peer's XML was bad; the stream error to send is attached.
    #[error("{0}")]
    Xml(XmlError),
    #[error("TLS handshake failed: {0}")]
    Tls(std::io::Error),
}

enum Socket {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    Gone,
}

pub struct Conn {
    sock: Socket,
    parser: StreamParser,
    rbuf: Vec<u8>,
    pub out: String,
    /// Our header for the current stream was written.
    pub header_sent: bool,
    send_timeout: Duration,
    /// mod_limits (`limits.s2sin`/`limits.s2sout`): while throttled the socket is simply
    /// not read until `resume_at` (back-pressure, no buffering).
    limits: Option<SessionLimits>,
    resume_at: Option<tokio::time::Instant>,
}

impl Conn {
    /// A new connection; `kind` picks its `limits.*` read rate.
    pub fn open(
        shared: &crate::core::Shared,
        tcp: TcpStream,
        max_stanza: usize,
        kind: SessionKind,
    ) -> Self {
        let ip = tcp.peer_addr().ok().map(|a| a.ip());
        Self::new(tcp, max_stanza).with_limits(SessionLimits::new(shared, kind, ip))
    }

    pub fn new(tcp: TcpStream, max_stanza: usize) -> Self {
        Conn {
            sock: Socket::Plain(tcp),
            parser: new_parser(max_stanza),
            rbuf: vec![0; READ_SIZE],
            out: String::new(),
            header_sent: false,
            send_timeout: Duration::from_secs(180),
            limits: None,
            resume_at: None,
        }
    }

    /// Applies mod_limits' read rate for this kind of session (when mod_limits is loaded).
    pub fn with_limits(mut self, limits: SessionLimits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// The remote domain is in `unlimited_jids`: no read rate any more.
    pub fn lift_limits(&mut self) {
        if let Some(l) = &mut self.limits {
            l.lift();
        }
    }

    /// Switches the stanza size limit (from the unauthenticated one once authenticated).
    pub fn set_max_stanza(&mut self, n: usize) {
        self.parser.set_max_stanza_bytes(n);
    }

    /// The default namespace the peer's stream header declared.
    pub fn default_ns(&self) -> &str {
        self.parser.default_ns()
    }

    pub fn is_tls(&self) -> bool {
        matches!(self.sock, Socket::Tls(_))
    }

    /// The peer's certificate chain (empty without TLS or without a certificate).
    pub fn peer_certificates(&self) -> Vec<CertificateDer<'static>> {
        let Socket::Tls(tls) = &self.sock else {
            return Vec::new();
        };
        let certs = match tls.as_ref() {
            TlsStream::Client(c) => c.get_ref().1.peer_certificates(),
            TlsStream::Server(s) => s.get_ref().1.peer_certificates(),
        };
        certs
            .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
            .unwrap_or_default()
    }

    /// The next stream event, reading as needed. Cancel-safe: an interrupted read loses
    /// nothing, parsed events stay queued in the parser.
    pub async fn next_event(&mut self) -> Result<StreamEvent, ConnError> {
        loop {
            match self.parser.next_event() {
                Ok(Some(ev)) => return Ok(ev),
                Ok(None) => {}
                Err(e) => return Err(ConnError::Xml(e)),
            }
            if let Some(at) = self.resume_at {
                tokio::time::sleep_until(at).await;
                self.resume_at = None;
            }
            let n = match &mut self.sock {
                Socket::Plain(s) => s.read(&mut self.rbuf).await?,
                Socket::Tls(s) => s.read(&mut self.rbuf).await?,
                Socket::Gone => return Err(ConnError::Closed),
            };
            if n == 0 {
                return Err(ConnError::Closed);
            }
            if let Some(pause) = self.limits.as_mut().and_then(|l| l.after_read(n)) {
                self.resume_at = Some(tokio::time::Instant::now() + pause);
            }
            if let Err(e) = self.parser.feed(&self.rbuf[..n]) {
                // Events before the error are still delivered; the error comes after.
                tracing::debug!("s2s: bad XML from peer: {e}");
            }
        }
    }

    /// Queues one element in wire form.
    pub fn push(&mut self, el: &Element) {
        if el.ns == ns::STREAMS {
            serialise::write_element(el, &mut self.out);
        } else {
            el.write_xml(&mut self.out, ns::CLIENT);
        }
    }

    /// Queues our stream header.
    pub fn push_header(&mut self, from: Option<&str>, to: Option<&str>, id: Option<&str>) {
        self.out.push_str(&header(from, to, id));
        self.header_sent = true;
    }

    /// Writes everything queued.
    pub async fn flush(&mut self) -> Result<(), ConnError> {
        if self.out.is_empty() {
            return Ok(());
        }
        let data = std::mem::take(&mut self.out);
        let write = async {
            match &mut self.sock {
                Socket::Plain(s) => s.write_all(data.as_bytes()).await,
                Socket::Tls(s) => {
                    s.write_all(data.as_bytes()).await?;
                    s.flush().await
                }
                Socket::Gone => Err(std::io::ErrorKind::NotConnected.into()),
            }
        };
        match tokio::time::timeout(self.send_timeout, write).await {
            Ok(r) => r.map_err(ConnError::Io),
            Err(_) => Err(ConnError::Io(std::io::ErrorKind::TimedOut.into())),
        }
    }

    /// Sends a stream error (after a header of ours if none went out yet) and the closing
    /// tag, then shuts the socket down.
    pub async fn close(&mut self, error: Option<Element>) {
        if !self.header_sent {
            self.push_header(None, None, None);
        }
        if let Some(e) = error {
            self.push(&e);
        }
        self.out.push_str(serialise::CLOSE);
        let _ = self.flush().await;
        let _ = match &mut self.sock {
            Socket::Plain(s) => s.shutdown().await,
            Socket::Tls(s) => s.shutdown().await,
            Socket::Gone => Ok(()),
        };
    }

    /// Client-side TLS on the plain socket (STARTTLS after `<proceed/>`, or direct TLS).
    pub async fn tls_connect(
        &mut self,
        connector: &TlsConnector,
        domain: &str,
        timeout: Duration,
    ) -> Result<(), ConnError> {
        let Socket::Plain(tcp) = std::mem::replace(&mut self.sock, Socket::Gone) else {
            return Err(ConnError::Closed);
        };
        let name = ServerName::try_from(domain.to_owned())
            .map_err(|e| ConnError::Tls(std::io::Error::other(e.to_string())))?;
        let tls = tokio::time::timeout(timeout, connector.connect(name, tcp))
            .await
            .map_err(|_| ConnError::Tls(std::io::ErrorKind::TimedOut.into()))?
            .map_err(ConnError::Tls)?;
        self.sock = Socket::Tls(Box::new(TlsStream::Client(tls)));
        self.restart();
        Ok(())
    }

    /// Server-side TLS on the plain socket (after `<proceed/>`, or a direct-TLS accept).
    pub async fn tls_accept(
        &mut self,
        acceptor: &TlsAcceptor,
        timeout: Duration,
    ) -> Result<(), ConnError> {
        let Socket::Plain(tcp) = std::mem::replace(&mut self.sock, Socket::Gone) else {
            return Err(ConnError::Closed);
        };
        let tls = crate::net::tls::accept_tls(acceptor, tcp, timeout)
            .await
            .map_err(ConnError::Tls)?;
        self.sock = Socket::Tls(Box::new(TlsStream::Server(tls)));
        self.restart();
        Ok(())
    }

    /// A stream restart (after TLS or SASL): a new parser, a new header owed.
    pub fn restart(&mut self) {
        self.parser.reset();
        self.header_sent = false;
    }
}

fn new_parser(max_stanza: usize) -> StreamParser {
    StreamParser::new(Limits {
        max_stanza_bytes: max_stanza,
        ..Limits::default()
    })
    .with_default_lang("en")
}

/// `<?xml version='1.0'?><stream:stream xmlns='jabber:server' ...>` with `xmlns:db` (we
/// always speak dialback) and version 1.0.
pub fn header(from: Option<&str>, to: Option<&str>, id: Option<&str>) -> String {
    let mut s = String::with_capacity(256);
    s.push_str("<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='");
    s.push_str(ns::STREAMS);
    s.push_str("' xmlns:db='jabber:server:dialback' xml:lang='en'");
    for (name, value) in [("id", id), ("from", from), ("to", to)] {
        if let Some(v) = value {
            s.push(' ');
            s.push_str(name);
            s.push_str("='");
            escape(v, &mut s);
            s.push('\'');
        }
    }
    s.push_str(" version='1.0'>");
    s
}

/// The stream error for bad XML from the peer.
pub fn xml_error(e: &XmlError) -> Element {
    match e {
        XmlError::StanzaTooLarge => StreamError::new(StreamCondition::PolicyViolation)
            .with_text("XML stanza is too big")
            .element(),
        XmlError::InvalidNamespace => StreamError::new(StreamCondition::InvalidNamespace).element(),
        _ => StreamError::new(StreamCondition::NotWellFormed).element(),
    }
}

/// Moves a stanza received on a `jabber:server` stream into `jabber:client`, the namespace
/// the core keeps stanzas in (its children in `jabber:server` too).
pub fn to_client_ns(mut el: Element) -> Element {
    let mut stack: Vec<&mut Element> = vec![&mut el];
    while let Some(e) = stack.pop() {
        if e.ns == ns::SERVER {
            e.ns = ns::CLIENT.into();
        }
        for c in &mut e.children {
            if let Node::Element(c) = c {
                stack.push(c);
            }
        }
    }
    el
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_stanzas_become_client_stanzas_with_their_children() {
        let el = Element::new("message", ns::SERVER)
            .with_child(Element::new("body", ns::SERVER).with_text("hi"))
            .with_child(Element::new("x", "urn:other"));
        let el = to_client_ns(el);
        assert_eq!(el.ns, ns::CLIENT);
        let kids: Vec<&str> = el.child_elements().map(|c| c.ns.as_str()).collect();
        assert_eq!(kids, [ns::CLIENT, "urn:other"]);
    }

    #[test]
    fn client_stanzas_go_out_without_xmlns_and_dialback_with_its_own() {
        let mut out = String::new();
        Element::new("message", ns::CLIENT)
            .with_attr("to", "b@b.test")
            .write_xml(&mut out, ns::CLIENT);
        assert_eq!(out, "<message to='b@b.test'/>");
        let h = header(Some("a.test"), Some("b.test"), Some("x1"));
        assert!(h.contains("xmlns='jabber:server'") && h.contains("id='x1'"));
    }
}
