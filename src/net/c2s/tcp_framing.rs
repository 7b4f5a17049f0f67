//! The raw TCP framing of a c2s stream (RFC 6120 §4, reference §9.1): socket bytes are the
//! XML stream itself; output is serialised in the stream's `jabber:client` namespace, and a
//! whitespace keepalive answers `read_timeout` of silence.

use super::framing::{Framing, Input};
use crate::modules::limits::SessionKind;
use crate::modules::openmetrics::Transport;
use crate::net::tcp::serialise;
use crate::xml::Element;

thread_local! {
    /// Serialisation scratch of the worker thread (see the WebSocket framing's).
    static SCRATCH: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Largest scratch string kept after a serialisation.
const SCRATCH_KEEP: usize = 16 * 1024;

/// Bytes read but not yet handed to the parser.
#[derive(Debug, Default)]
pub struct TcpFraming {
    input: Vec<u8>,
}

impl Framing for TcpFraming {
    const NAME: &'static str = "c2s";
    const TRANSPORT: Transport = Transport::C2s;
    const KIND: SessionKind = SessionKind::C2s;
    /// Prosody reads at most this much at a time, which is what makes the
    /// unconsumed-bytes stanza size check effective on TCP (reference §4.1).
    const READ_SIZE: usize = 4096;
    const HEADER_BEFORE_ERROR: bool = true;

    fn feed(&mut self, data: &[u8]) {
        self.input.extend_from_slice(data);
    }

    fn next_input(&mut self) -> Option<Input> {
        if self.input.is_empty() {
            return None;
        }
        Some(Input::Xml(std::mem::take(&mut self.input)))
    }

    fn release_idle(&mut self) {
        if self.input.is_empty() && self.input.capacity() > 0 {
            self.input = Vec::new();
        }
    }

    fn open(
        &self,
        from: Option<&str>,
        to: Option<&str>,
        id: &str,
        version: bool,
        out: &mut Vec<u8>,
    ) {
        out.extend_from_slice(serialise::header(from, to, id, version).as_bytes());
    }

    fn shared(&self, el: &crate::xml::Fanout, to: &str, out: &mut Vec<u8>) {
        SCRATCH.with_borrow_mut(|text| {
            text.clear();
            el.write_to(to, crate::xmpp::ns::CLIENT, text);
            out.extend_from_slice(text.as_bytes());
            if text.capacity() > SCRATCH_KEEP {
                *text = String::new();
            }
        });
    }

    fn element(&self, el: &Element, out: &mut Vec<u8>) {
        SCRATCH.with_borrow_mut(|text| {
            text.clear();
            serialise::write_element(el, text);
            out.extend_from_slice(text.as_bytes());
            if text.capacity() > SCRATCH_KEEP {
                *text = String::new();
            }
        });
    }

    fn close_stream(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(serialise::CLOSE.as_bytes());
    }

    fn end(&self, _goodbye: bool, _out: &mut Vec<u8>) {}

    fn keepalive(&self, _payload: &[u8], out: &mut Vec<u8>) {
        out.push(b' ');
    }

    fn pong(&self, _payload: &[u8], _out: &mut Vec<u8>) {}

    fn pings_answered(&self) -> bool {
        false
    }
}
