//! `StreamParser`: the sans-IO, push-based XMPP stream parser. Bytes are fed as they
//! arrive; complete tokens are parsed at once (quick-xml is the tokenizer) and the
//! stream header, top-level stanzas and the close tag are queued as events.

use super::builder::{is_xml_space, TreeBuilder, UTF8_BOM};
use super::element::Element;
use super::scanner::Scanner;
use super::{Limits, XmlError};

/// What the peer sent, in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    /// The stream header (`<stream:stream ...>`) with its attributes (to, from, version,
    /// xml:lang, id...) and no children; its default namespace is
    /// [`StreamParser::default_ns`].
    Open(Element),
    /// A complete top-level element, with the header's `xml:lang` when it had none.
    Stanza(Element),
    /// `</stream:stream>`.
    Close,
}

/// Input buffer capacity kept between stanzas of a busy stream; a larger one (left by a
/// large stanza) is given back as soon as it is drained.
const KEEP_WARM_BYTES: usize = 16 * 1024;

/// Push-based stream parser with [`Limits`] enforced as bytes arrive.
///
/// ```
/// # use lilt::xml::{Limits, StreamEvent, StreamParser};
/// let mut p = StreamParser::new(Limits::default());
/// p.feed(b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><presence/>").unwrap();
/// assert!(matches!(p.next_event(), Ok(Some(StreamEvent::Open(_)))));
/// assert!(matches!(p.next_event(), Ok(Some(StreamEvent::Stanza(s))) if s.name == "presence"));
/// assert_eq!(p.next_event(), Ok(None));
/// ```
#[derive(Debug)]
pub struct StreamParser {
    input: Input,
    tree: TreeBuilder,
    /// Sticky: once the peer's XML is bad the stream is over. Boxed: every idle session
    /// holds the slot, hardly any ever fills it.
    error: Option<Box<XmlError>>,
}

/// Bytes not yet parsed. Everything before `pos` is done and is dropped on the next
/// feed, so the buffer only ever holds one incomplete token and the text before it.
#[derive(Debug)]
struct Input {
    buf: Vec<u8>,
    pos: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
    /// Nothing parsed yet: the stream may still begin with a byte-order mark.
    at_start: bool,
    scanner: Scanner,
}

impl Input {
    fn new() -> Self {
        Input {
            buf: Vec::new(),
            pos: 0,
            base: 0,
            at_start: true,
            scanner: Scanner::new(),
        }
    }

    /// Gives the buffer's memory back when everything in it has been parsed (an idle
    /// connection then holds no input buffer at all).
    fn release_if_done(&mut self) {
        self.compact();
        if self.buf.is_empty() && self.buf.capacity() > 0 {
            self.buf = Vec::new();
        }
    }

    fn compact(&mut self) {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.scanner.shift(self.pos);
            self.base += self.pos as u64;
            self.pos = 0;
        }
    }

    /// Appends `chunk` without the doubling growth of `Vec` overshooting `cap_hint`,
    /// so the buffer's capacity stays near the stanza limit.
    fn append(&mut self, chunk: &[u8], cap_hint: usize) {
        let needed = self.buf.len() + chunk.len();
        if needed > self.buf.capacity() {
            let target = (self.buf.capacity() * 2).min(cap_hint).max(needed);
            self.buf.reserve_exact(target - self.buf.len());
        }
        self.buf.extend_from_slice(chunk);
    }

    fn end_offset(&self) -> u64 {
        self.base + self.buf.len() as u64
    }
}

impl StreamParser {
    pub fn new(limits: Limits) -> Self {
        StreamParser {
            input: Input::new(),
            tree: TreeBuilder::new(limits),
            error: None,
        }
    }

    /// Stanzas of a stream whose header has no `xml:lang` get `lang` (Prosody's streams:
    /// "en"). Without it such stanzas get none, as for XML fragments parsed for Lua.
    pub fn with_default_lang(mut self, lang: &str) -> Self {
        self.tree.default_lang = Some(super::builder::common(lang));
        self
    }

    /// Switches the stanza size limit, e.g. from 10000 before authentication to 262144
    /// after. Applies from the next `feed`.
    pub fn set_max_stanza_bytes(&mut self, n: usize) {
        self.tree.limits.max_stanza_bytes = n;
    }

