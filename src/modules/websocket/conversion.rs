//! RFC 7395 framing conversion (reference §5.4): a client's `<open/>` and `<close/>` become
//! the `<stream:stream>` header and footer the c2s stream parser expects; everything else is
//! passed through verbatim. Outgoing helpers build the server's `<open/>` and `<close/>`.
//! `stanza_frame(&Element)` belongs with `lilt::xml` (another slice); [`stream_element_frame`]
//! covers the `stream:*` special case it needs.

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

/// `urn:ietf:params:xml:ns:xmpp-framing`.
pub const FRAMING_NS: &str = "urn:ietf:params:xml:ns:xmpp-framing";
/// `http://etherx.jabber.org/streams`.
pub const STREAMS_NS: &str = "http://etherx.jabber.org/streams";
/// The frame the server sends to end the stream.
pub const CLOSE_FRAME: &str = "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>";
/// What a client's `<close/>` turns into.
pub const STREAM_FOOTER: &str = "</stream:stream>";

/// Converts one incoming text frame payload into stream text.
///
/// ```
/// use lilt::modules::websocket::conversion::frame_to_stream;
/// let open = "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='example.com' version='1.0'/>";
/// assert_eq!(frame_to_stream(open),
///     "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0'>");
/// ```
pub fn frame_to_stream(payload: &str) -> Cow<'_, str> {
    if !payload.contains(FRAMING_NS) {
        return Cow::Borrowed(payload);
    }
    match single_framing_element(payload) {
        Some(Framing::Open(attrs)) => {
            let mut out = String::with_capacity(payload.len() + 48);
            out.push_str("<stream:stream xmlns:stream='");
            out.push_str(STREAMS_NS);
            out.push('\'');
            for (name, value) in &attrs {
                push_attr(&mut out, name, value);
            }
            out.push('>');
            Cow::Owned(out)
        }
        Some(Framing::Close) => Cow::Borrowed(STREAM_FOOTER),
        None => Cow::Borrowed(payload),
    }
}

enum Framing {
    /// Attributes of `<open/>` minus the default namespace and any `xmlns:stream`.
    Open(Vec<(String, String)>),
    Close,
}

/// `Some` only when the payload is exactly one well-formed element named `open` or `close`
/// in the framing namespace (two elements in one frame are passed through, as in Prosody).
fn single_framing_element(payload: &str) -> Option<Framing> {
    let mut reader = NsReader::from_str(payload);
    let mut root: Option<Framing> = None;
    let mut depth = 0usize;
    let mut done = false;
    loop {
        let (ns, event) = reader.read_resolved_event().ok()?;
        match event {
            Event::Eof => break,
            Event::Decl(_) | Event::Comment(_) if depth == 0 && !done && root.is_none() => {}
            Event::Text(t) if depth == 0 => {
                if !t.iter().all(u8::is_ascii_whitespace) {
                    return None;
                }
            }
            Event::Start(_) | Event::Empty(_) if depth > 0 => {
                if matches!(event, Event::Start(_)) {
                    depth += 1;
                }
            }
            Event::Start(ref e) | Event::Empty(ref e) => {
                if done {
                    return None;
                }
                root = Some(classify(&ns, e)?);
                if matches!(event, Event::Start(_)) {
                    depth = 1;
                } else {
                    done = true;
                }
            }
            Event::End(_) => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    done = true;
                }
            }
            _ if depth > 0 => {}
            _ => return None,
        }
    }
    if done {
        root
    } else {
        None
    }
}

fn classify(ns: &ResolveResult<'_>, e: &BytesStart<'_>) -> Option<Framing> {
    match ns {
        ResolveResult::Bound(bound) if bound.as_ref() == FRAMING_NS.as_bytes() => {}
        _ => return None,
    }
    match e.local_name().as_ref() {
        b"close" => Some(Framing::Close),
        b"open" => {
            let mut attrs = Vec::new();
            for attr in e.attributes() {
                let attr = attr.ok()?;
                let name = std::str::from_utf8(attr.key.as_ref()).ok()?;
                if name == "xmlns" || name == "xmlns:stream" {
                    continue;
                }
                let value = attr.unescape_value().ok()?;
                attrs.push((name.to_owned(), value.into_owned()));
            }
            Some(Framing::Open(attrs))
        }
        _ => None,
    }
}

fn push_attr(out: &mut String, name: &str, value: &str) {
    out.push(' ');
    out.push_str(name);
    out.push_str("='");
    escape_into(value, out);
    out.push('\'');
}

