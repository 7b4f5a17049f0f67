//! RFC 6455 framing for RFC 7395 sessions, sans-IO: a push decoder that applies Prosody's
//! per-frame validation rules (reference §5.5) and the unmasked frame encoders the server uses.
//! It does no IO and knows nothing about XML; the caller turns frames into stream data.

use thiserror::Error;

/// A complete, validated frame from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A FIN text frame; its payload starts with `<` and is valid UTF-8.
    Text(String),
    /// A ping; answer with a pong carrying the same payload.
    Ping(Vec<u8>),
    /// A pong; Prosody ignores these (unsolicited pongs are allowed).
    Pong(Vec<u8>),
    /// A valid close frame: status (if any) and reason. Reply with close 1000 "Goodbye".
    Close(Option<u16>, String),
    /// A FIN continuation frame without a started message: logged and ignored.
    ContinuationIgnored,
}

/// Why the decoder refuses the stream. Every variant is the peer's fault.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum FrameError {
    /// Protocol violation: write a close frame with this status and reason, then drop TCP
    /// (no stream error).
    #[error("websocket protocol violation {code}: {reason}")]
    Close { code: u16, reason: &'static str },
    /// A frame announced a payload above `c2s_stanza_size_limit`: stream error
    /// `policy-violation` "stanza too large".
    #[error("stanza too large")]
    StanzaTooLarge,
    /// More than `websocket_frame_buffer_limit` bytes would be buffered: stream error
    /// `resource-constraint` "frame buffer exceeded".
    #[error("frame buffer exceeded")]
    BufferExceeded,
}

const OP_CONTINUATION: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

fn violation(code: u16, reason: &'static str) -> FrameError {
    FrameError::Close { code, reason }
}

/// The fixed part of a frame, parsed as soon as its bytes are buffered.
#[derive(Debug, Clone, Copy)]
struct Header {
    fin: bool,
    rsv: u8,
    opcode: u8,
    mask: Option<[u8; 4]>,
    len: u64,
    header_len: usize,
}

impl Header {
    /// `None` while the header is still incomplete.
    fn parse(b: &[u8]) -> Option<Header> {
        let (&b0, rest) = b.split_first()?;
        let &b1 = rest.first()?;
        let masked = b1 & 0x80 != 0;
        let (len, mut at) = match b1 & 0x7f {
            126 => (
                u64::from(u16::from_be_bytes(b.get(2..4)?.try_into().ok()?)),
                4,
            ),
            127 => (u64::from_be_bytes(b.get(2..10)?.try_into().ok()?), 10),
            n => (u64::from(n), 2),
        };
        let mask = if masked {
            let key: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
            at += 4;
            Some(key)
        } else {
            None
        };
        Some(Header {
            fin: b0 & 0x80 != 0,
            rsv: b0 & 0x70,
            opcode: b0 & 0x0f,
            mask,
            len,
            header_len: at,
        })
    }

    /// The checks of §5.5 that need no payload, in Prosody's order.
    fn validate(&self, max_payload: usize) -> Result<(), FrameError> {
        if self.len > max_payload as u64 {
            return Err(FrameError::StanzaTooLarge);
        }
        if self.rsv != 0 {
            return Err(violation(1002, "Reserved bits not zero"));
        }
        if self.opcode == OP_CLOSE && self.len == 1 {
            return Err(violation(
                1002,
                "Close frame with payload, but too short for status code",
            ));
        }
        if self.opcode >= 0x8 {
            if self.len > 125 {
                return Err(violation(1002, "Payload too large"));
            }
            if !self.fin {
                return Err(violation(1002, "Fragmented control frame"));
            }
        }
        if (0x3..=0x7).contains(&self.opcode) || self.opcode > OP_PONG {
            return Err(violation(1002, "Reserved opcode"));
        }
        if self.opcode == OP_BINARY {
            return Err(violation(
                1003,
                "Only text frames are supported, RFC 7395 3.2",
            ));
        }
        if !self.fin {
            return Err(violation(
                1003,
                "Continuation frames are not supported, RFC 7395 3.3.3",
            ));
        }
        Ok(())
    }
}

/// Close status codes a peer may send (RFC 6455 7.4, as Prosody checks them). The reason
/// is the reference table's single wording; Prosody 0.12.3 itself says "invalid" for
/// codes below 1000 and "reserved" for the others.
fn close_status_error(code: u16) -> Option<FrameError> {
    let invalid = code < 1000;
    let reserved = ((1004..=1006).contains(&code) || code > 1011) && code < 3000;
    (invalid || reserved).then(|| violation(1002, "Closed with invalid/reserved status code"))
}

/// Frame buffer capacity kept between reads of a busy connection; a larger one (left by
/// a large frame) is given back as soon as it is drained.
const KEEP_WARM: usize = 16 * 1024;

/// Push decoder: `feed` bytes as they are read, then call `next_frame` until it returns
/// `Ok(None)` before feeding again.
///
/// ```
/// use lilt::modules::websocket::framing::{Frame, FrameDecoder};
/// let mut d = FrameDecoder::new(262_144, 524_288);
/// d.feed(&[0x81, 0x03, b'<', b'a', b'>']);
/// assert_eq!(d.next_frame(), Ok(Some(Frame::Text("<a>".into()))));
/// ```
#[derive(Debug)]
pub struct FrameDecoder {
    max_payload: usize,
    buffer_limit: usize,
    /// Unconsumed bytes live in `buf[start..]`; empty (unallocated) while idle.
    buf: Vec<u8>,
    start: usize,
    /// Once the peer broke a rule the stream is dead; the error sticks.
    failed: Option<FrameError>,
}

