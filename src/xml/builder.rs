//! Turns quick-xml events for complete tokens into stream events: checks the stream
//! header, resolves namespaces, builds each top-level stanza and enforces the depth,
//! child-count and per-stanza size limits.

use std::borrow::Cow;
use std::collections::VecDeque;

use quick_xml::events::{BytesDecl, BytesStart, Event};
use quick_xml::Reader;

use super::element::{CompactString, Element, Node};
use super::namespaces::Namespaces;
use super::stream::StreamEvent;
use super::text::{check_chars, is_ncname, split_qname, unescape};
use super::{Limits, XmlError, STREAMS_NS};

/// UTF-8 encoding of U+FEFF, the byte-order mark.
pub(super) const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

fn nwf(reason: impl Into<String>) -> XmlError {
    XmlError::NotWellFormed(reason.into())
}

/// Length of the longest prefix of `seg` that `check_chars` accepts.
fn valid_prefix_len(seg: &[u8]) -> usize {
    let utf8 = match std::str::from_utf8(seg) {
        Ok(_) => seg.len(),
        Err(e) => e.valid_up_to(),
    };
    let mut end = utf8;
    for (i, w) in seg[..utf8].iter().enumerate() {
        let c = *w;
        let bad_control = c < 0x20 && c != b'\t' && c != b'\n' && c != b'\r';
        let bad_nonchar = c == 0xEF
            && seg.get(i + 1) == Some(&0xBF)
            && matches!(seg.get(i + 2), Some(0xBE | 0xBF));
        if bad_control || bad_nonchar {
            end = i;
            break;
        }
    }
    end
}

/// Prosody refuses a declaration for anything but UTF-8 XML 1.0.
fn check_decl(d: &BytesDecl<'_>) -> Result<(), XmlError> {
    let restricted = XmlError::Restricted("XML declaration");
    let version = d.version().map_err(|_| restricted.clone())?;
    let encoding_ok = match d.encoding() {
        None => true,
        Some(Ok(e)) => e.eq_ignore_ascii_case(b"utf-8"),
        Some(Err(_)) => false,
    };
    let standalone_ok = !matches!(d.standalone(), Some(Ok(s)) if s.as_ref() == b"no");
    if version.as_ref() != b"1.0" || !encoding_ok || !standalone_ok {
        return Err(restricted);
    }
    Ok(())
}

fn utf8(bytes: &[u8]) -> Result<&str, XmlError> {
    std::str::from_utf8(bytes).map_err(|_| nwf("invalid UTF-8"))
}

pub(super) fn is_xml_space(b: &u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before the header.
    Prolog,
    Open,
    Closed,
}

#[derive(Debug)]
pub(super) struct TreeBuilder {
    pub(super) limits: Limits,
    phase: Phase,
    ns: Namespaces,
    // The header's strings are nearly always the same few constants; borrowed (see
    // `common`), they cost each held session no allocation.
    pub(super) default_ns: Cow<'static, str>,
    lang: Option<Cow<'static, str>>,
    /// Given to stanzas when the header has no `xml:lang` (kept across resets).
    pub(super) default_lang: Option<Cow<'static, str>>,
    header_qname: Cow<'static, str>,
    /// The stanza being built; `None` between stanzas once the input is drained, so an
    /// idle stream keeps neither the stack nor its bookkeeping inline.
    open: Option<Box<OpenElements>>,
    descendants: usize,
    /// Stream offset just after the last completed top-level element, header, close or
    /// dropped inter-stanza whitespace: bytes after it count against `max_stanza_bytes`.
    pub(super) boundary: u64,
    /// The only stream offset where an XML declaration may start: 0, or 3 after a
    /// byte-order mark. Anything before it, whitespace included, makes it misplaced
    /// (expat's rule, so Prosody's).
    decl_offset: u64,
    pub(super) events: VecDeque<StreamEvent>,
}

