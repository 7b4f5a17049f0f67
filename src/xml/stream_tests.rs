//! Behaviour of `StreamParser` on whole streams: headers, namespaces, restricted XML,
//! limits and restarts.

use super::*;
use std::time::{Duration, Instant};

const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0' xml:lang='en'>";

fn parse_all(p: &mut StreamParser, data: &[u8]) -> (Vec<StreamEvent>, Option<XmlError>) {
    let fed = p.feed(data).err();
    let mut events = Vec::new();
    loop {
        match p.next_event() {
            Ok(Some(ev)) => events.push(ev),
            Ok(None) => return (events, fed),
            Err(e) => {
                assert_eq!(Some(&e), fed.as_ref(), "next_event repeats the feed error");
                return (events, Some(e));
            }
        }
    }
}

fn events(data: &str) -> (Vec<StreamEvent>, Option<XmlError>) {
    parse_all(&mut StreamParser::new(Limits::default()), data.as_bytes())
}

fn error_of(data: &str) -> Option<XmlError> {
    events(data).1
}

fn stanzas(data: &str) -> Vec<Element> {
    let (evs, err) = events(data);
    assert_eq!(err, None);
    evs.into_iter()
        .filter_map(|e| match e {
            StreamEvent::Stanza(s) => Some(s),
            _ => None,
        })
        .collect()
}

#[test]
fn header_is_reported_with_its_attributes_and_default_namespace() {
    let mut p = StreamParser::new(Limits::default());
    let (evs, err) = parse_all(&mut p, HEADER.as_bytes());
    assert_eq!(err, None);
    let [StreamEvent::Open(h)] = &evs[..] else {
        panic!("{evs:?}")
    };
    assert_eq!((h.name.as_str(), h.ns.as_str()), ("stream", STREAMS_NS));
    assert_eq!(h.attr("to"), Some("example.com"));
    assert_eq!(h.attr("version"), Some("1.0"));
    assert_eq!(h.attr("xml:lang"), Some("en"));
    assert_eq!(h.attr("xmlns"), None);
    assert_eq!(p.default_ns(), "jabber:client");
}

#[test]
fn stanzas_and_close_follow_the_header_and_whitespace_is_ignored() {
    let (evs, err) = events(&format!(
        "{HEADER}\n <message to='a@b'><body>hi &amp; &#x263A;</body></message> \n\t<presence/></stream:stream>"
    ));
    assert_eq!(err, None);
    assert_eq!(evs.len(), 4);
    let StreamEvent::Stanza(m) = &evs[1] else {
        panic!()
    };
    assert_eq!(m.ns, "jabber:client");
    assert_eq!(
        m.get_child("body", "jabber:client").map(Element::text),
        Some("hi & \u{263A}".into())
    );
    assert_eq!(evs[3], StreamEvent::Close);
}

#[test]
fn namespaces_resolve_defaults_and_prefixes_from_header_and_stanza() {
    let s = stanzas(&format!(
        "{HEADER}<iq type='get' id='1'><query xmlns='jabber:iq:roster'><item/></query>\
         <p:x xmlns:p='urn:p' p:attr='v'><p:y/><z/></p:x><stream:features/></iq>"
    ));
    let iq = &s[0];
    assert_eq!(iq.ns, "jabber:client");
    let q = iq.get_child("query", "jabber:iq:roster").expect("query");
    assert!(q.get_child("item", "jabber:iq:roster").is_some());
    let x = iq.get_child("x", "urn:p").expect("x");
    assert_eq!(x.attr("{urn:p}attr"), Some("v"));
    assert!(x.get_child("y", "urn:p").is_some());
    assert!(x.get_child("z", "jabber:client").is_some());
    assert!(iq.get_child("features", STREAMS_NS).is_some());
}

#[test]
fn undeclared_prefix_is_not_well_formed() {
    assert!(matches!(
        error_of(&format!("{HEADER}<a:b/>")),
        Some(XmlError::NotWellFormed(_))
    ));
}

