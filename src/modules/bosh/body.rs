//! BOSH request and response bodies (XEP-0124 §4): the request `<body>` parsed with the
//! stream parser's limits, its payload re-serialised in `jabber:client` for the c2s
//! session, and the response bodies Prosody 0.12 sends, attribute for attribute.

use crate::xml::{Element, Limits, Node, StreamEvent, StreamParser, XmlError};
use crate::xmpp::ns;

pub const NS_HTTPBIND: &str = "http://jabber.org/protocol/httpbind";
pub const NS_XBOSH: &str = "urn:xmpp:xbosh";

/// A parsed request body.
#[derive(Debug)]
pub struct Body {
    pub el: Element,
    /// The child elements serialised for the c2s parser (empty: no payload).
    pub payload: Vec<u8>,
    /// The `<body>` start tag parsed but what followed did not ([`start_tag`]).
    pub broken: Option<Broken>,
}

/// How the payload of a body whose start tag parsed was broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broken {
    /// A syntax error: the request is refused with `bad-request` (its rid still counts).
    Syntax,
    /// XML that XMPP forbids: the session ends with `bad-format`.
    Forbidden,
}

impl Body {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.el.attr(name)
    }

    pub fn sid(&self) -> Option<&str> {
        self.attr("sid")
    }

    /// `rid` as Prosody reads it (`tonumber`): integral values only here.
    pub fn rid(&self) -> Option<u64> {
        self.attr("rid")?.trim().parse().ok()
    }

    pub fn is_terminate(&self) -> bool {
        self.attr("type") == Some("terminate")
    }

    pub fn is_restart(&self) -> bool {
        self.attr(&format!("{{{NS_XBOSH}}}restart")) == Some("true")
    }
}

/// Why a request body was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BodyError {
    #[error("not well-formed or over the size limit: {0}")]
    Xml(String),
    /// XML that XMPP forbids (comments, processing instructions, DTDs) or a stanza with
    /// too many children: Prosody's stream parser reports these to the session, which
    /// ends with `bad-format`; plain syntax errors only refuse the request.
    #[error("{0}")]
    Forbidden(String),
    #[error("the request is not a BOSH <body/>")]
    NotBody,
    #[error("incomplete request body")]
    Incomplete,
}

/// Parses one request body; `max_bytes`: `c2s_stanza_size_limit`.
pub fn parse(raw: &[u8], max_bytes: usize) -> Result<Body, BodyError> {
    let mut p = StreamParser::new(Limits {
        max_stanza_bytes: max_bytes,
        max_header_bytes: max_bytes,
        ..Limits::default()
    });
    let open = format!(
        "<stream:stream xmlns='{}' xmlns:stream='{}'>",
        ns::CLIENT,
        ns::STREAMS
    );
    let xml = |e: crate::xml::XmlError| match e {
        XmlError::Restricted(_) | XmlError::TooManyChildren => BodyError::Forbidden(e.to_string()),
        e => BodyError::Xml(e.to_string()),
    };
    p.feed(open.as_bytes()).map_err(xml)?;
    p.feed(raw).map_err(xml)?;
    let mut body = None;
    loop {
        match p.next_event().map_err(xml)? {
            Some(StreamEvent::Stanza(el)) if body.is_none() => body = Some(el),
            Some(StreamEvent::Open(_)) => {}
            Some(_) => return Err(BodyError::NotBody),
            None => break,
        }
    }
    let mut el = body.ok_or(BodyError::Incomplete)?;
    if el.name != "body" || el.ns != NS_HTTPBIND {
        return Err(BodyError::NotBody);
    }
    let mut payload = String::new();
    for child in &mut el.children {
        if let Node::Element(c) = child {
            to_client_ns(c);
            c.write_xml(&mut payload, "");
        }
    }
    el.children.clear();
    Ok(Body {
        el,
        payload: payload.into_bytes(),
        broken: None,
    })
}

/// The `<body>` start tag of a request whose whole did not parse, so a broken payload
/// can be told to its session (Prosody's parser has read the tag, and so the `sid` and
/// `rid`, before it meets the error). `None` when the tag itself is not a body's.
pub fn start_tag(raw: &[u8], max_bytes: usize, broken: Broken) -> Option<Body> {
    let end = raw.iter().position(|&b| b == b'>')?;
    if end == 0 || raw[end - 1] == b'/' {
        return None;
    }
    let mut alone = raw[..=end].to_vec();
    alone.extend_from_slice(b"</body>");
    let mut body = parse(&alone, max_bytes).ok()?;
    body.broken = Some(broken);
    Some(body)
}

/// Children that inherited the body's namespace are `jabber:client` stanzas (Prosody's
/// stream default namespace for BOSH).
fn to_client_ns(el: &mut Element) {
    let mut stack = vec![el];
    while let Some(e) = stack.pop() {
        if e.ns == NS_HTTPBIND {
            e.ns = ns::CLIENT.into();
        }
        for c in &mut e.children {
            if let Node::Element(c) = c {
                stack.push(c);
            }
        }
    }
}

/// `<body type='terminate' condition=…/>` as Prosody writes it; `stream_ns`: with the
/// `xmlns:stream` declaration (most refusals), `newline`: the trailing `\n` of the
/// unknown-session answer.
pub fn terminate(condition: &str, stream_ns: bool, newline: bool) -> String {
    let mut s = format!("<body xmlns='{NS_HTTPBIND}' type='terminate'");
    if stream_ns {
        s.push_str(&format!(" xmlns:stream='{}'", ns::STREAMS));
    }
    s.push_str(&format!(" condition='{condition}'/>"));
    if newline {
        s.push('\n');
    }
    s
}