/// Open elements of the stanza being built (`stack[0]` is the stanza) and their qualified
/// names, concatenated, to check end tags without an allocation per element.
#[derive(Debug, Default)]
struct OpenElements {
    stack: Vec<Element>,
    names: String,
    name_ends: Vec<usize>,
}

impl TreeBuilder {
    pub(super) fn new(limits: Limits) -> Self {
        TreeBuilder {
            limits,
            phase: Phase::Prolog,
            decl_offset: 0,
            ns: Namespaces::default(),
            default_ns: Cow::Borrowed(""),
            lang: None,
            default_lang: None,
            header_qname: Cow::Borrowed(""),
            open: None,
            descendants: 0,
            boundary: 0,
            events: VecDeque::new(),
        }
    }

    /// Back to "expect a header", keeping the limits.
    pub(super) fn reset(&mut self) {
        let default_lang = self.default_lang.take();
        *self = TreeBuilder::new(self.limits);
        self.default_lang = default_lang;
    }

    /// The stream began with a UTF-8 byte-order mark of `len` bytes, already consumed:
    /// a declaration may follow it.
    pub(super) fn skipped_bom(&mut self, len: u64) {
        self.boundary = len;
        self.decl_offset = len;
    }

    /// Between stanzas the element stack and the end-tag bookkeeping are empty: give
    /// their capacity back, so an idle stream keeps only its header's bindings.
    pub(super) fn release_idle(&mut self) {
        if self.depth() == 0 {
            self.open = None;
            self.ns.release_idle();
        }
    }

    /// True when character data here would be outside any stanza.
    pub(super) fn between_stanzas(&self) -> bool {
        self.depth() == 0
    }

    /// How many elements of the stanza being built are open.
    fn depth(&self) -> usize {
        self.open.as_ref().map_or(0, |o| o.stack.len())
    }

    /// The error for non-whitespace character data outside the stream element, `None`
    /// when it is inside (between stanzas) and merely ignored.
    pub(super) fn stray_text_error(&self) -> Option<XmlError> {
        match self.phase {
            // Text where the header should be (an HTTP request sent to the c2s port) is
            // a syntax error to expat, so Prosody answers `not-well-formed`; only an
            // element that is not a stream header is `invalid-namespace`.
            Phase::Prolog => Some(nwf("text before the stream header")),
            Phase::Open => None,
            Phase::Closed => Some(nwf("data after the end of the stream")),
        }
    }

    /// Handles `seg`, a run of complete tokens (plus the text before them) that starts
    /// at stream offset `seg_off`.
    pub(super) fn segment(&mut self, seg: &[u8], seg_off: u64) -> Result<(), XmlError> {
        if let Err(e) = check_chars(seg) {
            // Elements completed before the bad character are still reported, as they
            // are when the same bytes arrive in smaller pieces; then the error.
            let _ = self.parse_segment(&seg[..valid_prefix_len(seg)], seg_off);
            return Err(e);
        }
        self.parse_segment(seg, seg_off)
    }

    fn parse_segment(&mut self, mut seg: &[u8], mut seg_off: u64) -> Result<(), XmlError> {
        // quick-xml drops a byte-order mark at the start of every input it is given, and
        // a segment starts wherever the previous feed stopped: here U+FEFF is a character
        // like any other (the stream's own leading mark never gets this far).
        while let Some(rest) = seg.strip_prefix(UTF8_BOM) {
            seg = rest;
            seg_off += UTF8_BOM.len() as u64;
            self.text("\u{FEFF}", seg_off)?;
        }
        let mut reader = Reader::from_reader(seg);
        let config = reader.config_mut();
        config.trim_text(false);
        config.check_end_names = false; // segments may close elements opened earlier
        config.allow_unmatched_ends = true;
        config.expand_empty_elements = false;
        loop {
            let start = seg_off + reader.buffer_position();
            let event = reader.read_event().map_err(|e| nwf(e.to_string()))?;
            let end = seg_off + reader.buffer_position();
            match event {
                Event::Eof => return Ok(()),
                Event::Start(e) => self.start(&e, end)?,
                Event::Empty(e) => {
                    self.start(&e, end)?;
                    self.end(None, end)?;
                }
                Event::End(e) => self.end(Some(e.name().into_inner()), end)?,
                Event::Text(t) => self.text(utf8(&t)?, end)?,
                Event::CData(c) => self.cdata(utf8(&c)?)?,
                Event::Decl(d) if self.phase == Phase::Prolog && start == self.decl_offset => {
                    check_decl(&d)?
                }
                Event::Decl(_) => {
                    return Err(nwf("XML declaration not at the start of the stream"))
                }
                Event::PI(_) => return Err(XmlError::Restricted("processing instruction")),
                Event::Comment(_) => return Err(XmlError::Restricted("comment")),
                Event::DocType(_) => return Err(XmlError::Restricted("DTD")),
            }
        }
    }