#[test]
fn stanzas_inherit_the_stream_language_unless_they_have_one() {
    let s = stanzas(&format!("{HEADER}<message/><message xml:lang='fr'/>"));
    assert_eq!(s[0].attr("xml:lang"), Some("en"));
    assert_eq!(s[1].attr("xml:lang"), Some("fr"));
    let no_lang = stanzas(
        "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'><iq xmlns='jabber:client'/>",
    );
    assert_eq!(no_lang[0].attr("xml:lang"), None);
    assert_eq!(no_lang[0].ns, "jabber:client");
}

#[test]
fn doctype_is_restricted() {
    let e = error_of("<?xml version='1.0'?><!DOCTYPE stream [<!ENTITY a 'b'>]><stream:stream/>");
    assert_eq!(e, Some(XmlError::Restricted("DTD")));
}

#[test]
fn billion_laughs_is_refused_before_any_expansion() {
    let mut doc = String::from("<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_owned()
        } else {
            format!("lol{}", i - 1)
        };
        doc.push_str(&format!(
            "<!ENTITY lol{i} '{}'>",
            format!("&{prev};").repeat(10)
        ));
    }
    doc.push_str("]><stream:stream xmlns:stream='http://etherx.jabber.org/streams'><a>&lol9;</a>");
    assert_eq!(error_of(&doc), Some(XmlError::Restricted("DTD")));
}

#[test]
fn entity_declaration_is_restricted() {
    assert_eq!(
        error_of(&format!("{HEADER}<!ENTITY x 'y'>")),
        Some(XmlError::Restricted("entity declaration"))
    );
}

#[test]
fn unknown_entity_reference_is_restricted_in_text_and_attributes() {
    let e = Some(XmlError::Restricted("entity reference"));
    assert_eq!(error_of(&format!("{HEADER}<m>&foo;</m>")), e);
    assert_eq!(error_of(&format!("{HEADER}<m a='&foo;'/>")), e);
}

#[test]
fn comment_is_restricted_anywhere() {
    let e = Some(XmlError::Restricted("comment"));
    assert_eq!(error_of("<!-- hi --><stream:stream/>"), e);
    assert_eq!(error_of(&format!("{HEADER}<m><!-- hi --></m>")), e);
}

#[test]
fn processing_instructions_other_than_the_leading_declaration_are_restricted() {
    let e = Some(XmlError::Restricted("processing instruction"));
    assert_eq!(error_of(&format!("{HEADER}<m><?php x?></m>")), e);
    assert_eq!(error_of(&format!("{HEADER}<?xml version='1.0'?>")), e);
    assert_eq!(error_of("<?xml-stylesheet href='a'?><stream:stream/>"), e);
    assert_eq!(error_of(&format!("<?xml version='1.0'?>{HEADER}")), e);
}

#[test]
fn garbage_or_a_non_stream_first_element_is_invalid_namespace() {
    let e = Some(XmlError::InvalidNamespace);
    assert_eq!(error_of("GET / HTTP/1.1\r\n"), e);
    assert_eq!(error_of("<message xmlns='jabber:client'/>"), e);
    assert_eq!(error_of("<stream xmlns='jabber:client'>"), e);
    assert_eq!(error_of("<stream:stream xmlns:stream='urn:wrong'>"), e);
}

#[test]
fn text_between_stanzas_is_ignored_but_must_be_well_formed() {
    let (evs, err) = events(&format!("{HEADER}<a/>junk &amp; <![CDATA[x]]><b/>more"));
    assert_eq!(err, None);
    assert_eq!(evs.len(), 3);
    assert_eq!(
        error_of(&format!("{HEADER}<a/>junk &foo;<b/>")),
        Some(XmlError::Restricted("entity reference"))
    );
}

#[test]
fn xml_declaration_must_be_utf8_version_1_0() {
    let e = Some(XmlError::Restricted("XML declaration"));
    let tail = "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>";
    assert_eq!(error_of(&format!("<?xml version='1.1'?>{tail}")), e);
    assert_eq!(
        error_of(&format!(
            "<?xml version='1.0' encoding='ISO-8859-1'?>{tail}"
        )),
        e
    );
    assert_eq!(
        error_of(&format!("<?xml version='1.0' standalone='no'?>{tail}")),
        e
    );
    assert_eq!(
        error_of(&format!("<?xml version='1.0' encoding='UTF-8'?>{tail}")),
        None
    );
}

