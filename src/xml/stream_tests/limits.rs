//! Limits: depth, descendants and stanza size, enforced as bytes arrive with bounded
//! memory and linear-time scanning.

use super::*;
use std::time::{Duration, Instant};

#[test]
fn ten_thousand_nested_elements_fail_fast_with_too_deep() {
    let start = Instant::now();
    let data = format!("{HEADER}{}", "<a>".repeat(10_000));
    let mut p = StreamParser::new(Limits {
        max_stanza_bytes: 1 << 20,
        ..Limits::default()
    });
    assert_eq!(
        parse_all(&mut p, data.as_bytes()).1,
        Some(XmlError::TooDeep)
    );
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[test]
fn depth_limit_counts_the_stanza_as_depth_one() {
    let limits = Limits {
        max_depth: 3,
        ..Limits::default()
    };
    let ok = format!("{HEADER}<a><b><c/></b></a>");
    assert_eq!(
        parse_all(&mut StreamParser::new(limits), ok.as_bytes()).1,
        None
    );
    let deep = format!("{HEADER}<a><b><c><d/></c></b></a>");
    let got = parse_all(&mut StreamParser::new(limits), deep.as_bytes()).1;
    assert_eq!(got, Some(XmlError::TooDeep));
}

#[test]
fn too_many_descendants_is_refused() {
    let limits = Limits {
        max_child_elements: 3,
        ..Limits::default()
    };
    let ok = format!("{HEADER}<m><a/><b><c/></b></m><m><a/><a/><a/></m>");
    assert_eq!(
        parse_all(&mut StreamParser::new(limits), ok.as_bytes()).1,
        None
    );
    let bad = format!("{HEADER}<m><a/><b><c/></b><d/></m>");
    let got = parse_all(&mut StreamParser::new(limits), bad.as_bytes()).1;
    assert_eq!(got, Some(XmlError::TooManyChildren));
}

#[test]
fn megabyte_stanza_in_small_chunks_is_refused_near_the_limit() {
    let mut p = StreamParser::new(Limits::default());
    p.set_max_stanza_bytes(10_000);
    p.feed(HEADER.as_bytes()).expect("header");
    p.feed(b"<message><body>").expect("start");
    let chunk = [b'x'; 1000];
    let mut fed = 0;
    let err = loop {
        match p.feed(&chunk) {
            Ok(()) => fed += chunk.len(),
            Err(e) => break e,
        }
        assert!(fed < 1_000_000);
    };
    assert_eq!(err, XmlError::StanzaTooLarge);
    assert!((9_000..=10_000).contains(&fed), "refused after {fed} bytes");
    assert!(
        p.buffer_capacity() <= 10_001,
        "capacity {}",
        p.buffer_capacity()
    );
}

#[test]
fn megabyte_feed_is_refused_without_buffering_it() {
    let mut p = StreamParser::new(Limits::default());
    p.set_max_stanza_bytes(10_000);
    let mut data = format!("{HEADER}<message><body>").into_bytes();
    data.resize(1 << 20, b'x');
    assert_eq!(parse_all(&mut p, &data).1, Some(XmlError::StanzaTooLarge));
    assert!(
        p.buffer_capacity() <= 10_001,
        "capacity {}",
        p.buffer_capacity()
    );
}

#[test]
fn complete_oversized_stanza_in_one_feed_is_refused() {
    let mut p = StreamParser::new(Limits::default());
    p.set_max_stanza_bytes(10_000);
    p.feed(HEADER.as_bytes()).expect("header");
    let big = format!("<message><body>{}</body></message>", "x".repeat(20_000));
    let (evs, err) = parse_all(&mut p, big.as_bytes());
    assert_eq!(err, Some(XmlError::StanzaTooLarge));
    assert!(evs.iter().all(|e| matches!(e, StreamEvent::Open(_))));
}

#[test]
fn many_small_stanzas_in_one_large_feed_are_all_accepted() {
    let mut p = StreamParser::new(Limits::default());
    p.set_max_stanza_bytes(10_000);
    let mut data = HEADER.to_owned();
    for i in 0..20_000 {
        data.push_str(&format!("<presence id='{i}'/> "));
    }
    let (evs, err) = parse_all(&mut p, data.as_bytes());
    assert_eq!(err, None);
    assert_eq!(evs.len(), 20_001);
    assert!(p.buffer_capacity() <= 10_001);
}

#[test]
fn whitespace_keepalives_never_count_towards_the_limit() {
    let mut p = StreamParser::new(Limits::default());
    p.feed(HEADER.as_bytes()).expect("header");
    p.set_max_stanza_bytes(100);
    for _ in 0..1000 {
        p.feed(b" ").expect("keepalive");
    }
    p.feed(b"<presence/>").expect("stanza");
}

fn stanza_with_limit(stanza: &str, limit: usize, bytewise: bool) -> Option<XmlError> {
    let mut p = StreamParser::new(Limits::default());
    p.feed(HEADER.as_bytes()).expect("header");
    p.set_max_stanza_bytes(limit);
    if bytewise {
        stanza.as_bytes().chunks(1).find_map(|b| p.feed(b).err())
    } else {
        p.feed(stanza.as_bytes()).err()
    }
}

#[test]
fn a_stanza_of_exactly_the_limit_passes_and_one_byte_more_fails() {
    let stanza = format!("<message><body>{}</body></message>", "é".repeat(100));
    let n = stanza.len();
    for bytewise in [false, true] {
        assert_eq!(stanza_with_limit(&stanza, n, bytewise), None);
        assert_eq!(
            stanza_with_limit(&stanza, n - 1, bytewise),
            Some(XmlError::StanzaTooLarge),
            "bytewise {bytewise}"
        );
    }
}

#[test]
fn raising_the_limit_after_authentication_admits_larger_stanzas() {
    let mut p = StreamParser::new(Limits::default());
    p.set_max_stanza_bytes(10_000);
    p.feed(HEADER.as_bytes()).expect("header");
    let big = format!("<message><body>{}</body></message>", "x".repeat(20_000));
    p.set_max_stanza_bytes(262_144);
    for chunk in big.as_bytes().chunks(4096) {
        p.feed(chunk).expect("within the new limit");
    }
    assert!(matches!(p.next_event(), Ok(Some(StreamEvent::Open(_)))));
    assert!(matches!(p.next_event(), Ok(Some(StreamEvent::Stanza(_)))));
}

/// Feeds `data` one byte at a time and returns how long it took.
fn bytewise_duration(data: &[u8]) -> (Duration, Vec<StreamEvent>) {
    let mut p = StreamParser::new(Limits::default());
    let start = Instant::now();
    for b in data.chunks(1) {
        p.feed(b).expect("valid");
    }
    let elapsed = start.elapsed();
    let mut evs = Vec::new();
    while let Some(ev) = p.next_event().expect("valid") {
        evs.push(ev);
    }
    (elapsed, evs)
}

#[test]
fn large_tokens_fed_byte_by_byte_are_scanned_in_linear_time() {
    // 200 KB in one attribute value, in one text node and in ignored text between
    // stanzas: rescanning the tail on every feed would take minutes here.
    let n = 200_000;
    let cases = [
        format!("{HEADER}<m a='{}'/>", "v>".repeat(n / 2)),
        format!("{HEADER}<m>{}</m>", "t".repeat(n)),
        format!("{HEADER}{}<m/>", "j".repeat(n)),
    ];
    for case in &cases {
        let (elapsed, evs) = bytewise_duration(case.as_bytes());
        assert_eq!(evs.len(), 2);
        assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    }
}

#[test]
fn a_tree_at_the_default_depth_limit_clones_compares_and_prints_on_a_small_stack() {
    // Clone/PartialEq/Debug are derived (recursive); max_depth is what bounds them.
    let depth = Limits::default().max_depth;
    let data = format!("{HEADER}{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
    let mut p = StreamParser::new(Limits::default());
    p.feed(data.as_bytes()).expect("at the limit");
    p.next_event().expect("open");
    let Ok(Some(StreamEvent::Stanza(stanza))) = p.next_event() else {
        panic!("stanza expected")
    };
    let worker = std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(move || {
            let copy = stanza.clone();
            assert_eq!(copy, stanza);
            format!("{stanza:?}").len()
        })
        .expect("spawn");
    assert!(worker.join().expect("no stack overflow") > depth * 10);
}

fn attributes(n: usize) -> String {
    let mut s = String::from("<message");
    for i in 0..n {
        s.push_str(&format!(" a{i}='v'"));
    }
    s.push_str("/>");
    s
}

#[test]
fn twenty_six_thousand_attributes_parse_in_linear_time() {
    // Quadratic duplicate checks took 1.5 s for 26 000 attributes. Compared with a quarter
    // of them, linear work takes about 4 times as long and quadratic about 16 times; the
    // fastest of three runs of each keeps a loaded machine from deciding the outcome.
    let limits = Limits {
        max_stanza_bytes: 1 << 20,
        max_attributes: 30_000,
        ..Limits::default()
    };
    let time = |n: usize| {
        let data = format!("{HEADER}{}", attributes(n));
        (0..3)
            .map(|_| {
                let start = Instant::now();
                let (events, err) = parse_all(&mut StreamParser::new(limits), data.as_bytes());
                let took = start.elapsed();
                assert_eq!(err, None);
                assert_eq!(events.len(), 2, "header and the message");
                took
            })
            .min()
            .expect("three runs")
    };
    let (quarter, full) = (time(6_500), time(26_000));
    let ratio = full.as_secs_f64() / quarter.as_secs_f64().max(1e-6);
    assert!(
        ratio < 9.0,
        "26 000 attributes took {ratio:.1}× as long as 6 500 ({full:?} vs {quarter:?})"
    );
}

#[test]
fn attributes_past_the_cap_are_refused_before_they_are_checked() {
    let data = format!("{HEADER}{}", attributes(26_000));
    let limits = Limits {
        max_stanza_bytes: 1 << 20,
        ..Limits::default()
    };
    let got = parse_all(&mut StreamParser::new(limits), data.as_bytes()).1;
    assert_eq!(got, Some(XmlError::TooManyAttributes));
}

#[test]
fn a_duplicate_attribute_is_found_among_many() {
    let mut tag = attributes(100);
    tag.insert_str(tag.len() - 2, " a57='again'");
    let data = format!("{HEADER}{tag}");
    let got = parse_all(&mut StreamParser::new(Limits::default()), data.as_bytes()).1;
    assert!(matches!(got, Some(XmlError::NotWellFormed(m)) if m.contains("a57")));
}

#[test]
fn a_restarted_header_is_limited_like_the_first() {
    let mut p = StreamParser::new(Limits {
        max_stanza_bytes: 262_144,
        max_header_bytes: 10_000,
        ..Limits::default()
    });
    p.feed(HEADER.as_bytes()).expect("first header");
    p.reset();
    let padded = format!(
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' pad='{}'>",
        "x".repeat(20_000)
    );
    assert_eq!(p.feed(padded.as_bytes()), Err(XmlError::StanzaTooLarge));
}
