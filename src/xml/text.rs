//! Character-level rules of XML 1.0: allowed characters, names, and the resolution of
//! the five predefined entities and numeric character references (any other entity
//! reference is restricted XML in XMPP).

use std::borrow::Cow;

use super::XmlError;

fn nwf(reason: &str) -> XmlError {
    XmlError::NotWellFormed(reason.to_owned())
}

/// Checks that `bytes` is UTF-8 made only of XML 1.0 `Char`s and returns it as text.
pub(super) fn check_chars(bytes: &[u8]) -> Result<&str, XmlError> {
    let s = std::str::from_utf8(bytes).map_err(|_| nwf("invalid UTF-8"))?;
    // In valid UTF-8 only C0 controls (other than tab/LF/CR) and U+FFFE/U+FFFF
    // (0xEF 0xBF 0xBE/0xBF) can be non-`Char`s. Two simple passes vectorise well.
    let b = s.as_bytes();
    let bad_control = b.iter().fold(false, |bad, &c| {
        bad | (c < 0x20 && c != b'\t' && c != b'\n' && c != b'\r')
    });
    let bad_nonchar = b.contains(&0xEF)
        && b.windows(3)
            .any(|w| w[0] == 0xEF && w[1] == 0xBF && (w[2] == 0xBE || w[2] == 0xBF));
    if bad_control || bad_nonchar {
        return Err(nwf("character not allowed in XML"));
    }
    Ok(s)
}

fn is_xml_char(c: u32) -> bool {
    matches!(c, 0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF)
}

fn is_name_start(c: char) -> bool {
    matches!(c, 'A'..='Z' | '_' | 'a'..='z'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// An XML name without colons (a namespace-aware local part or prefix).
pub(super) fn is_ncname(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(is_name_start) && chars.all(is_name_char)
}

/// Splits a qualified name into (prefix, local), validating both parts.
pub(super) fn split_qname(q: &str) -> Result<(Option<&str>, &str), XmlError> {
    let (prefix, local) = match q.split_once(':') {
        Some((p, l)) => (Some(p), l),
        None => (None, q),
    };
    if prefix.is_some_and(|p| !is_ncname(p)) || !is_ncname(local) {
        return Err(XmlError::NotWellFormed(format!("invalid name '{q}'")));
    }
    Ok((prefix, local))
}

/// Resolves references and normalises line ends (`\r\n`/`\r` -> `\n`) in character
/// data. In attribute values (`attr`) literal tab/LF/CR also become spaces, as XML's
/// attribute-value normalisation requires.
pub(super) fn unescape(s: &str, attr: bool) -> Result<Cow<'_, str>, XmlError> {
    let special = |b: &u8| matches!(b, b'&' | b'\r') || (attr && matches!(b, b'\t' | b'\n'));
    let Some(first) = s.as_bytes().iter().position(special) else {
        return Ok(Cow::Borrowed(s));
    };
    let mut out = String::with_capacity(s.len());
    out.push_str(&s[..first]);
    let mut rest = &s[first..];
    while let Some(i) = rest.as_bytes().iter().position(special) {
        out.push_str(&rest[..i]);
        let b = rest.as_bytes()[i];
        rest = &rest[i + 1..];
        match b {
            b'&' => {
                let end = rest
                    .as_bytes()
                    .iter()
                    .take(64)
                    .position(|&c| c == b';')
                    .ok_or_else(|| nwf("'&' not starting a reference"))?;
                out.push(resolve_reference(&rest[..end])?);
                rest = &rest[end + 1..];
            }
            b'\r' => {
                out.push(if attr { ' ' } else { '\n' });
                // "\r\n" is one line end.
                if let Some(r) = rest.strip_prefix('\n') {
                    rest = r;
                }
            }
            _ => out.push(' '),
        }
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

fn resolve_reference(name: &str) -> Result<char, XmlError> {
    let code = if let Some(hex) = name.strip_prefix("#x") {
        u32::from_str_radix(hex, 16).ok()
    } else if let Some(dec) = name.strip_prefix('#') {
        dec.parse::<u32>().ok()
    } else {
        return match name {
            "amp" => Ok('&'),
            "lt" => Ok('<'),
            "gt" => Ok('>'),
            "apos" => Ok('\''),
            "quot" => Ok('"'),
            _ if is_ncname(name) => Err(XmlError::Restricted("entity reference")),
            _ => Err(nwf("malformed reference")),
        };
    };
    let digits_ok = name.len() > 1 && !name.contains(['+', '-']);
    code.filter(|&c| digits_ok && is_xml_char(c))
        .and_then(char::from_u32)
        .ok_or_else(|| nwf("invalid character reference"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predefined_and_numeric_references_resolve() {
        let s = unescape("&amp;&lt;&gt;&apos;&quot;&#65;&#x42;&#x1F600;", false).expect("valid");
        assert_eq!(s, "&<>'\"AB\u{1F600}");
    }

    #[test]
    fn text_without_references_is_borrowed() {
        assert!(matches!(
            unescape("plain text", false),
            Ok(Cow::Borrowed(_))
        ));
    }

    #[test]
    fn unknown_entity_reference_is_restricted() {
        assert_eq!(
            unescape("a &foo; b", false),
            Err(XmlError::Restricted("entity reference"))
        );
    }

    #[test]
    fn bare_ampersand_and_bad_char_refs_are_not_well_formed() {
        for bad in [
            "a & b", "&#0;", "&#xD800;", "&#x;", "&#-1;", "&#xFFFE;", "&;",
        ] {
            assert!(
                matches!(unescape(bad, false), Err(XmlError::NotWellFormed(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn line_ends_and_attribute_whitespace_are_normalised() {
        assert_eq!(unescape("a\r\nb\rc", false).expect("ok"), "a\nb\nc");
        assert_eq!(unescape("a\tb\nc\r\nd", true).expect("ok"), "a b c d");
        assert_eq!(unescape("&#10;", true).expect("ok"), "\n");
    }

    #[test]
    fn control_characters_and_invalid_utf8_are_rejected() {
        assert!(check_chars(b"ok\t\n\r \xc3\xa9").is_ok());
        assert!(check_chars(b"a\x00b").is_err());
        assert!(check_chars(b"a\x1bb").is_err());
        assert!(check_chars(b"\xef\xbf\xbe").is_err());
        assert!(check_chars(b"\xff").is_err());
        assert!(check_chars(b"\xc3").is_err());
    }

    #[test]
    fn names_follow_xml_name_rules() {
        assert!(split_qname("stream:stream").is_ok());
        assert!(split_qname("xml:lang").is_ok());
        assert!(split_qname("é-1.x").is_ok());
        for bad in ["1a", "a:b:c", ":a", "a:", "", "a&b", "-a"] {
            assert!(split_qname(bad).is_err(), "{bad}");
        }
    }
}