    fn text(&mut self, raw: &str, end: u64) -> Result<(), XmlError> {
        if self.depth() == 0 {
            // Character data between stanzas is legal XML (the stream element's content)
            // and ignored, as Prosody does; it must still be well-formed.
            if !raw.as_bytes().iter().all(is_xml_space) {
                if let Some(e) = self.stray_text_error() {
                    return Err(e);
                }
            }
            unescape(raw, false)?;
            self.boundary = end;
            return Ok(());
        }
        let text = unescape(raw, false)?;
        self.push_text(text);
        Ok(())
    }

    fn cdata(&mut self, raw: &str) -> Result<(), XmlError> {
        if self.depth() == 0 {
            // Only `<![CDATA[` between stanzas gets here: ignored like other text.
            return match self.stray_text_error() {
                Some(e) => Err(e),
                None => Ok(()),
            };
        }
        let text = if raw.contains('\r') {
            Cow::Owned(raw.replace("\r\n", "\n").replace('\r', "\n"))
        } else {
            Cow::Borrowed(raw)
        };
        self.push_text(text);
        Ok(())
    }

    fn push_text(&mut self, text: Cow<'_, str>) {
        let Some(top) = self.open.as_mut().and_then(|o| o.stack.last_mut()) else {
            return;
        };
        if text.is_empty() {
            return;
        }
        // Adjacent text (split by a CDATA section) stays one node.
        match top.children.last_mut() {
            Some(Node::Text(t)) => t.push_str(&text),
            _ => top.children.push(Node::Text(CompactString::from(text))),
        }
    }

    fn start(&mut self, e: &BytesStart<'_>, end: u64) -> Result<(), XmlError> {
        match self.phase {
            Phase::Prolog => self.header(e, end),
            Phase::Closed => Err(nwf("data after the end of the stream")),
            Phase::Open => {
                let depth = self.depth() + 1;
                if depth > self.limits.max_depth {
                    return Err(XmlError::TooDeep);
                }
                if depth == 1 {
                    self.descendants = 0;
                } else {
                    self.descendants += 1;
                    if self.descendants > self.limits.max_child_elements {
                        return Err(XmlError::TooManyChildren);
                    }
                }
                let (el, qname) = self.build(e)?;
                let open = self.open.get_or_insert_with(Default::default);
                open.names.push_str(qname);
                open.name_ends.push(open.names.len());
                open.stack.push(el);
                Ok(())
            }
        }
    }

    fn header(&mut self, e: &BytesStart<'_>, end: u64) -> Result<(), XmlError> {
        let (el, qname) = self.build(e)?;
        if el.ns != STREAMS_NS || el.name != "stream" {
            return Err(XmlError::InvalidNamespace);
        }
        self.check_size(end)?;
        self.default_ns = common(self.ns.resolve(None)?);
        self.lang = el
            .attr("xml:lang")
            .map(common)
            .or_else(|| self.default_lang.clone());
        self.header_qname = common(qname);
        self.phase = Phase::Open;
        self.boundary = end;
        self.events.push_back(StreamEvent::Open(el));
        Ok(())
    }

