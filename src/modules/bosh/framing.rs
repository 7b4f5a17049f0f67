//! The BOSH framing of the one c2s session (XEP-0206). A BOSH session's c2s side runs in
//! the ordinary c2s driver over an in-process pipe; the BOSH task on the other end turns
//! HTTP requests into records on that pipe and the session's output records into
//! response bodies. Records are `[tag][u32 length, little endian][bytes]`, so neither
//! side ever has to parse XML the other already parsed.

use super::records::{self, In, Out};
use crate::modules::limits::SessionKind;
use crate::modules::openmetrics::Transport;
use crate::net::c2s::{Failure, Framing, Input};
use crate::xml::Element;
use crate::xmpp::error::{StreamCondition, StreamError};
use crate::xmpp::ns;

/// The c2s side of a BOSH session: decodes the task's input records.
#[derive(Debug, Default)]
pub struct BoshFraming {
    buf: Vec<u8>,
}

impl Framing for BoshFraming {
    const NAME: &'static str = "bosh";
    const TRANSPORT: Transport = Transport::Bosh;
    /// Prosody's BOSH sessions are `c2s` sessions to mod_limits.
    const KIND: SessionKind = SessionKind::C2s;
    const READ_SIZE: usize = 8192;
    /// A terminate body carries the `<stream:error>` alone.
    const HEADER_BEFORE_ERROR: bool = false;

    fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    fn next_input(&mut self) -> Option<Input> {
        let (tag, payload) = records::take(&mut self.buf)?;
        Some(match In::from_tag(tag) {
            Some(In::Open) => Input::Xml(stream_header(&String::from_utf8_lossy(&payload))),
            Some(In::Xml) => Input::Xml(payload),
            Some(In::Close) => Input::Xml(b"</stream:stream>".to_vec()),
            Some(In::Silent) => Input::Failed(Failure {
                reason: "BOSH client silent",
                limit: None,
                stream_error: None,
                close: None,
            }),
            // Prosody closes the session with this error and text (its stream
            // callbacks' `error`), not the `not-well-formed` of a TCP stream.
            Some(In::Malformed) => Input::Failed(Failure {
                reason: "Error processing stream",
                limit: None,
                stream_error: Some(
                    StreamError::new(StreamCondition::BadFormat)
                        .with_text("Error processing stream")
                        .element(),
                ),
                close: None,
            }),
            None => Input::PeerClosed,
        })
    }

    fn release_idle(&mut self) {
        if self.buf.is_empty() {
            self.buf = Vec::new();
        }
    }

    /// The session-creation attributes stand in for the stream header: nothing to send.
    fn open(&self, _: Option<&str>, _: Option<&str>, _: &str, _: bool, _: &mut Vec<u8>) {}

    fn element(&self, el: &Element, out: &mut Vec<u8>) {
        let mut s = String::with_capacity(256);
        let tag = if el.ns == ns::STREAMS {
            // The response body declares the `stream:` prefix.
            crate::net::c2s::framing::write_stream_prefixed(el, "", &mut s);
            if el.name == "error" {
                Out::Error
            } else {
                Out::Element
            }
        } else {
            el.write_xml(&mut s, "");
            Out::Element
        };
        records::put(out, tag as u8, s.as_bytes());
        if el.name == "success" && el.ns == ns::SASL {
            // The client's next request opens a new stream (XEP-0206 §5).
            records::put(out, Out::Restart as u8, b"");
        }
    }

    fn close_stream(&self, out: &mut Vec<u8>) {
        records::put(out, Out::Close as u8, b"");
    }

    fn end(&self, _goodbye: bool, _out: &mut Vec<u8>) {}

    /// BOSH has no transport keepalive: the client's requests are the keepalive.
    fn keepalive(&self, _payload: &[u8], _out: &mut Vec<u8>) {}

    fn pong(&self, _payload: &[u8], _out: &mut Vec<u8>) {}

    fn pings_answered(&self) -> bool {
        false
    }
}

/// The stream header the c2s parser sees for a BOSH session or restart: the body's
/// `xmlns:stream` binding and `to`.
fn stream_header(to: &str) -> Vec<u8> {
    let mut s = String::from("<stream:stream xmlns='jabber:client' xmlns:stream='");
    s.push_str(ns::STREAMS);
    s.push_str("' version='1.0' to='");
    crate::xml::escape(to, &mut s);
    s.push_str("'>");
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_records_become_a_stream_header_payload_and_close() {
        let mut f = BoshFraming::default();
        let mut wire = Vec::new();
        records::put(&mut wire, In::Open as u8, b"example.test");
        records::put(&mut wire, In::Xml as u8, b"<presence/>");
        records::put(&mut wire, In::Close as u8, b"");
        // Split mid-record: the framing waits for the rest.
        f.feed(&wire[..7]);
        assert!(f.next_input().is_none());
        f.feed(&wire[7..]);
        let Some(Input::Xml(h)) = f.next_input() else {
            panic!("header")
        };
        assert!(String::from_utf8_lossy(&h).contains("to='example.test'"));
        assert!(matches!(f.next_input(), Some(Input::Xml(p)) if p == b"<presence/>"));
        assert!(matches!(f.next_input(), Some(Input::Xml(p)) if p == b"</stream:stream>"));
        assert!(f.next_input().is_none());
    }

    #[test]
    fn sasl_success_is_followed_by_a_restart_record_and_errors_are_tagged() {
        let f = BoshFraming::default();
        let mut out = Vec::new();
        f.element(&Element::new("success", ns::SASL), &mut out);
        let err = Element::new("error", ns::STREAMS)
            .with_child(Element::new("conflict", ns::STREAM_ERRORS));
        f.element(&err, &mut out);
        let (t, body) = records::take(&mut out).expect("success");
        assert_eq!(t, Out::Element as u8);
        assert_eq!(body, b"<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
        assert_eq!(
            records::take(&mut out).map(|r| r.0),
            Some(Out::Restart as u8)
        );
        let (t, body) = records::take(&mut out).expect("error");
        assert_eq!(t, Out::Error as u8);
        assert_eq!(
            String::from_utf8_lossy(&body),
            "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
        );
    }
}