#[test]
fn invalid_utf8_is_not_well_formed_even_when_split() {
    let mut p = StreamParser::new(Limits::default());
    let mut data = format!("{HEADER}<m>").into_bytes();
    data.extend_from_slice(b"\xc3\xa9 ok \xff</m>");
    assert!(matches!(
        parse_all(&mut p, &data).1,
        Some(XmlError::NotWellFormed(_))
    ));
    let mut p = StreamParser::new(Limits::default());
    assert!(matches!(
        parse_all(&mut p, b"<stream:stream \xc3(")
            .1
            .or_else(|| p.feed(b">").err()),
        Some(XmlError::NotWellFormed(_))
    ));
}

#[test]
fn multibyte_characters_split_across_feeds_are_reassembled() {
    let mut p = StreamParser::new(Limits::default());
    let data = format!("{HEADER}<m a='é'>ça 😀</m>").into_bytes();
    for b in &data {
        p.feed(std::slice::from_ref(b)).expect("valid");
    }
    let mut last = None;
    while let Some(ev) = p.next_event().expect("valid") {
        last = Some(ev);
    }
    let Some(StreamEvent::Stanza(m)) = last else {
        panic!()
    };
    assert_eq!((m.text().as_str(), m.attr("a")), ("ça 😀", Some("é")));
}

#[test]
fn mismatched_end_tag_is_not_well_formed() {
    assert!(matches!(
        error_of(&format!("{HEADER}<a><b></a></b>")),
        Some(XmlError::NotWellFormed(_))
    ));
    assert!(matches!(
        error_of(&format!("{HEADER}</stream:wrong>")),
        Some(XmlError::NotWellFormed(_))
    ));
}

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

#[test]
fn events_before_an_error_are_still_delivered() {
    let (evs, err) = events(&format!("{HEADER}<presence/><m>&bad;</m>"));
    assert_eq!(evs.len(), 2);
    assert_eq!(err, Some(XmlError::Restricted("entity reference")));
}

#[test]
fn reset_expects_a_new_header_and_reopens() {
    let mut p = StreamParser::new(Limits::default());
    let (evs, _) = parse_all(&mut p, format!("{HEADER}<auth/>").as_bytes());
    assert_eq!(evs.len(), 2);
    p.reset();
    assert_eq!(p.default_ns(), "");
    let (evs, err) = parse_all(&mut p, format!("{HEADER}<iq/>").as_bytes());
    assert_eq!(err, None);
    assert!(matches!(
        &evs[..],
        [StreamEvent::Open(_), StreamEvent::Stanza(_)]
    ));
    assert_eq!(p.default_ns(), "jabber:client");
    p.reset();
    assert_eq!(
        parse_all(&mut p, b"<iq xmlns='jabber:client'/>").1,
        Some(XmlError::InvalidNamespace)
    );
}

#[test]
fn self_closed_header_opens_and_closes() {
    let (evs, err) = events("<stream:stream xmlns:stream='http://etherx.jabber.org/streams'/>");
    assert_eq!(err, None);
    assert!(matches!(
        &evs[..],
        [StreamEvent::Open(_), StreamEvent::Close]
    ));
}

#[test]
fn cdata_is_text_and_merges_with_neighbours() {
    let s = stanzas(&format!("{HEADER}<m>a<![CDATA[<b>&amp;]]>c</m>"));
    assert_eq!(s[0].children, vec![Node::Text("a<b>&amp;c".into())]);
}

#[test]
fn attribute_values_are_normalised_and_duplicates_rejected() {
    let s = stanzas(&format!("{HEADER}<m a='x\ny&#10;z'/>"));
    assert_eq!(s[0].attr("a"), Some("x y\nz"));
    assert!(matches!(
        error_of(&format!("{HEADER}<m a='1' a='2'/>")),
        Some(XmlError::NotWellFormed(_))
    ));
    assert!(matches!(
        error_of(&format!("{HEADER}<m a/>")),
        Some(XmlError::NotWellFormed(_))
    ));
}

#[test]
fn data_after_the_stream_close_is_not_well_formed() {
    assert!(matches!(
        error_of(&format!("{HEADER}</stream:stream><m/>")),
        Some(XmlError::NotWellFormed(_))
    ));
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
