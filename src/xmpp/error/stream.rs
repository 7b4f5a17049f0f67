//! `StreamError`: a stream error (RFC 6120 §4.9) as a value, and the `<stream:error/>`
//! Prosody's `session:close{condition = .., text = .., extra = ..}` sends for it.

use std::borrow::Cow;
use std::fmt;

use super::conditions::StreamCondition;
use crate::xml::Element;
use crate::xmpp::ns;

/// A stream error: defined condition, optional text and an application-specific element.
///
/// ```ignore
/// let close = StreamError::new(StreamCondition::ConnectionTimeout).element();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamError {
    pub condition: StreamCondition,
    pub text: Option<Cow<'static, str>>,
    /// Element text of the condition itself: the host of `see-other-host`.
    pub host: Option<String>,
    /// The application-specific condition, after `<text/>`.
    pub extra: Option<Box<Element>>,
}

impl StreamError {
    pub const fn new(condition: StreamCondition) -> Self {
        Self {
            condition,
            text: None,
            host: None,
            extra: None,
        }
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

    pub fn with_host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    pub fn with_child(mut self, extra: Element) -> Self {
        self.extra = Some(Box::new(extra));
        self
    }

    /// `<stream:error><condition xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>[<text/>]
    /// [extra]</stream:error>`.
    pub fn element(&self) -> Element {
        let mut condition = Element::new(self.condition.name(), ns::STREAM_ERRORS);
        if let Some(host) = &self.host {
            condition = condition.with_text(host.as_str());
        }
        let mut error = Element::new("error", ns::STREAMS).with_child(condition);
        if let Some(text) = &self.text {
            error.push_child(Element::new("text", ns::STREAM_ERRORS).with_text(text.as_ref()));
        }
        if let Some(extra) = &self.extra {
            error.push_child(Element::clone(extra));
        }
        error
    }

    /// The error read back from a received `<stream:error/>` (None: not one, or a
    /// condition we do not define).
    pub fn parse(error: &Element) -> Option<Self> {
        if error.name != "error" || error.ns != ns::STREAMS {
            return None;
        }
        let mut found = None;
        let mut text = None;
        let mut extra = None;
        for child in error.child_elements() {
            if child.ns == ns::STREAM_ERRORS {
                if child.name == "text" {
                    text = Some(Cow::Owned(child.text()));
                } else if found.is_none() {
                    found = StreamCondition::from_name(&child.name);
                }
            } else if extra.is_none() {
                extra = Some(Box::new(child.clone()));
            }
        }
        Some(Self {
            condition: found?,
            text,
            host: None,
            extra,
        })
    }
}

impl From<StreamCondition> for StreamError {
    fn from(condition: StreamCondition) -> Self {
        Self::new(condition)
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.condition.name())?;
        if let Some(text) = &self.text {
            write!(f, ": {text}")?;
        }
        Ok(())
    }
}

impl std::error::Error for StreamError {}

/// The stream error for a condition named by Lua code (`session:close{condition = ..}`),
/// which Prosody sends unchecked: the one place a stream condition is a string.
pub fn named_stream_error(condition: &str, text: Option<&str>) -> Element {
    if let Some(condition) = StreamCondition::from_name(condition) {
        return StreamError::new(condition)
            .with_text_opt(text.map(str::to_owned))
            .element();
    }
    let mut error =
        Element::new("error", ns::STREAMS).with_child(Element::new(condition, ns::STREAM_ERRORS));
    if let Some(text) = text {
        error.push_child(Element::new("text", ns::STREAM_ERRORS).with_text(text));
    }
    error
}