impl FrameDecoder {
    /// `max_payload` is `c2s_stanza_size_limit`; `buffer_limit` is
    /// `websocket_frame_buffer_limit` (Prosody default: twice the payload limit).
    pub fn new(max_payload: usize, buffer_limit: usize) -> Self {
        FrameDecoder {
            max_payload,
            buffer_limit,
            buf: Vec::new(),
            start: 0,
            failed: None,
        }
    }

    /// Bytes currently buffered and not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Heap bytes held by the decoder (0 while idle after small frames).
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Appends bytes read from the socket. Exceeding the buffer limit makes the next
    /// `next_frame` fail with [`FrameError::BufferExceeded`]; the bytes are not kept.
    pub fn feed(&mut self, data: &[u8]) {
        if self.failed.is_some() || data.is_empty() {
            return;
        }
        if self.buffered() + data.len() > self.buffer_limit {
            self.failed = Some(FrameError::BufferExceeded);
            self.release();
            return;
        }
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// The next complete frame, `Ok(None)` when more bytes are needed. A frame header that
    /// breaks a rule is refused as soon as it is buffered, before its payload arrives.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let result = self.decode();
        match &result {
            Err(err) => {
                self.failed = Some(err.clone());
                self.release();
            }
            Ok(_) if self.start == self.buf.len() && self.buf.capacity() > KEEP_WARM => {
                self.release()
            }
            Ok(_) => {}
        }
        result
    }

    fn decode(&mut self) -> Result<Option<Frame>, FrameError> {
        let pending = &self.buf[self.start..];
        let Some(header) = Header::parse(pending) else {
            return Ok(None);
        };
        header.validate(self.max_payload)?;
        // Validated against max_payload, so the length fits in usize.
        let total = header.header_len + header.len as usize;
        if pending.len() < total {
            return Ok(None);
        }
        let begin = self.start + header.header_len;
        let end = self.start + total;
        self.start = end;
        let payload = &mut self.buf[begin..end];
        if let Some(key) = header.mask {
            for (i, byte) in payload.iter_mut().enumerate() {
                *byte ^= key[i % 4];
            }
        }
        finish_frame(header, payload).map(Some)
    }

    /// Gives the buffer back when every byte in it has been decoded: an idle connection
    /// keeps no frame buffer (a busy one keeps it, up to [`KEEP_WARM`], between reads).
    pub fn release_idle(&mut self) {
        if self.start == self.buf.len() {
            self.release();
        }
    }

    fn release(&mut self) {
        self.buf = Vec::new();
        self.start = 0;
    }
}

/// The checks of §5.5 that need the payload, then the frame itself.
fn finish_frame(header: Header, payload: &[u8]) -> Result<Frame, FrameError> {
    match header.opcode {
        OP_CLOSE => {
            if payload.is_empty() {
                return Ok(Frame::Close(None, String::new()));
            }
            let code = u16::from_be_bytes([payload[0], payload[1]]);
            if let Some(err) = close_status_error(code) {
                return Err(err);
            }
            let reason = String::from_utf8_lossy(&payload[2..]).into_owned();
            Ok(Frame::Close(Some(code), reason))
        }
        OP_PING => Ok(Frame::Ping(payload.to_vec())),
        OP_PONG => Ok(Frame::Pong(payload.to_vec())),
        OP_CONTINUATION => Ok(Frame::ContinuationIgnored),
        OP_TEXT => {
            if payload.first() != Some(&b'<') {
                return Err(violation(
                    1007,
                    "Invalid payload start character, RFC 7395 3.3.3",
                ));
            }
            // RFC 6455 8.1: text must be UTF-8; 1007 is the status for bad data.
            String::from_utf8(payload.to_vec())
                .map(Frame::Text)
                .map_err(|_| violation(1007, "Invalid UTF-8 in text frame"))
        }
        _ => Err(violation(1002, "Reserved opcode")),
    }
}

fn encode_frame(opcode: u8, payload: &[u8], out: &mut Vec<u8>) {
    out.push(0x80 | opcode);
    let len = payload.len();
    if len < 126 {
        out.push(len as u8);
    } else if let Ok(short) = u16::try_from(len) {
        out.push(126);
        out.extend_from_slice(&short.to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(payload);
}

/// Appends one unmasked FIN text frame.
pub fn encode_text(payload: &str, out: &mut Vec<u8>) {
    encode_frame(OP_TEXT, payload.as_bytes(), out);
}

/// Appends a close frame with a status code and reason (reason cut to fit 125 bytes).
pub fn encode_close(code: u16, reason: &str, out: &mut Vec<u8>) {
    let mut payload = Vec::with_capacity(2 + reason.len().min(123));
    payload.extend_from_slice(&code.to_be_bytes());
    let mut cut = reason.len().min(123);
    while !reason.is_char_boundary(cut) {
        cut -= 1;
    }
    payload.extend_from_slice(&reason.as_bytes()[..cut]);
    encode_frame(OP_CLOSE, &payload, out);
}

/// Appends a ping frame (payload cut to the 125-byte control frame limit).
pub fn encode_ping(payload: &[u8], out: &mut Vec<u8>) {
    encode_frame(OP_PING, &payload[..payload.len().min(125)], out);
}

/// Appends a pong frame echoing `payload`.
pub fn encode_pong(payload: &[u8], out: &mut Vec<u8>) {
    encode_frame(OP_PONG, &payload[..payload.len().min(125)], out);
}

#[cfg(test)]
mod tests;