    /// Parses `data` as far as it goes. On an error, the events completed before the
    /// error stay available from [`next_event`](Self::next_event), which then returns
    /// the same error; further feeds return it at once. Never buffers more than about
    /// `max_stanza_bytes`, however large `data` is.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), XmlError> {
        if let Some(e) = &self.error {
            return Err((**e).clone());
        }
        while !data.is_empty() {
            let limit = self.tree.byte_limit();
            // Take no more than can still fit before the limit is crossed: the rest of
            // `data` is only looked at once earlier stanzas have completed.
            let room = limit.saturating_sub(self.pending()).saturating_add(1);
            let (chunk, rest) = data.split_at(room.min(data.len()));
            data = rest;
            self.input.compact();
            self.input.append(chunk, limit.saturating_add(1));
            let result = self.process().and_then(|()| {
                if self.pending() > self.tree.byte_limit() {
                    Err(XmlError::StanzaTooLarge)
                } else {
                    Ok(())
                }
            });
            if let Err(e) = result {
                self.error = Some(Box::new(e.clone()));
                return Err(e);
            }
        }
        Ok(())
    }

    /// The next event, `Ok(None)` when more bytes are needed.
    pub fn next_event(&mut self) -> Result<Option<StreamEvent>, XmlError> {
        match self.tree.events.pop_front() {
            Some(ev) => Ok(Some(ev)),
            None => match &self.error {
                // Drained. The buffers stay for the next stanza of a busy stream (they
                // are rebuilt otherwise: about ten allocations a stanza), unless a large
                // stanza grew them; [`release_idle`](Self::release_idle) frees the rest
                // once the stream has been quiet for a while.
                None if self.input.buf.capacity() > KEEP_WARM_BYTES => {
                    self.release_idle();
                    Ok(None)
                }
                Some(e) => Err((**e).clone()),
                None => Ok(None),
            },
        }
    }

    /// Gives back what parsing stanzas allocated (input buffer, event queue, the open
    /// element stack, namespace scopes) when nothing is half-parsed, so an idle stream
    /// holds none of it. Connections call this when they have been quiet for a moment.
    pub fn release_idle(&mut self) {
        if self.error.is_some() || !self.tree.events.is_empty() {
            return;
        }
        self.input.release_if_done();
        if self.tree.events.capacity() > 0 {
            self.tree.events = Default::default();
        }
        self.tree.release_idle();
    }

    /// Stream restart (after STARTTLS or SASL success): the next thing must be a new
    /// header, optionally preceded by an XML declaration. Bytes fed and events queued
    /// before the reset are discarded — a client must wait for the server's answer
    /// before restarting (RFC 6120 §5.3.5, §6.4.6).
    pub fn reset(&mut self) {
        self.input = Input::new();
        self.tree.reset();
        self.error = None;
    }

    /// Default namespace declared on the current stream header ("" before one).
    pub fn default_ns(&self) -> &str {
        &self.tree.default_ns
    }

    /// Bytes counted against `max_stanza_bytes` right now.
    fn pending(&self) -> usize {
        (self.input.end_offset() - self.tree.boundary) as usize
    }

    /// Allocated size of the input buffer (for tests of memory bounds).
    #[cfg(test)]
    pub(super) fn buffer_capacity(&self) -> usize {
        self.input.buf.capacity()
    }

    fn process(&mut self) -> Result<(), XmlError> {
        let input = &mut self.input;
        if input.at_start {
            // A byte-order mark is accepted as the stream's first bytes only (as expat
            // does), whether it arrives whole or split across feeds.
            let n = input.buf.len().min(UTF8_BOM.len());
            if input.buf[..n] != UTF8_BOM[..n] {
                input.at_start = false;
            } else if n < UTF8_BOM.len() {
                return Ok(());
            } else {
                input.at_start = false;
                input.pos = n;
                input.scanner.skip_text(n);
                self.tree.skipped_bom(n as u64);
            }
        }
        // Tokens completed before a scanner error are still built into events, so that
        // what precedes bad bytes does not depend on how the input was split.
        let scanned = input.scanner.run(&input.buf);
        let complete = input.scanner.complete();
        if complete > input.pos {
            let seg_off = input.base + input.pos as u64;
            self.tree
                .segment(&input.buf[input.pos..complete], seg_off)?;
            input.pos = complete;
        }
        scanned?;
        // Whitespace outside any stanza is dropped now rather than at the next '<', so
        // keepalives never count towards the limit; garbage before the header fails now.
        // Other text between stanzas waits for its '<' to be checked as a whole.
        if self.tree.between_stanzas() && input.scanner.in_text() && input.pos < input.buf.len() {
            if input.buf[input.pos..].iter().all(is_xml_space) {
                input.pos = input.buf.len();
                input.scanner.skip_text(input.pos);
                self.tree.boundary = input.end_offset();
            } else if let Some(e) = self.tree.stray_text_error() {
                return Err(e);
            }
        }
        Ok(())
    }
}
