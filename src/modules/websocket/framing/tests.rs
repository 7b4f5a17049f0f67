//! One test per row of reference §5.5, plus the byte-level mechanics (lengths, masking,
//! partial input, buffer limits and memory release).

use super::*;

const LIMIT: usize = 262_144;

fn client_frame(first: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![first];
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    let len = payload.len();
    if len < 126 {
        out.push(mask_bit | len as u8);
    } else if len <= 0xffff {
        out.push(mask_bit | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(mask_bit | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

fn decode_all(bytes: &[u8]) -> Result<Option<Frame>, FrameError> {
    let mut d = FrameDecoder::new(LIMIT, 2 * LIMIT);
    d.feed(bytes);
    d.next_frame()
}

fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason.as_bytes());
    p
}

fn is_violation(r: Result<Option<Frame>, FrameError>, want: u16, reason: &str) {
    match r {
        Err(FrameError::Close { code, reason: got }) => {
            assert_eq!((code, got), (want, reason));
        }
        other => panic!("expected close {want} {reason:?}, got {other:?}"),
    }
}

#[test]
fn payload_above_stanza_limit_is_stanza_too_large() {
    let payload = vec![b'<'; LIMIT + 1];
    assert_eq!(
        decode_all(&client_frame(0x81, &payload, None)),
        Err(FrameError::StanzaTooLarge)
    );
    let exact = vec![b'<'; LIMIT];
    assert!(matches!(
        decode_all(&client_frame(0x81, &exact, None)),
        Ok(Some(Frame::Text(_)))
    ));
}

#[test]
fn header_announcing_one_gigabyte_is_refused_before_payload() {
    let mut d = FrameDecoder::new(LIMIT, 2 * LIMIT);
    let mut header = vec![0x81, 0x80 | 127];
    header.extend_from_slice(&(1u64 << 30).to_be_bytes());
    header.extend_from_slice(&[1, 2, 3, 4]);
    d.feed(&header);
    assert_eq!(d.next_frame(), Err(FrameError::StanzaTooLarge));
    assert!(
        d.capacity() < 1024,
        "nothing of the announced size is allocated"
    );
    // The error sticks: the stream is dead.
    d.feed(b"<more/>");
    assert_eq!(d.next_frame(), Err(FrameError::StanzaTooLarge));
}

#[test]
fn reserved_bits_are_a_protocol_error() {
    for rsv in [0x40, 0x20, 0x10] {
        is_violation(
            decode_all(&client_frame(0x81 | rsv, b"<a/>", None)),
            1002,
            "Reserved bits not zero",
        );
    }
}

#[test]
fn reserved_bits_are_refused_from_the_header_alone() {
    let mut d = FrameDecoder::new(LIMIT, 2 * LIMIT);
    d.feed(&[0xC1, 0x7d]);
    is_violation(d.next_frame(), 1002, "Reserved bits not zero");
}

#[test]
fn close_frame_with_one_byte_payload_is_refused() {
    is_violation(
        decode_all(&client_frame(0x88, &[0x03], None)),
        1002,
        "Close frame with payload, but too short for status code",
    );
}

#[test]
fn close_frame_with_invalid_or_reserved_status_is_refused() {
    for code in [0u16, 999] {
        is_violation(
            decode_all(&client_frame(0x88, &close_payload(code, ""), None)),
            1002,
            "Closed with invalid/reserved status code",
        );
    }
    for code in [1004u16, 1005, 1006, 1012, 1500, 2999] {
        is_violation(
            decode_all(&client_frame(0x88, &close_payload(code, ""), None)),
            1002,
            "Closed with invalid/reserved status code",
        );
    }
}

#[test]
fn valid_close_frame_is_returned_with_status_and_reason() {
    for code in [1000u16, 1001, 1003, 1007, 1011, 3000, 4999] {
        assert_eq!(
            decode_all(&client_frame(
                0x88,
                &close_payload(code, "bye"),
                Some([9, 8, 7, 6])
            )),
            Ok(Some(Frame::Close(Some(code), "bye".into())))
        );
    }
    assert_eq!(
        decode_all(&client_frame(0x88, b"", None)),
        Ok(Some(Frame::Close(None, String::new())))
    );
}

#[test]
fn control_frame_with_more_than_125_bytes_is_refused() {
    is_violation(
        decode_all(&client_frame(0x89, &[0u8; 126], None)),
        1002,
        "Payload too large",
    );
}

#[test]
fn control_frame_without_fin_is_refused() {
    is_violation(
        decode_all(&client_frame(0x09, b"hi", None)),
        1002,
        "Fragmented control frame",
    );
}

#[test]
fn reserved_opcodes_are_refused() {
    for op in [0x3u8, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF] {
        is_violation(
            decode_all(&client_frame(0x80 | op, b"", None)),
            1002,
            "Reserved opcode",
        );
    }
}

#[test]
fn binary_frame_is_refused_with_1003() {
    is_violation(
        decode_all(&client_frame(0x82, b"<a/>", None)),
        1003,
        "Only text frames are supported, RFC 7395 3.2",
    );
}

#[test]
fn non_fin_data_frame_is_refused_from_its_header() {
    let mut d = FrameDecoder::new(LIMIT, 2 * LIMIT);
    d.feed(&[0x01, 0x10]); // 16 bytes announced, none sent yet
    is_violation(
        d.next_frame(),
        1003,
        "Continuation frames are not supported, RFC 7395 3.3.3",
    );
    is_violation(
        decode_all(&client_frame(0x00, b"<a/>", None)),
        1003,
        "Continuation frames are not supported, RFC 7395 3.3.3",
    );
}

#[test]
fn text_not_starting_with_lt_is_refused_with_1007() {
    for payload in [&b" <a/>"[..], b"hello", b""] {
        is_violation(
            decode_all(&client_frame(0x81, payload, None)),
            1007,
            "Invalid payload start character, RFC 7395 3.3.3",
        );
    }
}

#[test]
fn text_with_invalid_utf8_is_refused_with_1007() {
    assert!(matches!(
        decode_all(&client_frame(0x81, b"<a>\xff</a>", None)),
        Err(FrameError::Close { code: 1007, .. })
    ));
}

#[test]
fn fin_continuation_frame_is_ignored() {
    let mut d = FrameDecoder::new(LIMIT, 2 * LIMIT);
    d.feed(&client_frame(0x80, b"junk", None));
    d.feed(&client_frame(0x81, b"<a/>", None));
    assert_eq!(d.next_frame(), Ok(Some(Frame::ContinuationIgnored)));
    assert_eq!(d.next_frame(), Ok(Some(Frame::Text("<a/>".into()))));
    assert_eq!(d.next_frame(), Ok(None));
}

#[test]
fn ping_and_pong_carry_their_payload() {
    let mut d = FrameDecoder::new(LIMIT, 2 * LIMIT);
    d.feed(&client_frame(0x89, b"hello", Some([1, 2, 3, 4])));
    d.feed(&client_frame(0x8A, b"", None));
    assert_eq!(d.next_frame(), Ok(Some(Frame::Ping(b"hello".to_vec()))));
    assert_eq!(d.next_frame(), Ok(Some(Frame::Pong(Vec::new()))));
}

#[test]
fn masked_and_unmasked_text_frames_decode_alike() {
    let text = "<message xmlns='jabber:client'>héllo</message>";
    let unmasked = decode_all(&client_frame(0x81, text.as_bytes(), None));
    let masked = decode_all(&client_frame(
        0x81,
        text.as_bytes(),
        Some([0xde, 0xad, 0xbe, 0xef]),
    ));
    assert_eq!(unmasked, Ok(Some(Frame::Text(text.into()))));
    assert_eq!(masked, unmasked);
}

#[test]
fn sixteen_and_sixty_four_bit_lengths_decode() {
    for len in [125usize, 126, 300, 65_535, 65_536, 200_000] {
        let mut payload = vec![b'x'; len];
        payload[0] = b'<';
        let frame = client_frame(0x81, &payload, Some([5, 6, 7, 8]));
        let want_header = if len < 126 {
            6
        } else if len <= 0xffff {
            8
        } else {
            14
        };
        assert_eq!(frame.len(), want_header + len);
        match decode_all(&frame) {
            Ok(Some(Frame::Text(t))) => assert_eq!(t.len(), len),
            other => panic!("len {len}: {other:?}"),
        }
    }
}

#[test]
fn byte_by_byte_feeding_yields_every_frame_once() {
    let mut stream = client_frame(0x81, b"<open/>", Some([1, 2, 3, 4]));
    stream.extend(client_frame(0x89, b"p", None));
    let big: String = std::iter::once('<')
        .chain(std::iter::repeat_n('y', 70_000))
        .collect();
    stream.extend(client_frame(0x81, big.as_bytes(), Some([4, 3, 2, 1])));
    let mut d = FrameDecoder::new(LIMIT, 2 * LIMIT);
    let mut frames = Vec::new();
    for byte in &stream {
        d.feed(std::slice::from_ref(byte));
        while let Some(f) = d.next_frame().expect("valid stream") {
            frames.push(f);
        }
    }
    assert_eq!(
        frames,
        vec![
            Frame::Text("<open/>".into()),
            Frame::Ping(b"p".to_vec()),
            Frame::Text(big)
        ]
    );
}

#[test]
fn buffering_beyond_the_limit_is_buffer_exceeded() {
    let mut d = FrameDecoder::new(1000, 100);
    let frame = client_frame(0x81, &[b'<'; 200], None);
    d.feed(&frame[..90]);
    assert_eq!(d.next_frame(), Ok(None));
    d.feed(&frame[90..]);
    assert_eq!(d.next_frame(), Err(FrameError::BufferExceeded));
    assert_eq!(d.capacity(), 0);
}

#[test]
fn idle_decoder_holds_no_buffer_and_shrinks_after_big_frames() {
    let mut d = FrameDecoder::new(LIMIT, 2 * LIMIT);
    assert_eq!(d.capacity(), 0);
    d.feed(&client_frame(0x81, &[b'<'; 100_000], None));
    assert!(d.capacity() >= 100_000);
    assert!(matches!(d.next_frame(), Ok(Some(Frame::Text(_)))));
    assert_eq!(d.capacity(), 0, "large buffer released once drained");
    assert_eq!(d.buffered(), 0);
}

#[test]
fn encoders_write_unmasked_fin_frames_the_decoder_reads_back() {
    let mut out = Vec::new();
    encode_text("<a/>", &mut out);
    assert_eq!(&out[..2], &[0x81, 4]);
    let long = format!("<{}", "z".repeat(70_000));
    encode_text(&long, &mut out);
    encode_ping(b"x", &mut out);
    encode_pong(b"y", &mut out);
    encode_close(1000, "Goodbye", &mut out);
    let mut d = FrameDecoder::new(LIMIT, 2 * LIMIT);
    d.feed(&out);
    assert_eq!(d.next_frame(), Ok(Some(Frame::Text("<a/>".into()))));
    assert_eq!(d.next_frame(), Ok(Some(Frame::Text(long))));
    assert_eq!(d.next_frame(), Ok(Some(Frame::Ping(b"x".to_vec()))));
    assert_eq!(d.next_frame(), Ok(Some(Frame::Pong(b"y".to_vec()))));
    assert_eq!(
        d.next_frame(),
        Ok(Some(Frame::Close(Some(1000), "Goodbye".into())))
    );
}

#[test]
fn close_reason_is_cut_to_fit_a_control_frame() {
    let mut out = Vec::new();
    encode_close(1000, &"é".repeat(100), &mut out);
    assert_eq!(out[1] as usize, out.len() - 2);
    assert!(out[1] <= 125);
    assert!(std::str::from_utf8(&out[4..]).is_ok());
}
