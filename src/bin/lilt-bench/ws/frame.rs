//! RFC 6455 frame codec shared by the bench client and `ws-echo`.
//!
//! Only what the bench needs: single-frame (FIN) text/binary messages and control frames;
//! fragmented messages are rejected. Client frames are masked, server frames are not.

/// Opcodes of RFC 6455 §5.2.
pub const OP_TEXT: u8 = 0x1;
pub const OP_BINARY: u8 = 0x2;
pub const OP_CLOSE: u8 = 0x8;
pub const OP_PING: u8 = 0x9;
pub const OP_PONG: u8 = 0xA;

/// The GUID of RFC 6455 §1.3 appended to `Sec-WebSocket-Key` for the accept hash.
pub const ACCEPT_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// One decoded frame; `payload` is already unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub opcode: u8,
    pub payload: Vec<u8>,
}

/// Why a byte stream is not a frame sequence the bench accepts.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("fragmented frame (FIN not set or continuation opcode)")]
    Fragmented,
    #[error("frame of {0} bytes exceeds the limit")]
    TooLarge(u64),
}

/// `Sec-WebSocket-Accept` for a given `Sec-WebSocket-Key`.
pub fn accept_key(key: &str) -> String {
    use base64::Engine;
    use sha1::Digest;
    let mut h = sha1::Sha1::new();
    h.update(key.trim().as_bytes());
    h.update(ACCEPT_GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

/// Appends one FIN frame to `out`; `mask` is `Some` for client-to-server frames.
pub fn encode(opcode: u8, payload: &[u8], mask: Option<[u8; 4]>, out: &mut Vec<u8>) {
    out.push(0x80 | opcode);
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    let len = payload.len();
    if len < 126 {
        out.push(mask_bit | len as u8);
    } else if len <= 0xFFFF {
        out.push(mask_bit | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(mask_bit | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            let start = out.len();
            out.extend_from_slice(payload);
            for (i, b) in out[start..].iter_mut().enumerate() {
                *b ^= key[i & 3];
            }
        }
        None => out.extend_from_slice(payload),
    }
}

/// Decodes the first complete frame of `buf`: `Ok(Some((frame, consumed)))`, or `Ok(None)`
/// when more bytes are needed.
pub fn decode(buf: &[u8], max_payload: usize) -> Result<Option<(Frame, usize)>, FrameError> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let fin = buf[0] & 0x80 != 0;
    let opcode = buf[0] & 0x0F;
    if !fin || opcode == 0 {
        return Err(FrameError::Fragmented);
    }
    let masked = buf[1] & 0x80 != 0;
    let (len, mut pos) = match buf[1] & 0x7F {
        126 => {
            if buf.len() < 4 {
                return Ok(None);
            }
            (u64::from(u16::from_be_bytes([buf[2], buf[3]])), 4)
        }
        127 => {
            if buf.len() < 10 {
                return Ok(None);
            }
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[2..10]);
            (u64::from_be_bytes(b), 10)
        }
        n => (u64::from(n), 2),
    };
    if len > max_payload as u64 {
        return Err(FrameError::TooLarge(len));
    }
    let mut key = [0u8; 4];
    if masked {
        if buf.len() < pos + 4 {
            return Ok(None);
        }
        key.copy_from_slice(&buf[pos..pos + 4]);
        pos += 4;
    }
    let len = len as usize;
    if buf.len() < pos + len {
        return Ok(None);
    }
    let mut payload = buf[pos..pos + len].to_vec();
    if masked {
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= key[i & 3];
        }
    }
    Ok(Some((Frame { opcode, payload }, pos + len)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_frame_round_trips_through_decode() {
        for len in [0usize, 5, 125, 126, 300, 70_000] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let mut out = Vec::new();
            encode(OP_TEXT, &payload, Some([1, 2, 3, 4]), &mut out);
            let (frame, used) = decode(&out, 1 << 20).unwrap().unwrap();
            assert_eq!(used, out.len());
            assert_eq!(frame.payload, payload);
            assert_eq!(decode(&out[..out.len() - 1], 1 << 20).unwrap(), None);
        }
    }

    #[test]
    fn accept_key_matches_rfc6455_example() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn fragments_and_oversized_frames_are_refused() {
        assert_eq!(decode(&[0x01, 0x00], 10), Err(FrameError::Fragmented));
        let mut out = Vec::new();
        encode(OP_TEXT, &[0u8; 20], None, &mut out);
        assert_eq!(decode(&out, 10), Err(FrameError::TooLarge(20)));
    }
}