/// What the session-creation response adds to the body's attributes.
#[derive(Debug, Clone)]
pub struct Creation {
    pub inactivity: u64,
    pub polling: u64,
    pub wait: u64,
    pub from: String,
}

/// The opening tag of a response body of session `sid`.
pub fn response_open(sid: &str, terminate: bool, creation: Option<&Creation>, out: &mut String) {
    out.push_str("<body xmlns='");
    out.push_str(NS_HTTPBIND);
    out.push_str("' xmlns:stream='");
    out.push_str(ns::STREAMS);
    out.push('\'');
    if terminate {
        out.push_str(" type='terminate'");
    }
    out.push_str(" sid='");
    out.push_str(sid);
    out.push('\'');
    if let Some(c) = creation {
        out.push_str(&format!(
            " requests='2' hold='1' inactivity='{}' polling='{}' wait='{}' authid='{sid}' \
             secure='true' ver='1.6' from='",
            c.inactivity, c.polling, c.wait
        ));
        crate::xml::escape(&c.from, out);
        out.push_str(&format!("' xmlns:xmpp='{NS_XBOSH}' xmpp:version='1.0'"));
    }
    out.push('>');
}

/// The body a server-side close answers held requests with: `remote-stream-error` and the
/// `<stream:error>` when there was one.
pub fn server_close(error: Option<&str>) -> String {
    let mut s = format!(
        "<body xmlns='{NS_HTTPBIND}' type='terminate' xmlns:stream='{}'",
        ns::STREAMS
    );
    match error {
        Some(e) => {
            s.push_str(" condition='remote-stream-error'>");
            s.push_str(e);
            s.push_str("</body>");
        }
        None => s.push_str("/>"),
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_in_the_body_namespace_becomes_jabber_client_and_attrs_are_read() {
        let raw = b"<body xmlns='http://jabber.org/protocol/httpbind' rid='42' sid='s1' \
                    xmlns:xmpp='urn:xmpp:xbosh' xmpp:restart='true'>\
                    <message to='a@b'><body>hi</body></message>\
                    <auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>x</auth></body>";
        let b = parse(raw, 10_000).expect("body");
        assert_eq!(b.rid(), Some(42));
        assert_eq!(b.sid(), Some("s1"));
        assert!(b.is_restart());
        assert_eq!(
            String::from_utf8_lossy(&b.payload),
            "<message xmlns='jabber:client' to='a@b'><body>hi</body></message>\
             <auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>x</auth>"
        );
    }

    #[test]
    fn bad_xml_other_roots_and_oversized_bodies_are_refused() {
        assert!(matches!(
            parse(b"<body xmlns='x'/>", 1000),
            Err(BodyError::NotBody)
        ));
        assert!(matches!(parse(b"<body", 1000), Err(BodyError::Incomplete)));
        assert!(matches!(parse(b"<a><b></a>", 1000), Err(BodyError::Xml(_))));
        let big = format!(
            "<body xmlns='{NS_HTTPBIND}'><message>{}</message></body>",
            "x".repeat(5000)
        );
        assert!(matches!(
            parse(big.as_bytes(), 1000),
            Err(BodyError::Xml(_))
        ));
    }

    #[test]
    fn creation_response_carries_prosodys_attributes() {
        let mut s = String::new();
        let c = Creation {
            inactivity: 60,
            polling: 5,
            wait: 60,
            from: "example.test".into(),
        };
        response_open("abc", false, Some(&c), &mut s);
        assert_eq!(
            s,
            "<body xmlns='http://jabber.org/protocol/httpbind' \
             xmlns:stream='http://etherx.jabber.org/streams' sid='abc' requests='2' hold='1' \
             inactivity='60' polling='5' wait='60' authid='abc' secure='true' ver='1.6' \
             from='example.test' xmlns:xmpp='urn:xmpp:xbosh' xmpp:version='1.0'>"
        );
    }

    #[test]
    fn the_start_tag_of_a_broken_body_still_names_its_session() {
        let raw = b"<body xmlns='http://jabber.org/protocol/httpbind' rid='7' sid='s1'>\
                    <message><unclosed></message></body>";
        assert!(matches!(parse(raw, 10_000), Err(BodyError::Xml(_))));
        let raw = b"<body xmlns='http://jabber.org/protocol/httpbind' rid='7' sid='s1'>\
                    <!-- a comment --></body>";
        assert!(matches!(parse(raw, 10_000), Err(BodyError::Forbidden(_))));
        let b = start_tag(raw, 10_000, Broken::Syntax).expect("start tag");
        assert_eq!(b.broken, Some(Broken::Syntax));
        assert_eq!((b.sid(), b.rid()), (Some("s1"), Some(7)));
        assert!(b.payload.is_empty());
        // Not a body at all, or a whole body that is empty: nothing to tell a session.
        assert!(start_tag(b"<iq sid='s1'><x></iq>", 10_000, Broken::Syntax).is_none());
        assert!(start_tag(
            b"<body xmlns='http://jabber.org/protocol/httpbind' sid='s1'/>",
            10_000,
            Broken::Syntax
        )
        .is_none());
    }
}
