//! The WebSocket framing of a c2s stream (RFC 6455 frames carrying RFC 7395 XML,
//! reference §5.4–5.7): text frames become stream bytes, `<open/>`/`<close/>` map to the
//! stream's header and end, and every element goes out as one text frame.

use std::borrow::Cow;

use super::framing::{Failure, Framing, Input};
use crate::modules::limits::SessionKind;
use crate::modules::openmetrics::{LimitKind, Transport};
use crate::modules::websocket::conversion::{frame_to_stream, open_frame, CLOSE_FRAME};
use crate::modules::websocket::framing::{
    encode_close, encode_ping, encode_pong, encode_text, Frame, FrameDecoder, FrameError,
};
use crate::xml::Element;
use crate::xmpp::error::{StreamCondition, StreamError};
use crate::xmpp::ns;

thread_local! {
    /// Serialisation scratch of the worker thread running a connection's task; used
    /// between awaits only, so sessions share it instead of each holding one.
    static SCRATCH: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Largest scratch string kept after a serialisation (a rare large stanza gives its
/// buffer back).
const SCRATCH_KEEP: usize = 16 * 1024;

/// The frame decoder and what the framing was configured with.
pub struct WsFraming {
    decoder: FrameDecoder,
    /// `websocket_max_frame_size`: oversized frames close with 1009 instead of Prosody's
    /// stream error.
    max_frame_size: Option<usize>,
}

impl WsFraming {
    pub fn new(decoder: FrameDecoder, max_frame_size: Option<usize>) -> Self {
        WsFraming {
            decoder,
            max_frame_size,
        }
    }
}

impl Framing for WsFraming {
    const NAME: &'static str = "websocket";
    const TRANSPORT: Transport = Transport::Websocket;
    const KIND: SessionKind = SessionKind::WebSocket;
    /// Prosody's network read size.
    const READ_SIZE: usize = 8192;
    const HEADER_BEFORE_ERROR: bool = false;

    fn feed(&mut self, data: &[u8]) {
        self.decoder.feed(data);
    }

    fn next_input(&mut self) -> Option<Input> {
        loop {
            return Some(match self.decoder.next_frame() {
                Ok(None) => return None,
                Ok(Some(Frame::Text(payload))) => Input::Xml(match frame_to_stream(&payload) {
                    Cow::Borrowed(s) if s.len() == payload.len() => payload.into_bytes(),
                    other => other.into_owned().into_bytes(),
                }),
                Ok(Some(Frame::Ping(p))) => Input::Ping(p),
                Ok(Some(Frame::Pong(p))) => Input::Pong(p),
                Ok(Some(Frame::ContinuationIgnored)) => continue,
                Ok(Some(Frame::Close(_, _))) => Input::PeerClosed,
                Err(FrameError::Close { code, reason }) => Input::Failed(Failure {
                    reason: "protocol error",
                    limit: None,
                    stream_error: None,
                    close: Some((code, reason)),
                }),
                Err(FrameError::StanzaTooLarge) if self.max_frame_size.is_some() => {
                    tracing::info!("Frame larger than websocket_max_frame_size; closing with 1009");
                    Input::Failed(Failure {
                        reason: "frame too large",
                        limit: Some(LimitKind::FrameSize),
                        stream_error: None,
                        close: Some((1009, "Frame too large")),
                    })
                }
                Err(FrameError::StanzaTooLarge) => Input::Failed(Failure {
                    reason: "stanza too large",
                    limit: Some(LimitKind::StanzaSize),
                    stream_error: Some(
                        StreamError::new(StreamCondition::PolicyViolation)
                            .with_text("stanza too large")
                            .element(),
                    ),
                    close: None,
                }),
                Err(FrameError::BufferExceeded) => Input::Failed(Failure {
                    reason: "frame buffer exceeded",
                    limit: Some(LimitKind::FrameBuffer),
                    stream_error: Some(
                        StreamError::new(StreamCondition::ResourceConstraint)
                            .with_text("frame buffer exceeded")
                            .element(),
                    ),
                    close: None,
                }),
            });
        }
    }

    fn release_idle(&mut self) {
        self.decoder.release_idle();
    }

    fn open(
        &self,
        from: Option<&str>,
        to: Option<&str>,
        id: &str,
        _version: bool,
        out: &mut Vec<u8>,
    ) {
        let frame = open_frame(from.unwrap_or(""), to, id, "en");
        text(&frame, out);
    }

    fn element(&self, el: &Element, out: &mut Vec<u8>) {
        frame_element(el, out);
    }

    fn shared(&self, el: &crate::xml::Fanout, to: &str, out: &mut Vec<u8>) {
        SCRATCH.with_borrow_mut(|s| {
            s.clear();
            el.write_to(to, "", s);
            encode_text(s, out);
            if s.capacity() > SCRATCH_KEEP {
                *s = String::new();
            }
        });
    }

    fn close_stream(&self, out: &mut Vec<u8>) {
        text(CLOSE_FRAME, out);
    }

    fn end(&self, goodbye: bool, out: &mut Vec<u8>) {
        let reason = if goodbye { "Goodbye" } else { "Stream closed" };
        encode_close(1000, reason, out);
    }

    fn keepalive(&self, payload: &[u8], out: &mut Vec<u8>) {
        encode_ping(payload, out);
    }

    fn pong(&self, payload: &[u8], out: &mut Vec<u8>) {
        encode_pong(payload, out);
    }

    fn pings_answered(&self) -> bool {
        true
    }
}

fn text(s: &str, out: &mut Vec<u8>) {
    // Header (at most 10 bytes) and payload in one allocation, not a grow per part.
    out.reserve(s.len() + 10);
    encode_text(s, out);
}

/// Appends `el` to `out` as one text frame. Serialised into the worker thread's scratch
/// string first: on a busy stream neither allocates.
pub fn frame_element(el: &Element, out: &mut Vec<u8>) {
    SCRATCH.with_borrow_mut(|s| {
        s.clear();
        write_element_frame(el, s);
        encode_text(s, out);
        if s.capacity() > SCRATCH_KEEP {
            *s = String::new();
        }
    });
}

/// Serialises an outgoing element the way Prosody frames it: stanzas carry
/// `xmlns='jabber:client'`, stream-level elements the `stream:` prefix.
pub fn element_frame(el: &Element) -> String {
    // A chat message with its stamped `from` is usually over 128 bytes.
    let mut s = String::with_capacity(256);
    write_element_frame(el, &mut s);
    s
}

/// The WebSocket framing declares the namespaces on each stream-level element.
const STREAM_DECLS: &str = concat!(
    " xmlns='jabber:client' xmlns:stream='",
    "http://etherx.jabber.org/streams",
    "'"
);

fn write_element_frame(el: &Element, s: &mut String) {
    if el.ns != ns::STREAMS {
        el.write_xml(s, "");
        return;
    }
    super::framing::write_stream_prefixed(el, STREAM_DECLS, s);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framed_elements_append_in_order_and_match_the_serialised_text() {
        let small = Element::new("message", "jabber:client")
            .with_attr("to", "a@example.test")
            .with_child(Element::new("body", "jabber:client").with_text("x < y & z"));
        // Past the scratch string's kept size and the 16-bit frame length: the scratch is
        // given back and the next frame still comes out right.
        let large = Element::new("message", "jabber:client")
            .with_child(Element::new("body", "jabber:client").with_text("y".repeat(70_000)));
        let mut expected = Vec::new();
        for el in [&small, &large, &small] {
            encode_text(&element_frame(el), &mut expected);
        }
        let mut out = Vec::new();
        for el in [&small, &large, &small] {
            frame_element(el, &mut out);
        }
        assert_eq!(out, expected);
        assert!(SCRATCH.with_borrow(|s| s.capacity() <= SCRATCH_KEEP));
    }
}
