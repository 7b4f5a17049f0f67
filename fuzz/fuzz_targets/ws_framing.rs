//! The RFC 6455 frame decoder with RFC 7395 framing conversion: arbitrary bytes split at
//! arbitrary points never panic, never yield a payload over the limit, and split input
//! decodes to the same frames as whole input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lilt::modules::websocket::conversion::frame_to_stream;
use lilt::modules::websocket::framing::{Frame, FrameDecoder};

const MAX_PAYLOAD: usize = 2048;
const BUFFER_LIMIT: usize = 4096;

fn run(chunks: &[&[u8]]) -> (Vec<String>, Option<String>) {
    let mut d = FrameDecoder::new(MAX_PAYLOAD, BUFFER_LIMIT);
    let mut out = Vec::new();
    for c in chunks {
        d.feed(c);
        loop {
            match d.next_frame() {
                Ok(None) => break,
                Ok(Some(f)) => {
                    if let Frame::Text(t) = &f {
                        assert!(t.len() <= MAX_PAYLOAD, "payload over the limit");
                        let converted = frame_to_stream(t);
                        out.push(format!("T:{converted}"));
                    } else {
                        out.push(format!("{f:?}"));
                    }
                }
                Err(e) => return (out, Some(format!("{e:?}"))),
            }
        }
    }
    (out, None)
}

fuzz_target!(|data: &[u8]| {
    if data.is_empty() {
        return;
    }
    let stride = (data[0] as usize % 32) + 1;
    let body = &data[1..];
    let whole = run(&[body]);
    let split: Vec<&[u8]> = body.chunks(stride).collect();
    let pieces = run(&split);
    // The buffer limit may trip earlier when data arrives in one piece, so only compare
    // runs that ended the same way.
    if whole.1.is_none() && pieces.1.is_none() {
        assert_eq!(
            whole.0, pieces.0,
            "splitting every {stride} bytes changed the frames"
        );
    }
    // Conversion on its own, on any text.
    if let Ok(s) = std::str::from_utf8(body) {
        let _ = frame_to_stream(s);
    }
});
