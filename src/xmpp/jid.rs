//! Jabber IDs (`node@domain/resource`): splitting as Prosody's `util.jid` does and the
//! stringprep profiles (nodeprep, nameprep, resourceprep) that make two spellings of an
//! address compare equal.
//!
//! ```
//! use lilt::xmpp::jid::Jid;
//! let jid = Jid::parse("ÄB@EXAMPLE.com./R").unwrap();
//! assert_eq!(jid.to_string(), "äb@example.com/R");
//! ```

use std::fmt;
use std::str::FromStr;

/// RFC 7622 limits every part to 1023 bytes after preparation.
pub const MAX_PART_BYTES: usize = 1023;

/// Why a string is not a valid JID. The peer (or whoever typed the address) is at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JidError {
    #[error("empty localpart before '@'")]
    EmptyNode,
    #[error("empty domain")]
    EmptyDomain,
    #[error("empty resource after '/'")]
    EmptyResource,
    #[error("{0} is longer than 1023 bytes")]
    TooLong(&'static str),
    #[error("{0} contains a forbidden character")]
    Forbidden(&'static str),
}

/// A prepared (normalised) JID. Equality is byte equality of the prepared parts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Jid {
    node: Option<String>,
    domain: String,
    resource: Option<String>,
}

impl Jid {
    /// Splits and prepares `s` (Prosody's `jid.prep`): one trailing dot of the domain is
    /// dropped, the domain is lowercased by nameprep.
    pub fn parse(s: &str) -> Result<Jid, JidError> {
        let (node, domain, resource) = split(s)?;
        Jid::from_parts(node, domain, resource)
    }

    /// Prepares already separated parts.
    pub fn from_parts(
        node: Option<&str>,
        domain: &str,
        resource: Option<&str>,
    ) -> Result<Jid, JidError> {
        let node = node.map(nodeprep).transpose()?;
        let domain = nameprep(domain)?;
        let resource = resource.map(resourceprep).transpose()?;
        Ok(Jid {
            node,
            domain,
            resource,
        })
    }

    pub fn node(&self) -> Option<&str> {
        self.node.as_deref()
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    pub fn resource(&self) -> Option<&str> {
        self.resource.as_deref()
    }

    /// The JID without its resource.
    pub fn bare(&self) -> Jid {
        Jid {
            node: self.node.clone(),
            domain: self.domain.clone(),
            resource: None,
        }
    }

    pub fn is_bare(&self) -> bool {
        self.resource.is_none()
    }

    /// This JID with `resource` (resourceprep'd) in place of its own.
    pub fn with_resource(&self, resource: &str) -> Result<Jid, JidError> {
        Ok(Jid {
            node: self.node.clone(),
            domain: self.domain.clone(),
            resource: Some(resourceprep(resource)?),
        })
    }
}

impl fmt::Display for Jid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(node) = &self.node {
            write!(f, "{node}@")?;
        }
        f.write_str(&self.domain)?;
        if let Some(resource) = &self.resource {
            write!(f, "/{resource}")?;
        }
        Ok(())
    }
}

impl FromStr for Jid {
    type Err = JidError;
    fn from_str(s: &str) -> Result<Jid, JidError> {
        Jid::parse(s)
    }
}

/// Splits without preparing. An `@` after the first `/` belongs to the resource.
fn split(s: &str) -> Result<(Option<&str>, &str, Option<&str>), JidError> {
    let (before_slash, resource) = match s.find('/') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (node, domain) = match before_slash.find('@') {
        Some(i) => (Some(&before_slash[..i]), &before_slash[i + 1..]),
        None => (None, before_slash),
    };
    if node == Some("") {
        return Err(JidError::EmptyNode);
    }
    if resource == Some("") {
        return Err(JidError::EmptyResource);
    }
    Ok((node, domain, resource))
}

fn check_len(part: &'static str, s: &str) -> Result<(), JidError> {
    if s.len() > MAX_PART_BYTES {
        return Err(JidError::TooLong(part));
    }
    Ok(())
}

/// Nodeprep (RFC 3920 appendix A): case-folds and rejects `"&'/:<>@` and spaces.
pub fn nodeprep(s: &str) -> Result<String, JidError> {
    if s.is_empty() {
        return Err(JidError::EmptyNode);
    }
    let out = stringprep::nodeprep(s).map_err(|_| JidError::Forbidden("localpart"))?;
    if out.is_empty() {
        return Err(JidError::EmptyNode);
    }
    check_len("localpart", &out)?;
    Ok(out.into_owned())
}

/// Resourceprep (RFC 3920 appendix B): keeps case, rejects control and unassigned code points.
pub fn resourceprep(s: &str) -> Result<String, JidError> {
    if s.is_empty() {
        return Err(JidError::EmptyResource);
    }
    let out = stringprep::resourceprep(s).map_err(|_| JidError::Forbidden("resource"))?;
    if out.is_empty() {
        return Err(JidError::EmptyResource);
    }
    check_len("resource", &out)?;
    Ok(out.into_owned())
}

