//! Behaviour of `StreamParser` on whole streams: headers, namespaces, language,
//! restarts. Restricted XML and limits have their own files.

mod bom;
mod limits;
mod restricted;

use super::*;

pub(super) const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
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
fn a_client_stream_without_language_gives_stanzas_the_default_one_also_after_a_restart() {
    let bare =
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";
    let mut p = StreamParser::new(Limits::default()).with_default_lang("en");
    for _ in 0..2 {
        let (evs, err) = parse_all(&mut p, format!("{bare}<iq/><iq xml:lang='de'/>").as_bytes());
        assert_eq!(err, None);
        let langs: Vec<_> = evs
            .iter()
            .filter_map(|e| match e {
                StreamEvent::Stanza(s) => Some(s.attr("xml:lang")),
                _ => None,
            })
            .collect();
        assert_eq!(langs, [Some("en"), Some("de")]);
        p.reset();
    }
    // The header's own language wins over the default.
    let mut p = StreamParser::new(Limits::default()).with_default_lang("en");
    parse_all(
        &mut p,
        HEADER.replace("xml:lang='en'", "xml:lang='fr'").as_bytes(),
    );
    let (evs, _) = parse_all(&mut p, b"<m/>");
    assert!(matches!(&evs[..], [StreamEvent::Stanza(s)] if s.attr("xml:lang") == Some("fr")));
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
fn parser_and_elements_can_move_between_threads() {
    fn assert_send<T: Send + Sync>() {}
    assert_send::<StreamParser>();
    assert_send::<Element>();
    assert_eq!(
        Limits::default(),
        Limits {
            max_stanza_bytes: 262_144,
            max_depth: 256,
            max_child_elements: 25_000,
            max_attributes: 5_000,
            max_header_bytes: 10_000,
        }
    );
}
