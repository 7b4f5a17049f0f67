//! Property tests for `lilt::xml`: chunking never changes what the stream parser sees,
//! and serialising then parsing any tree gives the same tree back.

use lilt::xml::{Element, Limits, Node, StreamEvent, StreamParser, XmlError};
use proptest::prelude::*;

const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0' xml:lang='en'>";

fn realistic_stream() -> String {
    let mut s = String::from(HEADER);
    s.push_str("\n<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth>");
    s.push_str(" <iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>gajim.ÄÖ😀</resource></bind></iq>\n");
    s.push_str("<message to='bob@example.com' note='1 > 0 \"q\"' alt=\"'>'\" type='chat' id=\"m&amp;1\" xml:lang='de'><body>Hallo &lt;Welt&gt; &#x263A; &#9731; 'q' \"dq\"</body>");
    s.push_str("<x:active xmlns:x='http://jabber.org/protocol/chatstates' x:k='v'/><![CDATA[ raw <b> & ]]></message>\t");
    s.push_str("<presence><show>away</show><status>multi\r\nline</status><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v='/></presence>");
    s.push_str(&format!(
        "<message><body>{}</body></message>",
        "long text ".repeat(300)
    ));
    s.push_str("   </stream:stream>");
    s
}

fn run(chunks: &[&[u8]]) -> (Vec<StreamEvent>, Option<XmlError>) {
    let mut p = StreamParser::new(Limits::default());
    let mut events = Vec::new();
    for chunk in chunks {
        let fed = p.feed(chunk);
        loop {
            match p.next_event() {
                Ok(Some(ev)) => events.push(ev),
                Ok(None) => break,
                Err(e) => return (events, Some(e)),
            }
        }
        if let Err(e) = fed {
            return (events, Some(e));
        }
    }
    (events, None)
}

fn split_at_points<'a>(data: &'a [u8], points: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = points.iter().map(|p| p % (data.len() + 1)).collect();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut last = 0;
    for c in cuts.into_iter().chain([data.len()]) {
        out.push(&data[last..c]);
        last = c;
    }
    out
}

#[test]
fn byte_by_byte_feeding_equals_one_shot_feeding() {
    let data = realistic_stream();
    let whole = run(&[data.as_bytes()]);
    assert_eq!(whole.1, None);
    assert_eq!(whole.0.len(), 7, "{:?}", whole.0);
    let bytes: Vec<&[u8]> = data.as_bytes().chunks(1).collect();
    assert_eq!(run(&bytes), whole);
}

proptest! {
    #[test]
    fn random_split_points_do_not_change_the_events(points in prop::collection::vec(any::<usize>(), 0..40)) {
        let data = realistic_stream();
        let whole = run(&[data.as_bytes()]);
        prop_assert_eq!(run(&split_at_points(data.as_bytes(), &points)), whole);
    }

    #[test]
    fn random_split_points_do_not_change_errors(points in prop::collection::vec(any::<usize>(), 0..20)) {
        let data = format!("{HEADER}<presence/><message><body>a &foo; b</body></message>");
        let whole = run(&[data.as_bytes()]);
        prop_assert_eq!(&whole.1, &Some(XmlError::Restricted("entity reference")));
        prop_assert_eq!(run(&split_at_points(data.as_bytes(), &points)), whole);
    }
}

fn text_strategy() -> impl Strategy<Value = String> {
    // Printable text including the five specials; no CR/TAB/LF, which XML normalises.
    "[\\PC&&[^\\r\\n\\t]]{1,12}"
}

fn attrs_strategy(
) -> impl Strategy<Value = Vec<(lilt::xml::CompactString, lilt::xml::CompactString)>> {
    let keys = vec![
        "id", "type", "to", "xml:lang", "{urn:p}k", "{urn:q}k", "a-b.c",
    ];
    prop::collection::btree_map(
        prop::sample::select(keys),
        "[\\PC&&[^\\r\\n\\t]]{0,8}",
        0..4,
    )
    .prop_map(|m| m.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
}

fn leaf_strategy() -> impl Strategy<Value = Element> {
    let names = prop::sample::select(vec!["message", "body", "x", "q", "é-name", "a1"]);
    let nss = prop::sample::select(vec!["jabber:client", "urn:a", "urn:b", ""]);
    (names, nss, attrs_strategy()).prop_map(|(n, ns, attrs)| {
        let mut el = Element::new(n, ns);
        el.attrs = attrs;
        el
    })
}

fn tree_strategy() -> impl Strategy<Value = Element> {
    leaf_strategy().prop_recursive(5, 40, 5, |inner| {
        let child = prop_oneof![
            inner.prop_map(Node::Element),
            text_strategy().prop_map(|t| Node::Text(t.into()))
        ];
        (leaf_strategy(), prop::collection::vec(child, 0..5)).prop_map(|(mut el, kids)| {
            for kid in kids {
                // The parser merges adjacent text, so generate merged text too.
                match (el.children.last_mut(), kid) {
                    (Some(Node::Text(t)), Node::Text(more)) => t.push_str(&more),
                    (_, kid) => el.children.push(kid),
                }
            }
            el
        })
    })
}

proptest! {
    #[test]
    fn serialise_then_parse_gives_the_same_tree(tree in tree_strategy()) {
        let mut xml = String::from("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>");
        tree.write_xml(&mut xml, "jabber:client");
        let (events, err) = run(&[xml.as_bytes()]);
        prop_assert_eq!(err, None, "{}", xml);
        prop_assert_eq!(events.len(), 2);
        prop_assert_eq!(&events[1], &StreamEvent::Stanza(tree.clone()), "{}", xml);
        // And standalone: to_xml declares whatever namespace is needed.
        let mut standalone = String::from("<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>");
        standalone.push_str(&tree.to_xml());
        let (events, err) = run(&[standalone.as_bytes()]);
        prop_assert_eq!(err, None);
        prop_assert_eq!(&events[1], &StreamEvent::Stanza(tree));
    }
}

#[test]
fn parsed_stanzas_survive_to_xml_and_reparse() {
    let data = realistic_stream();
    let (events, err) = run(&[data.as_bytes()]);
    assert_eq!(err, None);
    let stanzas: Vec<Element> = events
        .into_iter()
        .filter_map(|e| match e {
            StreamEvent::Stanza(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(stanzas.len(), 5);
    let mut again = String::from("<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>");
    for s in &stanzas {
        again.push_str(&s.to_xml());
    }
    let (events, err) = run(&[again.as_bytes()]);
    assert_eq!(err, None);
    let reparsed: Vec<&Element> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::Stanza(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(reparsed, stanzas.iter().collect::<Vec<_>>());
}
