//! A canonical form of a stanza for comparing two servers' answers: namespaces resolved,
//! attributes sorted, ids and timestamps (which differ by design) blanked.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

const VOLATILE_ATTRS: &[&str] = &["id", "stamp", "timestamp", "xml:lang"];
const VOLATILE_TEXT: &[&str] = &["first", "last"];

/// `{ns}name[attrs](children)` with volatile parts replaced by `*`.
pub fn canonical(xml: &str) -> String {
    let mut reader = NsReader::from_str(xml);
    let mut out = String::new();
    let mut stack: Vec<String> = Vec::new();
    loop {
        match reader.read_resolved_event() {
            Ok((ns, Event::Start(e))) => {
                open(&mut out, &ns, &e);
                stack.push(local(&e));
            }
            Ok((ns, Event::Empty(e))) => {
                open(&mut out, &ns, &e);
                out.push(')');
            }
            Ok((_, Event::End(_))) => {
                stack.pop();
                out.push(')');
            }
            Ok((_, Event::Text(t))) => {
                let text = t
                    .unescape()
                    .map(|c| c.trim().to_owned())
                    .unwrap_or_default();
                if !text.is_empty() {
                    let volatile = stack
                        .last()
                        .is_some_and(|n| VOLATILE_TEXT.contains(&n.as_str()));
                    out.push('"');
                    out.push_str(if volatile { "*" } else { &text });
                    out.push('"');
                }
            }
            Ok((_, Event::Eof)) | Err(_) => break,
            Ok(_) => {}
        }
    }
    sort_rsm_sets(&out)
}

/// Prosody emits an RSM `<set/>`'s children in hash order: compare them sorted.
fn sort_rsm_sets(s: &str) -> String {
    const SET: &str = "{http://jabber.org/protocol/rsm}set[](";
    let Some(start) = s.find(SET).map(|i| i + SET.len()) else {
        return s.to_owned();
    };
    let (mut depth, mut children, mut cur, mut end) = (0usize, Vec::new(), String::new(), s.len());
    for (i, ch) in s[start..].char_indices() {
        match ch {
            '(' => depth += 1,
            ')' if depth == 0 => {
                end = start + i;
                break;
            }
            ')' => depth -= 1,
            _ => {}
        }
        cur.push(ch);
        if ch == ')' && depth == 0 {
            children.push(std::mem::take(&mut cur));
        }
    }
    children.sort();
    format!(
        "{}{}{}",
        &s[..start],
        children.concat(),
        sort_rsm_sets(&s[end..])
    )
}

fn local(e: &quick_xml::events::BytesStart) -> String {
    String::from_utf8_lossy(e.local_name().as_ref()).into_owned()
}

fn open(out: &mut String, ns: &ResolveResult, e: &quick_xml::events::BytesStart) {
    let ns = match ns {
        ResolveResult::Bound(n) => String::from_utf8_lossy(n.as_ref()).into_owned(),
        _ => String::new(),
    };
    let mut attrs: Vec<String> = e
        .attributes()
        .filter_map(Result::ok)
        .filter_map(|a| {
            let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
            if key == "xmlns" || key.starts_with("xmlns:") {
                return None;
            }
            let value = a
                .unescape_value()
                .map(|v| v.into_owned())
                .unwrap_or_default();
            let value = if VOLATILE_ATTRS.contains(&key.as_str()) {
                "*".to_owned()
            } else {
                value
            };
            Some(format!("{key}={value}"))
        })
        .collect();
    attrs.sort();
    out.push_str(&format!("{{{ns}}}{}[{}](", local(e), attrs.join(",")));
}

#[test]
fn canonical_forms_ignore_prefixes_attribute_order_and_ids() {
    let a = "<message xmlns='jabber:client' to='a@x' id='1'><body>hi</body></message>";
    let b = "<message id='2' to='a@x' xmlns='jabber:client'><body>hi</body></message>";
    assert_eq!(canonical(a), canonical(b));
    let c = "<iq xmlns='jabber:client'><fin xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'><first>k1</first></set></fin></iq>";
    assert!(canonical(c).contains("first[](\"*\")"), "{}", canonical(c));
}