    fn end(&mut self, name: Option<&[u8]>, end: u64) -> Result<(), XmlError> {
        let Some(open) = self.open.as_mut().filter(|o| !o.stack.is_empty()) else {
            if self.phase != Phase::Open || name.is_some_and(|n| n != self.header_qname.as_bytes())
            {
                return Err(nwf("unexpected end tag"));
            }
            self.ns.pop_scope();
            self.phase = Phase::Closed;
            self.boundary = end;
            self.events.push_back(StreamEvent::Close);
            return Ok(());
        };
        let qname_end = open.name_ends.pop().unwrap_or(0);
        let qname_start = open.name_ends.last().copied().unwrap_or(0);
        if name.is_some_and(|n| n != &open.names.as_bytes()[qname_start..qname_end]) {
            return Err(nwf("mismatched end tag"));
        }
        open.names.truncate(qname_start);
        let Some(el) = open.stack.pop() else {
            return Err(nwf("unexpected end tag"));
        };
        let parent = open.stack.last_mut();
        match parent {
            Some(parent) => parent.children.push(Node::Element(el)),
            None => {
                self.ns.pop_scope();
                return self.stanza_done(el, end);
            }
        }
        self.ns.pop_scope();
        Ok(())
    }

    fn stanza_done(&mut self, mut el: Element, end: u64) -> Result<(), XmlError> {
        self.check_size(end)?;
        if let Some(lang) = &self.lang {
            if el.attr("xml:lang").is_none() {
                el.attrs.push((
                    CompactString::const_new("xml:lang"),
                    CompactString::new(lang),
                ));
            }
        }
        self.boundary = end;
        self.events.push_back(StreamEvent::Stanza(el));
        Ok(())
    }

    /// Bytes allowed since the last boundary: a stream header (the first or a restarted
    /// one) gets the header limit, whatever the stanza limit is by then.
    pub(super) fn byte_limit(&self) -> usize {
        match self.phase {
            Phase::Prolog => self
                .limits
                .max_stanza_bytes
                .min(self.limits.max_header_bytes),
            _ => self.limits.max_stanza_bytes,
        }
    }

    /// Lilt refuses an oversized top-level element even when it arrived in one piece.
    fn check_size(&self, end: u64) -> Result<(), XmlError> {
        if end - self.boundary > self.byte_limit() as u64 {
            return Err(XmlError::StanzaTooLarge);
        }
        Ok(())
    }

    /// Builds the element for a start tag and opens its namespace scope.
    fn build<'e>(&mut self, e: &'e BytesStart<'_>) -> Result<(Element, &'e str), XmlError> {
        let qname = utf8(e.name().into_inner())?;
        let (prefix, local) = split_qname(qname)?;
        self.ns.push_scope();
        let mut attrs: Vec<(CompactString, CompactString)> = Vec::new();
        let mut foreign_prefix = false;
        // quick-xml's own duplicate check compares each attribute with every earlier one
        // (quadratic: 26 000 attributes cost seconds); ours is linear, and the count is
        // capped before any of it.
        let mut seen = RawKeys::default();
        for (count, attr) in e.attributes().with_checks(false).enumerate() {
            if count >= self.limits.max_attributes {
                return Err(XmlError::TooManyAttributes);
            }
            let attr = attr.map_err(|err| nwf(err.to_string()))?;
            let key = utf8(attr.key.into_inner())?;
            if !seen.insert(key) {
                return Err(nwf(format!("duplicate attribute '{key}'")));
            }
            let value = unescape(utf8(&attr.value)?, true)?;
            if key == "xmlns" {
                self.ns.declare("", &value)?;
            } else if let Some(p) = key.strip_prefix("xmlns:") {
                if !is_ncname(p) {
                    return Err(nwf(format!("invalid name '{key}'")));
                }
                self.ns.declare(p, &value)?;
            } else {
                let (p, _) = split_qname(key)?;
                foreign_prefix |= p.is_some_and(|p| p != "xml");
                attrs.push((CompactString::new(key), CompactString::from(value)));
            }
        }
        let ns = known_ns(self.ns.resolve(prefix)?);
        if foreign_prefix {
            self.expand_attr_prefixes(&mut attrs)?;
        }
        let el = Element {
            name: CompactString::new(local),
            ns,
            attrs,
            children: Vec::new(),
        };
        Ok((el, qname))
    }

    /// Rewrites `p:local` attribute names (other than `xml:`) to `{uri}local`.
    fn expand_attr_prefixes(
        &self,
        attrs: &mut [(CompactString, CompactString)],
    ) -> Result<(), XmlError> {
        for (key, _) in attrs.iter_mut() {
            if let Some((p, local)) = key.split_once(':') {
                if p != "xml" {
                    let uri = self.ns.resolve(Some(p))?;
                    *key = compact_str::format_compact!("{{{uri}}}{local}");
                }
            }
        }
        // Two prefixes bound to one URI can still name the same attribute.
        let mut seen = std::collections::HashSet::with_capacity(attrs.len());
        for (key, _) in attrs.iter() {
            if !seen.insert(key.as_str()) {
                return Err(nwf(format!("duplicate attribute '{key}'")));
            }
        }
        Ok(())
    }
}