/// XML-escapes text for a single-quoted attribute value.
fn escape_into(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

/// The server's stream header frame (§5.4): `version` is always 1.0.
pub fn open_frame(from: &str, to: Option<&str>, id: &str, lang: &str) -> String {
    let mut out = String::with_capacity(160);
    out.push_str("<open xmlns='");
    out.push_str(FRAMING_NS);
    out.push('\'');
    push_attr(&mut out, "xml:lang", lang);
    push_attr(&mut out, "version", "1.0");
    push_attr(&mut out, "id", id);
    push_attr(&mut out, "from", from);
    if let Some(to) = to {
        push_attr(&mut out, "to", to);
    }
    out.push_str("/>");
    out
}

/// An outgoing `stream:*` element (`features`, `error`) as Prosody frames it:
/// `<stream:NAME xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' ...>`.
/// `children_xml` is the serialised children, each carrying its own `xmlns`.
///
/// ```
/// use lilt::modules::websocket::conversion::stream_element_frame;
/// assert_eq!(stream_element_frame("features", &[], ""),
///     "<stream:features xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'/>");
/// ```
pub fn stream_element_frame(name: &str, attrs: &[(String, String)], children_xml: &str) -> String {
    let mut out = String::with_capacity(96 + children_xml.len());
    out.push_str("<stream:");
    out.push_str(name);
    out.push_str(" xmlns='jabber:client' xmlns:stream='");
    out.push_str(STREAMS_NS);
    out.push('\'');
    for (k, v) in attrs {
        push_attr(&mut out, k, v);
    }
    if children_xml.is_empty() {
        out.push_str("/>");
    } else {
        out.push('>');
        out.push_str(children_xml);
        out.push_str("</stream:");
        out.push_str(name);
        out.push('>');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_becomes_stream_header_without_default_namespace() {
        let got = frame_to_stream(
            "<open xmlns=\"urn:ietf:params:xml:ns:xmpp-framing\" to=\"example.com\" xml:lang=\"en\" version=\"1.0\"/>",
        );
        assert_eq!(
            got,
            "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' to='example.com' xml:lang='en' version='1.0'>"
        );
    }

    #[test]
    fn open_attribute_values_are_reescaped() {
        let got = frame_to_stream(
            "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='a&amp;b&apos;' />",
        );
        assert!(got.ends_with(" to='a&amp;b&apos;'>"), "{got}");
    }

    #[test]
    fn open_with_prefix_and_whitespace_is_still_converted() {
        let got = frame_to_stream(
            "  <f:open xmlns:f='urn:ietf:params:xml:ns:xmpp-framing' to='x'></f:open>\n",
        );
        assert!(got.starts_with("<stream:stream "), "{got}");
    }

    #[test]
    fn close_becomes_stream_footer() {
        assert_eq!(
            frame_to_stream("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>"),
            "</stream:stream>"
        );
    }

    #[test]
    fn two_elements_in_one_frame_pass_through() {
        let two = "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing'/><close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>";
        assert_eq!(frame_to_stream(two), two);
    }

    #[test]
    fn open_in_another_namespace_passes_through() {
        let other = "<open xmlns='jabber:client' to='x'/>";
        assert_eq!(frame_to_stream(other), other);
        let mention = "<message xmlns='jabber:client'><body>urn:ietf:params:xml:ns:xmpp-framing</body></message>";
        assert_eq!(frame_to_stream(mention), mention);
    }

    #[test]
    fn stanzas_and_legacy_headers_pass_through_verbatim() {
        for s in [
            "<iq xmlns='jabber:client' type='get' id='1'/>",
            "<stream:stream to='x' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>",
            "<broken",
        ] {
            assert!(matches!(frame_to_stream(s), Cow::Borrowed(b) if b == s));
        }
    }

    #[test]
    fn server_open_frame_carries_version_and_escaped_values() {
        assert_eq!(
            open_frame("example.com", Some("a'b@example.com"), "id1", "en"),
            "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' xml:lang='en' version='1.0' id='id1' from='example.com' to='a&apos;b@example.com'/>"
        );
        assert!(!open_frame("h", None, "i", "en").contains(" to="));
    }

    #[test]
    fn stream_elements_get_client_and_stream_namespaces() {
        let children = "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>";
        assert_eq!(
            stream_element_frame("features", &[], children),
            "<stream:features xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/></stream:features>"
        );
        let attrs = vec![("id".to_owned(), "a'b".to_owned())];
        assert!(stream_element_frame("error", &attrs, "").ends_with(" id='a&apos;b'/>"));
    }
}
