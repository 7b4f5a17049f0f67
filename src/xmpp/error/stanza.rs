//! `StanzaError`: a stanza error (RFC 6120 §8.3) as a value, and the error reply Prosody's
//! `st.error_reply(orig, type, condition, text, by)` builds from it.

use std::borrow::Cow;
use std::fmt;

use super::conditions::{ErrorType, StanzaCondition};
use crate::xml::Element;
use crate::xmpp::ns;

/// A stanza error: type, defined condition, optional human-readable text, the entity that
/// raised it (`by`) and an application-specific condition element.
///
/// ```ignore
/// let reply = StanzaError::cancel(StanzaCondition::ServiceUnavailable).reply(&iq);
/// let reply = StanzaError::modify(StanzaCondition::BadRequest).with_text("Invalid IQ type").reply(&iq);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StanzaError {
    pub kind: ErrorType,
    pub condition: StanzaCondition,
    pub text: Option<Cow<'static, str>>,
    pub by: Option<String>,
    /// Element text of the condition itself: the new address of `gone`/`redirect`.
    pub uri: Option<String>,
    /// The application-specific condition, after `<text/>`.
    pub extra: Option<Box<Element>>,
}

impl StanzaError {
    pub const fn new(kind: ErrorType, condition: StanzaCondition) -> Self {
        Self {
            kind,
            condition,
            text: None,
            by: None,
            uri: None,
            extra: None,
        }
    }

    pub const fn auth(condition: StanzaCondition) -> Self {
        Self::new(ErrorType::Auth, condition)
    }

    pub const fn cancel(condition: StanzaCondition) -> Self {
        Self::new(ErrorType::Cancel, condition)
    }

    pub const fn modify(condition: StanzaCondition) -> Self {
        Self::new(ErrorType::Modify, condition)
    }

    pub const fn wait(condition: StanzaCondition) -> Self {
        Self::new(ErrorType::Wait, condition)
    }

    pub fn with_text(mut self, text: impl Into<Cow<'static, str>>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// `with_text` when there is one.
    pub fn with_text_opt(mut self, text: Option<impl Into<Cow<'static, str>>>) -> Self {
        self.text = text.map(Into::into);
        self
    }

    pub fn with_by(mut self, by: impl Into<String>) -> Self {
        self.by = Some(by.into());
        self
    }

    pub fn with_uri(mut self, uri: impl Into<String>) -> Self {
        self.uri = Some(uri.into());
        self
    }

    pub fn with_child(mut self, extra: Element) -> Self {
        self.extra = Some(Box::new(extra));
        self
    }

    /// The `<error/>` element in namespace `ns` (the stanza's own), for a reply sent
    /// `from` that address: Prosody leaves `by` out when it names the replying entity.
    pub fn element(&self, stanza_ns: &str, from: Option<&str>) -> Element {
        let mut error = Element::new("error", stanza_ns).with_attr("type", self.kind.name());
        if let Some(by) = self.by.as_deref().filter(|by| Some(*by) != from) {
            error.set_attr("by", by);
        }
        let mut condition = Element::new(self.condition.name(), ns::STANZAS);
        if let Some(uri) = &self.uri {
            condition = condition.with_text(uri.as_str());
        }
        error.push_child(condition);
        if let Some(text) = &self.text {
            error.push_child(Element::new("text", ns::STANZAS).with_text(text.as_ref()));
        }
        if let Some(extra) = &self.extra {
            error.push_child(Element::clone(extra));
        }
        error
    }

    /// The error reply to `orig`: same element name and namespace, `to`/`from` swapped,
    /// `id` kept, `type='error'`, this error as its only child. Callers must not answer a
    /// stanza that is itself of type `error` (Prosody refuses to).
    pub fn reply(&self, orig: &Element) -> Element {
        let mut reply = reply_shell(orig);
        let error = self.element(&orig.ns, reply.attr("from"));
        reply.push_child(error);
        reply
    }

    /// The error read back from a stanza of type `error` (None: no `<error/>` child, or a
    /// type or condition we do not define).
    pub fn parse(stanza: &Element) -> Option<Self> {
        let error = stanza.get_child("error", &stanza.ns)?;
        let kind = ErrorType::from_name(error.attr("type")?)?;
        let mut found = None;
        let mut text = None;
        let mut extra = None;
        for child in error.child_elements() {
            if child.ns == ns::STANZAS {
                if child.name == "text" {
                    text = Some(Cow::Owned(child.text()));
                } else if found.is_none() {
                    found = StanzaCondition::from_name(&child.name);
                }
            } else if extra.is_none() {
                extra = Some(Box::new(child.clone()));
            }
        }
        Some(Self {
            kind,
            condition: found?,
            text,
            by: error.attr("by").map(str::to_owned),
            uri: None,
            extra,
        })
    }
}

impl fmt::Display for StanzaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.condition, self.kind)?;
        if let Some(text) = &self.text {
            write!(f, ": {text}")?;
        }
        Ok(())
    }
}

impl std::error::Error for StanzaError {}

/// The addresses, id and `type='error'` of a reply to `orig`, without children.
fn reply_shell(orig: &Element) -> Element {
    let mut reply = Element::new(&orig.name, &orig.ns);
    if let Some(from) = orig.attr("from") {
        reply.set_attr("to", from);
    }
    if let Some(to) = orig.attr("to") {
        reply.set_attr("from", to);
    }
    if let Some(id) = orig.attr("id") {
        reply.set_attr("id", id);
    }
    reply.set_attr("type", "error");
    reply
}

/// The error reply for a type and condition named by Lua code, which Prosody passes
/// through unchecked (`st.error_reply(stanza, "x", "y")`): the one place a condition is
/// a string. Native code builds a [`StanzaError`].
pub fn named_error_reply(
    orig: &Element,
    kind: &str,
    condition: &str,
    text: Option<&str>,
) -> Element {
    let typed = ErrorType::from_name(kind).zip(StanzaCondition::from_name(condition));
    if let Some((kind, condition)) = typed {
        return StanzaError::new(kind, condition)
            .with_text_opt(text.map(str::to_owned))
            .reply(orig);
    }
    let mut reply = reply_shell(orig);
    let mut error = Element::new("error", &orig.ns)
        .with_attr("type", kind)
        .with_child(Element::new(condition, ns::STANZAS));
    if let Some(text) = text {
        error.push_child(Element::new("text", ns::STANZAS).with_text(text));
    }
    reply.push_child(error);
    reply
}
