//! Property tests for the frame decoder: any split of valid input yields the same frames,
//! and arbitrary bytes never panic or buffer beyond the limit.

use lilt::modules::websocket::framing::{
    encode_close, encode_ping, encode_text, Frame, FrameDecoder,
};
use proptest::prelude::*;

/// Masks a server-encoded (unmasked) frame the way a client would.
fn mask(frame: &[u8], key: [u8; 4]) -> Vec<u8> {
    let len7 = frame[1] & 0x7f;
    let header = match len7 {
        126 => 4,
        127 => 10,
        _ => 2,
    };
    let mut out = frame[..header].to_vec();
    out[1] |= 0x80;
    out.extend_from_slice(&key);
    out.extend(
        frame[header..]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ key[i % 4]),
    );
    out
}

fn decode_in_chunks(bytes: &[u8], cuts: &[usize]) -> Vec<Frame> {
    let mut d = FrameDecoder::new(262_144, 524_288);
    let mut frames = Vec::new();
    let mut at = 0;
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.sort_unstable();
    points.push(bytes.len());
    for p in points {
        d.feed(&bytes[at..p.max(at)]);
        at = p.max(at);
        while let Some(f) = d.next_frame().expect("valid input") {
            frames.push(f);
        }
    }
    frames
}

proptest! {
    #[test]
    fn any_chunking_of_valid_frames_decodes_identically(
        texts in prop::collection::vec("<[a-z ]{0,300}", 1..6),
        big in 0usize..70_000,
        key in any::<[u8; 4]>(),
        masked in any::<bool>(),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let mut stream = Vec::new();
        let mut want = Vec::new();
        let mut all: Vec<String> = texts.clone();
        all.push(format!("<{}", "b".repeat(big)));
        for t in &all {
            let mut f = Vec::new();
            encode_text(t, &mut f);
            stream.extend(if masked { mask(&f, key) } else { f });
            want.push(Frame::Text(t.clone()));
        }
        let mut ping = Vec::new();
        encode_ping(b"p", &mut ping);
        stream.extend(ping);
        want.push(Frame::Ping(b"p".to_vec()));
        let mut close = Vec::new();
        encode_close(1000, "bye", &mut close);
        stream.extend(close);
        want.push(Frame::Close(Some(1000), "bye".into()));
        prop_assert_eq!(decode_in_chunks(&stream, &cuts), want);
    }

    #[test]
    fn arbitrary_bytes_never_panic_or_overbuffer(
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..40),
    ) {
        let mut d = FrameDecoder::new(100, 200);
        for c in &chunks {
            d.feed(c);
            while let Ok(Some(_)) = d.next_frame() {}
            prop_assert!(d.buffered() <= 200);
        }
    }
}
