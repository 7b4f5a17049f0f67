//! vcard-temp (XEP-0054) to and from the vCard4 PEP payload (XEP-0292) and the avatar
//! nodes (XEP-0084), field by field as Prosody's mod_vcard_legacy maps them.

use base64::Engine;
use sha1::{Digest, Sha1};

use crate::xml::Element;
use crate::xmpp::ns;

pub const VCARD4: &str = "urn:ietf:params:xml:ns:vcard-4.0";
/// The PEP node of the vCard4 (XEP-0292); its payload is in [`VCARD4`].
pub const VCARD4_NODE: &str = "urn:xmpp:vcard4";
pub const AVATAR_DATA: &str = "urn:xmpp:avatar:data";
pub const AVATAR_META: &str = "urn:xmpp:avatar:metadata";
pub const NICK: &str = "http://jabber.org/protocol/nick";
pub const PUBSUB: &str = "http://jabber.org/protocol/pubsub";

/// vCard4 elements that carry one value, with the child that holds it.
const SIMPLE: &[(&str, &str)] = &[
    ("nickname", "text"),
    ("title", "text"),
    ("role", "text"),
    ("categories", "text"),
    ("note", "text"),
    ("url", "uri"),
    ("bday", "date"),
];

/// An avatar taken from a vcard-temp `PHOTO`: its SHA-1 (hex) names both items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Avatar {
    pub hash: String,
    /// `<metadata><info bytes id type/></metadata>`
    pub meta: Element,
    /// `<data>base64</data>`
    pub data: Element,
}

fn el(name: &str, ns: &str, text: Option<&str>) -> Element {
    let e = Element::new(name, ns);
    match text {
        Some(t) if !t.is_empty() => e.with_text(t),
        _ => e,
    }
}

fn child_text(e: Option<&Element>, name: &str, ns: &str) -> Option<String> {
    e?.get_child(name, ns).map(Element::text)
}

/// `<parameters><type><text>home|work</text></type></parameters>` from HOME/WORK flags.
fn v4_type(tag: &Element) -> Element {
    let mut typ = Element::new("type", VCARD4);
    if tag.get_child("HOME", ns::VCARD).is_some() {
        typ.push_child(el("text", VCARD4, Some("home")));
    } else if tag.get_child("WORK", ns::VCARD).is_some() {
        typ.push_child(el("text", VCARD4, Some("work")));
    }
    Element::new("parameters", VCARD4).with_child(typ)
}

/// HOME/WORK flags from a vCard4 `parameters/type/text`.
fn temp_type(tag: &Element, out: &mut Element) {
    let t = tag
        .get_child("parameters", VCARD4)
        .and_then(|p| p.get_child("type", VCARD4))
        .and_then(|t| t.get_child("text", VCARD4))
        .map(Element::text);
    match t.as_deref() {
        Some("home") => out.push_child(Element::new("HOME", ns::VCARD)),
        Some("work") => out.push_child(Element::new("WORK", ns::VCARD)),
        _ => {}
    }
}

