//! Inputs the fuzz targets (fuzz/) found, pinned as regression tests: each names the
//! target and what the finding was.

use lilt::storage::serialization::{parse_lua_source, to_lua_source};
use lilt::storage::LuaValue;
use lilt::xml::{Limits, StreamEvent, StreamParser};

/// storage_readers, `-0E999`: a float negative zero is written as Lua's `%.18g` writes it
/// (`-0`), which Lua (and so Prosody) reads back as the integer 0. The text then stays
/// the same on every further round: no drift, no panic.
#[test]
fn negative_zero_normalises_to_integer_zero_in_one_round() {
    let v = parse_lua_source("-0E999").expect("parses");
    assert!(
        matches!(v, LuaValue::Num(n) if n == 0.0 && n.is_sign_negative()),
        "{v:?}"
    );
    let once = to_lua_source(&v);
    let back = parse_lua_source(&once).expect("own output parses");
    assert_eq!(back, LuaValue::Int(0));
    let twice = to_lua_source(&back);
    assert_eq!(
        to_lua_source(&parse_lua_source(&twice).expect("parses")),
        twice
    );
}

/// Events and whether an error ended them, using the parser as its contract says: after
/// a `feed` error the events parsed before it are still delivered, then `next_event`
/// repeats the error.
fn run(chunks: &[&[u8]]) -> (Vec<StreamEvent>, bool) {
    let mut parser = StreamParser::new(Limits {
        max_stanza_bytes: 4096,
        max_depth: 32,
        max_child_elements: 64,
        ..Limits::default()
    });
    let mut events = Vec::new();
    for chunk in chunks {
        let fed_error = parser.feed(chunk).is_err();
        loop {
            match parser.next_event() {
                Ok(Some(ev)) => events.push(ev),
                Ok(None) if fed_error => return (events, true),
                Ok(None) => break,
                Err(_) => return (events, true),
            }
        }
    }
    (events, false)
}

/// xml_stream: a stream header and a stanza with a mismatched end tag in one chunk.
/// `feed` fails, yet the header parsed before the error is still delivered by
/// `next_event` (the harness first dropped it on the feed error, as the WebSocket session
/// did); fed whole or in pieces, the header comes first, then the error.
#[test]
fn an_error_in_the_same_chunk_as_the_header_does_not_hide_the_header() {
    let body: &[u8] = b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
        xmlns:stream='http://etherx.jabber.org/streams' to='example.test' version='1.0'>\
        <auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFs</a-th>";
    let whole = run(&[body]);
    let pieces: Vec<&[u8]> = body.chunks(8).collect();
    let split = run(&pieces);
    assert!(whole.1, "the mismatched end tag is an error");
    assert!(
        matches!(whole.0.as_slice(), [StreamEvent::Open(_)]),
        "header delivered before the error: {:?}",
        whole.0
    );
    assert_eq!(whole, split);
}

/// xml_stream: complete stanzas followed by a forbidden character (a NUL) later in the
/// same chunk. Fed whole, the character check of the chunk used to reject everything in
/// it, while fed in pieces the stanzas before it were delivered; now both deliver them,
/// then fail.
#[test]
fn stanzas_before_a_forbidden_character_are_delivered_however_the_input_is_split() {
    let body: &[u8] = b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
        xmlns:stream='http://etherx.jabber.org/streams' to='example.test' version='1.0'>\
        <presence/><message to='bob@example.test'><body>a\0b</body></message>";
    let whole = run(&[body]);
    let pieces: Vec<&[u8]> = body.chunks(5).collect();
    let split = run(&pieces);
    assert!(whole.1, "the NUL is an error");
    assert_eq!(whole.0.len(), 2, "header and presence: {:?}", whole.0);
    assert!(matches!(&whole.0[1], StreamEvent::Stanza(p) if p.name == "presence"));
    assert_eq!(whole, split);
}