/// Nameprep of a domain as Prosody applies it to JIDs: strips one trailing dot and
/// lowercases. Like Prosody (non-strict `jid.prep`), no IDNA/STD3 host-name rules are applied
/// on top, so IP literals such as `127.0.0.1` and `[::1]` pass unchanged. Unlike Prosody,
/// ASCII control characters are refused: they cannot be written in XML. `@` and `/`
/// never belong to a domain.
pub fn nameprep(s: &str) -> Result<String, JidError> {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.is_empty() {
        return Err(JidError::EmptyDomain);
    }
    let out = stringprep::nameprep(s).map_err(|_| JidError::Forbidden("domain"))?;
    if out.is_empty() {
        return Err(JidError::EmptyDomain);
    }
    check_len("domain", &out)?;
    if out
        .chars()
        .any(|c| c.is_ascii_control() || c == '@' || c == '/')
    {
        return Err(JidError::Forbidden("domain"));
    }
    Ok(out.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prep_matches_prosody_example() {
        let jid = Jid::parse("ÄB@EXAMPLE.com./R").unwrap();
        assert_eq!(jid.node(), Some("äb"));
        assert_eq!(jid.domain(), "example.com");
        assert_eq!(jid.resource(), Some("R"));
        assert_eq!(jid.to_string(), "äb@example.com/R");
    }

    #[test]
    fn at_sign_after_slash_belongs_to_resource() {
        let jid = Jid::parse("example.com/a@b/c").unwrap();
        assert_eq!(jid.node(), None);
        assert_eq!(jid.resource(), Some("a@b/c"));
    }

    #[test]
    fn empty_parts_are_rejected() {
        assert_eq!(Jid::parse("@example.com"), Err(JidError::EmptyNode));
        assert_eq!(Jid::parse("a@"), Err(JidError::EmptyDomain));
        assert_eq!(Jid::parse("a@example.com/"), Err(JidError::EmptyResource));
        assert_eq!(Jid::parse("."), Err(JidError::EmptyDomain));
        assert_eq!(Jid::parse(""), Err(JidError::EmptyDomain));
    }

    #[test]
    fn overlong_parts_are_rejected() {
        let long = "a".repeat(1024);
        assert_eq!(
            Jid::parse(&format!("{long}@x")),
            Err(JidError::TooLong("localpart"))
        );
        assert_eq!(
            Jid::parse(&format!("x/{long}")),
            Err(JidError::TooLong("resource"))
        );
        assert!(Jid::parse(&format!("{}@x", "a".repeat(1023))).is_ok());
    }

    #[test]
    fn forbidden_characters_are_rejected() {
        for bad in [
            "a\"b@x", "a'b@x", "a:b@x", "a<b@x", "a b@x", "a&b@x", "a\u{1}@x",
        ] {
            assert_eq!(
                Jid::parse(bad),
                Err(JidError::Forbidden("localpart")),
                "{bad}"
            );
        }
        assert_eq!(
            Jid::parse("x/a\u{7}b"),
            Err(JidError::Forbidden("resource"))
        );
        assert_eq!(
            Jid::parse("x/a\u{7f}"),
            Err(JidError::Forbidden("resource"))
        );
        assert_eq!(Jid::parse("a@b\u{1}c"), Err(JidError::Forbidden("domain")));
        assert_eq!(Jid::parse("a@b\u{7f}c"), Err(JidError::Forbidden("domain")));
    }

    /// Expected values are what Prosody 0.12.3's `util.jid.prep` returned for each input.
    #[test]
    fn prep_agrees_with_prosody_util_jid() {
        let cases = [
            ("b/c@d", Some("b/c@d")),
            ("a@b c", Some("a@b c")),
            ("a@b..c", Some("a@b..c")),
            ("a@ex_ample.com", Some("a@ex_ample.com")),
            ("a@-b.com", Some("a@-b.com")),
            ("a@b.", Some("a@b")),
            ("a@b..", Some("a@b.")),
            ("A@B/Ä", Some("a@b/Ä")),
            ("\u{fb01}@x", Some("fi@x")),
            ("a@ÄÖ.de", Some("a@äö.de")),
            ("a@xn--4ca.de", Some("a@xn--4ca.de")),
            ("a@b/c/d", Some("a@b/c/d")),
            ("a@\u{200b}b", Some("a@b")),
            ("a@b\u{a0}c", Some("a@b c")),
            ("a@B\u{2126}", Some("a@bω")),
            ("a@@b", None),
            ("a@.", None),
            ("a b@c", None),
        ];
        for (input, want) in cases {
            let got = Jid::parse(input).ok().map(|j| j.to_string());
            assert_eq!(got.as_deref(), want, "{input}");
        }
    }

    #[test]
    fn ip_literals_are_domains() {
        assert_eq!(Jid::parse("u@127.0.0.1").unwrap().domain(), "127.0.0.1");
        assert_eq!(Jid::parse("u@[::1]/r").unwrap().domain(), "[::1]");
        assert_eq!(Jid::parse("u@[::1]").unwrap().resource(), None);
    }

    #[test]
    fn bare_drops_resource_and_keeps_rest() {
        let full = Jid::parse("u@Example.com/res").unwrap();
        assert!(!full.is_bare());
        let bare = full.bare();
        assert!(bare.is_bare());
        assert_eq!(bare.to_string(), "u@example.com");
        assert_eq!(
            bare.with_resource("x").unwrap().to_string(),
            "u@example.com/x"
        );
    }
}