/// vcard-temp to the vCard4 payload and, when it has a `PHOTO/BINVAL`, the avatar.
pub fn to_vcard4(temp: &Element) -> (Element, Option<Avatar>) {
    let v = ns::VCARD;
    let mut out = Element::new("vcard", VCARD4);
    let fn_text = child_text(Some(temp), "FN", v);
    out.push_child(Element::new("fn", VCARD4).with_child(el("text", VCARD4, fn_text.as_deref())));
    let n = temp.get_child("N", v);
    let mut v4n = Element::new("n", VCARD4);
    for (v4, t) in [
        ("surname", "FAMILY"),
        ("given", "GIVEN"),
        ("additional", "MIDDLE"),
        ("prefix", "PREFIX"),
        ("suffix", "SUFFIX"),
    ] {
        v4n.push_child(el(v4, VCARD4, child_text(n, t, v).as_deref()));
    }
    out.push_child(v4n);
    let mut avatar = None;
    for tag in temp.child_elements() {
        let lower = tag.name.to_ascii_lowercase();
        if let Some((name, holder)) = SIMPLE.iter().find(|(n, _)| *n == lower) {
            out.push_child(Element::new(name, VCARD4).with_child(el(
                holder,
                VCARD4,
                Some(&tag.text()),
            )));
            continue;
        }
        match tag.name.as_str() {
            "EMAIL" => {
                if let Some(addr) = child_text(Some(tag), "USERID", v) {
                    out.push_child(
                        Element::new("email", VCARD4)
                            .with_child(el("text", VCARD4, Some(&addr)))
                            .with_child(v4_type(tag)),
                    );
                }
            }
            "TEL" => {
                if let Some(num) = child_text(Some(tag), "NUMBER", v) {
                    out.push_child(
                        Element::new("tel", VCARD4)
                            .with_child(el("uri", VCARD4, Some(&format!("tel:{num}"))))
                            .with_child(v4_type(tag)),
                    );
                }
            }
            "ORG" => {
                if let Some(org) = child_text(Some(tag), "ORGNAME", v) {
                    out.push_child(Element::new("org", VCARD4).with_child(el(
                        "text",
                        VCARD4,
                        Some(&org),
                    )));
                }
            }
            "DESC" => {
                out.push_child(Element::new("note", VCARD4).with_child(el(
                    "text",
                    VCARD4,
                    Some(&tag.text()),
                )));
            }
            "ADR" => {
                let mut adr = Element::new("adr", VCARD4);
                for (v4, t) in [
                    ("pobox", "POBOX"),
                    ("ext", "EXTADD"),
                    ("street", "STREET"),
                    ("locality", "LOCALITY"),
                    ("region", "REGION"),
                    ("code", "PCODE"),
                    ("country", "CTRY"),
                ] {
                    adr.push_child(el(v4, VCARD4, child_text(Some(tag), t, v).as_deref()));
                }
                out.push_child(adr.with_child(v4_type(tag)));
            }
            "JABBERID" => {
                let uri = format!("xmpp:{}", tag.text());
                out.push_child(Element::new("impp", VCARD4).with_child(el(
                    "uri",
                    VCARD4,
                    Some(&uri),
                )));
            }
            "PHOTO" => {
                let b64: String = child_text(Some(tag), "BINVAL", v)
                    .unwrap_or_default()
                    .chars()
                    .filter(|c| !c.is_ascii_whitespace())
                    .collect();
                let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(&b64) else {
                    continue;
                };
                if b64.is_empty() {
                    continue;
                }
                let hash = hex::encode(Sha1::digest(&raw));
                let mut info = Element::new("info", AVATAR_META)
                    .with_attr("bytes", raw.len().to_string())
                    .with_attr("id", hash.as_str());
                if let Some(t) = child_text(Some(tag), "TYPE", v) {
                    info.set_attr("type", t);
                }
                avatar = Some(Avatar {
                    meta: Element::new("metadata", AVATAR_META).with_child(info),
                    data: Element::new("data", AVATAR_DATA).with_text(b64),
                    hash,
                });
            }
            _ => {}
        }
    }
    (out, avatar)
}

/// What a vcard-temp answer is made from.
#[derive(Debug, Default)]
pub struct Sources<'a> {
    pub vcard4: Option<&'a Element>,
    pub nick: Option<&'a Element>,
    pub avatar_meta: Option<&'a Element>,
    pub avatar_data: Option<&'a Element>,
}

