//! The byte-order mark and the XML declaration at the start of a stream, and U+FEFF later
//! in it: the outcome must not depend on how the bytes are split into feeds (a fuzz
//! finding: quick-xml strips a BOM at the start of every input it is given).

use super::*;

const BOM: &str = "\u{FEFF}";
const BARE_HEADER: &str = "<stream:stream xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0'>";

/// Feeds `chunks` in order; the events until the first error, and whether one came.
fn run(chunks: &[&[u8]]) -> (Vec<StreamEvent>, bool) {
    let mut p = StreamParser::new(Limits::default());
    let mut evs = Vec::new();
    for chunk in chunks {
        let failed = p.feed(chunk).is_err();
        loop {
            match p.next_event() {
                Ok(Some(ev)) => evs.push(ev),
                Ok(None) if failed => return (evs, true),
                Ok(None) => break,
                Err(_) => return (evs, true),
            }
        }
    }
    (evs, false)
}

/// The outcome of `data` fed whole, asserted identical when fed in chunks of every size
/// from 1 (byte by byte) to 16 bytes.
fn split_invariant(data: &[u8]) -> (Vec<StreamEvent>, bool) {
    let whole = run(&[data]);
    for stride in 1..=16 {
        let chunks: Vec<&[u8]> = data.chunks(stride).collect();
        assert_eq!(
            run(&chunks),
            whole,
            "chunks of {stride} bytes changed the outcome"
        );
    }
    whole
}

fn body_text(ev: &StreamEvent) -> String {
    let StreamEvent::Stanza(m) = ev else {
        panic!("not a stanza: {ev:?}")
    };
    m.get_child("body", "jabber:client")
        .map(Element::text)
        .expect("body")
}

#[test]
fn a_leading_bom_is_accepted_before_the_declaration_whatever_the_split() {
    let (evs, failed) = split_invariant(format!("{BOM}{HEADER}<presence/>").as_bytes());
    assert!(!failed);
    assert!(matches!(
        &evs[..],
        [StreamEvent::Open(_), StreamEvent::Stanza(_)]
    ));
}

#[test]
fn a_leading_bom_may_be_followed_by_whitespace_and_a_header_without_declaration() {
    let (evs, failed) = split_invariant(format!("{BOM}\r\n\t{BARE_HEADER}<iq/>").as_bytes());
    assert!(!failed);
    assert_eq!(evs.len(), 2);
}

#[test]
fn whitespace_between_the_bom_and_the_declaration_is_refused_whatever_the_split() {
    // The fuzz finding xml_stream-bom-split: fed whole this was accepted, split refused.
    let data = format!("{BOM}\t{HEADER}<iq/>");
    assert_eq!(split_invariant(data.as_bytes()), (vec![], true));
    let mut p = StreamParser::new(Limits::default());
    assert!(matches!(
        parse_all(&mut p, data.as_bytes()).1,
        Some(XmlError::NotWellFormed(_))
    ));
}

#[test]
fn a_bom_anywhere_but_the_first_bytes_is_stray_text_before_the_header() {
    for data in [
        format!("{BOM}{BOM}{HEADER}"),
        format!(" {BOM}{BARE_HEADER}"),
        format!("\u{FEFF}x{BARE_HEADER}"),
    ] {
        assert_eq!(split_invariant(data.as_bytes()), (vec![], true), "{data:?}");
    }
    assert!(matches!(
        error_of(&format!(" {BOM}{BARE_HEADER}")),
        Some(XmlError::NotWellFormed(_))
    ));
}

#[test]
fn a_truncated_bom_waits_for_its_last_byte_then_counts_as_one() {
    let mut p = StreamParser::new(Limits::default());
    assert_eq!(p.feed(b"\xEF"), Ok(()));
    assert_eq!(p.feed(b"\xBB"), Ok(()));
    assert_eq!(p.next_event(), Ok(None));
    assert_eq!(p.feed(b"\xBF"), Ok(()));
    let (evs, err) = parse_all(&mut p, HEADER.as_bytes());
    assert_eq!((evs.len(), err), (1, None));
    // An EF that does not begin a BOM is just a bad start.
    let mut p = StreamParser::new(Limits::default());
    assert!(
        parse_all(&mut p, format!("\u{FEF0}{BARE_HEADER}").as_bytes())
            .1
            .is_some()
    );
}

#[test]
fn u_feff_in_a_body_is_kept_whatever_the_split() {
    let data = format!(
        "{HEADER}<message><body>{BOM}{BOM}hi{BOM}</body></message>\
         <message><body>{BOM}</body></message>"
    );
    let (evs, failed) = split_invariant(data.as_bytes());
    assert!(!failed);
    assert_eq!(evs.len(), 3);
    assert_eq!(body_text(&evs[1]), format!("{BOM}{BOM}hi{BOM}"));
    assert_eq!(body_text(&evs[2]), BOM);
}

#[test]
fn u_feff_between_stanzas_is_ignored_text_whatever_the_split() {
    let data = format!("{HEADER}<a/>{BOM}<b/>{BOM}{BOM} <c/>");
    let (evs, failed) = split_invariant(data.as_bytes());
    assert!(!failed);
    assert_eq!(evs.len(), 4);
}

#[test]
fn a_restarted_stream_may_begin_with_a_bom_again() {
    let mut p = StreamParser::new(Limits::default());
    let (evs, _) = parse_all(&mut p, format!("{BOM}{HEADER}").as_bytes());
    assert_eq!(evs.len(), 1);
    p.reset();
    let (evs, err) = parse_all(&mut p, format!("{BOM}{HEADER}<iq/>").as_bytes());
    assert_eq!((evs.len(), err), (2, None));
}