/// Raw attribute names of one start tag, for the duplicate check: a scan of a stack array
/// while few (the usual stanza has two to five; no allocation), a hash set past that.
#[derive(Default)]
struct RawKeys<'a> {
    few: [&'a str; RawKeys::SCAN_UP_TO],
    len: usize,
    many: Option<std::collections::HashSet<&'a str>>,
}

impl<'a> RawKeys<'a> {
    const SCAN_UP_TO: usize = 16;

    /// False when `key` was already there.
    fn insert(&mut self, key: &'a str) -> bool {
        if let Some(set) = &mut self.many {
            return set.insert(key);
        }
        if self.few[..self.len].contains(&key) {
            return false;
        }
        if self.len < Self::SCAN_UP_TO {
            self.few[self.len] = key;
            self.len += 1;
            return true;
        }
        let mut set: std::collections::HashSet<&'a str> = self.few.iter().copied().collect();
        set.insert(key);
        self.many = Some(set);
        true
    }
}

/// `s`, borrowed from a constant when it is one of the values nearly every stream header
/// has, otherwise copied.
pub(super) fn common(s: &str) -> Cow<'static, str> {
    const COMMON: [&str; 8] = [
        "jabber:client",
        "jabber:server",
        STREAMS_NS,
        "",
        "stream:stream",
        "stream",
        "en",
        "en-US",
    ];
    match COMMON.iter().find(|c| **c == s) {
        Some(c) => Cow::Borrowed(c),
        None => Cow::Owned(s.to_owned()),
    }
}

/// A namespace URI as an element keeps it: the long URIs stanzas commonly carry point at
/// a constant instead of a copy (short ones, `jabber:client` among them, fit inline).
fn known_ns(uri: &str) -> CompactString {
    // Only URIs longer than 24 bytes belong here: shorter ones are inline anyway.
    const KNOWN: [&str; 10] = [
        "urn:ietf:params:xml:ns:xmpp-stanzas",
        "http://jabber.org/protocol/disco#info",
        "http://jabber.org/protocol/disco#items",
        "http://jabber.org/protocol/chatstates",
        "http://jabber.org/protocol/caps",
        "urn:ietf:params:xml:ns:xmpp-sasl",
        "urn:ietf:params:xml:ns:xmpp-bind",
        "urn:ietf:params:xml:ns:xmpp-session",
        "urn:ietf:params:xml:ns:xmpp-framing",
        STREAMS_NS,
    ];
    if uri.len() > 24 {
        if let Some(k) = KNOWN.iter().find(|k| **k == uri) {
            return CompactString::const_new(k);
        }
    }
    CompactString::new(uri)
}
