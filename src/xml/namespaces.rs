//! Namespace scopes for the stream parser: prefix bindings pushed per element and
//! popped at its end tag, with `xml:` predefined.

use std::borrow::Cow;

use super::builder::common;
use super::{XmlError, XML_NS};

/// Bindings in declaration order; `""` is the default namespace. Lookups search
/// backwards, so inner declarations shadow outer ones.
#[derive(Debug, Default)]
pub(super) struct Namespaces {
    /// Borrowed when common (see `common`): the stream header's bindings stay for the
    /// session's life.
    bindings: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    /// `bindings.len()` at the start of each open element's scope.
    marks: Vec<usize>,
}

impl Namespaces {
    pub(super) fn push_scope(&mut self) {
        self.marks.push(self.bindings.len());
    }

    pub(super) fn pop_scope(&mut self) {
        if let Some(mark) = self.marks.pop() {
            self.bindings.truncate(mark);
        }
    }

    /// Trims spare capacity left by inner scopes once they are all closed.
    pub(super) fn release_idle(&mut self) {
        self.bindings.shrink_to_fit();
        self.marks.shrink_to_fit();
    }

    /// Records an `xmlns` (prefix `""`) or `xmlns:prefix` declaration.
    pub(super) fn declare(&mut self, prefix: &str, uri: &str) -> Result<(), XmlError> {
        let reserved = match prefix {
            "xml" => uri != XML_NS,
            "xmlns" => true,
            "" => uri == XML_NS,
            _ => uri.is_empty() || uri == XML_NS,
        };
        if reserved {
            return Err(XmlError::NotWellFormed(format!(
                "invalid namespace declaration for prefix '{prefix}'"
            )));
        }
        // Redeclaring what is already in scope (`<message xmlns='jabber:client'>` in a
        // jabber:client stream, the usual case) changes nothing: no binding is pushed.
        if self.lookup(prefix) != Some(uri) {
            self.bindings.push((common(prefix), common(uri)));
        }
        Ok(())
    }

    fn lookup(&self, prefix: &str) -> Option<&str> {
        self.bindings
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, uri)| &**uri)
    }

    /// The URI bound to `prefix` (`None` = the default namespace, "" when undeclared).
    pub(super) fn resolve(&self, prefix: Option<&str>) -> Result<&str, XmlError> {
        let key = prefix.unwrap_or("");
        if key == "xml" {
            return Ok(XML_NS);
        }
        match self.lookup(key) {
            Some(uri) => Ok(uri),
            None if key.is_empty() => Ok(""),
            None => Err(XmlError::NotWellFormed(format!(
                "undeclared namespace prefix '{key}'"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_declarations_shadow_and_are_popped_with_their_scope() {
        let mut ns = Namespaces::default();
        ns.push_scope();
        ns.declare("", "jabber:client").expect("ok");
        ns.declare("s", "urn:s").expect("ok");
        ns.push_scope();
        ns.declare("", "urn:inner").expect("ok");
        assert_eq!(ns.resolve(None), Ok("urn:inner"));
        assert_eq!(ns.resolve(Some("s")), Ok("urn:s"));
        ns.pop_scope();
        assert_eq!(ns.resolve(None), Ok("jabber:client"));
        assert_eq!(ns.resolve(Some("xml")), Ok(XML_NS));
        assert!(ns.resolve(Some("nope")).is_err());
    }

    #[test]
    fn reserved_prefixes_cannot_be_rebound() {
        let mut ns = Namespaces::default();
        assert!(ns.declare("xmlns", "urn:x").is_err());
        assert!(ns.declare("xml", "urn:x").is_err());
        assert!(ns.declare("p", "").is_err());
        assert!(ns.declare("", "").is_ok());
    }
}