/// Builds the vcard-temp answer from the account's PEP data.
pub fn to_vcard_temp(src: &Sources<'_>) -> Element {
    let v = ns::VCARD;
    let mut out = Element::new("vCard", v);
    if let Some(v4) = src.vcard4 {
        let fn_text = v4
            .get_child("fn", VCARD4)
            .and_then(|f| f.get_child("text", VCARD4))
            .map(Element::text);
        out.push_child(el("FN", v, fn_text.as_deref()));
        let n = v4.get_child("n", VCARD4);
        let mut temp_n = Element::new("N", v);
        for (t, v4name) in [
            ("FAMILY", "surname"),
            ("GIVEN", "given"),
            ("MIDDLE", "additional"),
            ("PREFIX", "prefix"),
            ("SUFFIX", "suffix"),
        ] {
            temp_n.push_child(el(t, v, child_text(n, v4name, VCARD4).as_deref()));
        }
        out.push_child(temp_n);
        for tag in v4.child_elements() {
            if let Some((name, holder)) = SIMPLE.iter().find(|(n, _)| *n == tag.name) {
                if let Some(text) = child_text(Some(tag), holder, VCARD4) {
                    out.push_child(el(&name.to_ascii_uppercase(), v, Some(&text)));
                }
                continue;
            }
            match tag.name.as_str() {
                "email" => {
                    if let Some(text) = child_text(Some(tag), "text", VCARD4) {
                        let mut e = Element::new("EMAIL", v)
                            .with_child(el("USERID", v, Some(&text)))
                            .with_child(Element::new("INTERNET", v));
                        temp_type(tag, &mut e);
                        out.push_child(e);
                    }
                }
                "tel" => {
                    if let Some(uri) = child_text(Some(tag), "uri", VCARD4) {
                        let num = uri.strip_prefix("tel:").unwrap_or(&uri);
                        let mut e = Element::new("TEL", v).with_child(el("NUMBER", v, Some(num)));
                        temp_type(tag, &mut e);
                        out.push_child(e);
                    }
                }
                "adr" => {
                    let mut e = Element::new("ADR", v);
                    for (t, v4name) in [
                        ("POBOX", "pobox"),
                        ("EXTADD", "ext"),
                        ("STREET", "street"),
                        ("LOCALITY", "locality"),
                        ("REGION", "region"),
                        ("PCODE", "code"),
                        ("CTRY", "country"),
                    ] {
                        e.push_child(el(t, v, child_text(Some(tag), v4name, VCARD4).as_deref()));
                    }
                    temp_type(tag, &mut e);
                    out.push_child(e);
                }
                "impp" => {
                    if let Some(jid) = child_text(Some(tag), "uri", VCARD4)
                        .and_then(|u| u.strip_prefix("xmpp:").map(str::to_owned))
                    {
                        out.push_child(el("JABBERID", v, Some(&jid)));
                    }
                }
                "org" => {
                    let org = child_text(Some(tag), "text", VCARD4);
                    out.push_child(Element::new("ORG", v).with_child(el(
                        "ORGNAME",
                        v,
                        org.as_deref(),
                    )));
                }
                _ => {}
            }
        }
    } else if let Some(nick) = src.nick {
        out.push_child(el("NICKNAME", v, Some(&nick.text())));
    }
    if let Some(info) = src
        .avatar_meta
        .and_then(|m| m.get_child("info", AVATAR_META))
    {
        let mut photo = Element::new("PHOTO", v);
        if let Some(t) = info.attr("type") {
            photo.push_child(el("TYPE", v, Some(t)));
        }
        if let Some(url) = info.attr("url") {
            photo.push_child(el("EXTVAL", v, Some(url)));
        } else if let Some(data) = src.avatar_data {
            photo.push_child(el("BINVAL", v, Some(&data.text())));
        }
        out.push_child(photo);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vcard_temp_round_trips_through_vcard4_for_the_mapped_fields() {
        let v = ns::VCARD;
        let temp = Element::new("vCard", v)
            .with_child(el("FN", v, Some("Alice Liddell")))
            .with_child(Element::new("N", v).with_child(el("GIVEN", v, Some("Alice"))))
            .with_child(el("NICKNAME", v, Some("al")))
            .with_child(
                Element::new("EMAIL", v)
                    .with_child(Element::new("HOME", v))
                    .with_child(el("USERID", v, Some("a@x.test"))),
            )
            .with_child(
                Element::new("PHOTO", v)
                    .with_child(el("TYPE", v, Some("image/png")))
                    .with_child(el("BINVAL", v, Some("aGVsbG8="))),
            );
        let (v4, avatar) = to_vcard4(&temp);
        let avatar = avatar.expect("photo becomes an avatar");
        assert_eq!(
            avatar.hash, "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d",
            "sha1 of 'hello'"
        );
        let info = avatar.meta.get_child("info", AVATAR_META).expect("info");
        assert_eq!(info.attr("bytes"), Some("5"));
        let back = to_vcard_temp(&Sources {
            vcard4: Some(&v4),
            nick: None,
            avatar_meta: Some(&avatar.meta),
            avatar_data: Some(&avatar.data),
        });
        let text = back.to_xml();
        for want in [
            "<FN>Alice Liddell</FN>",
            "<GIVEN>Alice</GIVEN>",
            "<NICKNAME>al</NICKNAME>",
            "<USERID>a@x.test</USERID>",
            "<HOME/>",
            "<BINVAL>aGVsbG8=</BINVAL>",
            "<TYPE>image/png</TYPE>",
        ] {
            assert!(text.contains(want), "{want} in {text}");
        }
    }
}
