//! Restricted and malformed XML: each refused construct and the error it gives.

use super::*;

#[test]
fn undeclared_prefix_is_not_well_formed() {
    assert!(matches!(
        error_of(&format!("{HEADER}<a:b/>")),
        Some(XmlError::NotWellFormed(_))
    ));
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
    assert_eq!(error_of("<?xml-stylesheet href='a'?><stream:stream/>"), e);
}

#[test]
fn an_xml_declaration_anywhere_but_the_very_start_is_not_well_formed() {
    // expat: "XML or text declaration not at start of entity".
    let misplaced = |data: &str| matches!(error_of(data), Some(XmlError::NotWellFormed(_)));
    assert!(misplaced(&format!("{HEADER}<?xml version='1.0'?>")));
    assert!(misplaced(&format!("<?xml version='1.0'?>{HEADER}")));
    assert!(misplaced(&format!(" {HEADER}")));
    assert!(misplaced(&format!("\n\t{HEADER}")));
}

#[test]
fn a_non_stream_first_element_is_invalid_namespace_and_garbage_not_well_formed() {
    let e = Some(XmlError::InvalidNamespace);
    assert!(matches!(
        error_of("GET / HTTP/1.1\r\n"),
        Some(XmlError::NotWellFormed(_))
    ));
    assert_eq!(error_of("<message xmlns='jabber:client'/>"), e);
    assert_eq!(error_of("<stream xmlns='jabber:client'>"), e);
    assert_eq!(error_of("<stream:stream xmlns:stream='urn:wrong'>"), e);
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
