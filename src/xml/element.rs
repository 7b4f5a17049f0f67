//! The element tree stanzas are made of: local name, resolved namespace, attributes and
//! ordered children. Dropping a tree is iterative so hostile depth cannot overflow the stack.
//!
//! Names, namespaces, attributes and text are [`CompactString`]s: up to 24 bytes live
//! inline, so most of a stanza's strings (`message`, `jabber:client`, `type`, `chat`, a
//! short body) cost no allocation of their own when a stanza is parsed, copied or kept.

pub use compact_str::CompactString;

/// An XML element. `ns` is the resolved namespace URI ("" = no namespace); `attrs`
/// never holds `xmlns` declarations. `xml:lang` is kept as is; other prefixed
/// attributes are stored in Clark notation, `{uri}local`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    pub name: CompactString,
    pub ns: CompactString,
    pub attrs: Vec<(CompactString, CompactString)>,
    pub children: Vec<Node>,
}

/// A child of an [`Element`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    Text(CompactString),
}

impl Element {
    /// About what the tree holds in memory: its strings plus a fixed cost per element,
    /// attribute and text node. For budgets (bytes in flight), not for exact accounting.
    pub fn approx_bytes(&self) -> usize {
        const PER_NODE: usize = 48;
        let attrs: usize = self
            .attrs
            .iter()
            .map(|(k, v)| k.len() + v.len() + PER_NODE)
            .sum();
        let children: usize = self
            .children
            .iter()
            .map(|c| match c {
                Node::Element(e) => e.approx_bytes(),
                Node::Text(t) => t.len() + PER_NODE,
            })
            .sum();
        self.name.len() + self.ns.len() + PER_NODE + attrs + children
    }

    /// `Element::new("message", "jabber:client").with_attr("type", "chat")`
    pub fn new(name: &str, ns: &str) -> Self {
        Element {
            name: CompactString::new(name),
            ns: CompactString::new(ns),
            attrs: Vec::new(),
            children: Vec::new(),
        }
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets `name`, replacing an existing value in place (attribute order is kept).
    pub fn set_attr(&mut self, name: &str, value: impl Into<CompactString>) {
        let value = value.into();
        match self.attrs.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = value,
            None => self.attrs.push((CompactString::new(name), value)),
        }
    }

    pub fn remove_attr(&mut self, name: &str) -> Option<CompactString> {
        let i = self.attrs.iter().position(|(k, _)| k == name)?;
        Some(self.attrs.remove(i).1)
    }

    pub fn with_attr(mut self, name: &str, value: impl Into<CompactString>) -> Self {
        self.set_attr(name, value);
        self
    }

    pub fn with_child(mut self, child: Element) -> Self {
        self.push_child(child);
        self
    }

    /// Appends a text node; empty text is ignored so trees stay normalised.
    pub fn with_text(mut self, text: impl Into<CompactString>) -> Self {
        let text = text.into();
        if !text.is_empty() {
            self.children.push(Node::Text(text));
        }
        self
    }

    /// Drops spare capacity in the whole tree: for elements kept long (a session's last
    /// presence), not for stanzas passing through.
    /// Iterative, like dropping.
    pub fn shrink_to_fit(&mut self) {
        let mut todo: Vec<&mut Element> = vec![self];
        while let Some(el) = todo.pop() {
            el.attrs.shrink_to_fit();
            el.children.shrink_to_fit();
            for child in &mut el.children {
                match child {
                    Node::Element(e) => todo.push(e),
                    Node::Text(t) => t.shrink_to_fit(),
                }
            }
        }
    }

    pub fn push_child(&mut self, child: Element) {
        self.children.push(Node::Element(child));
    }

    /// First child element with this local name and namespace.
    pub fn get_child(&self, name: &str, ns: &str) -> Option<&Element> {
        self.child_elements().find(|c| c.name == name && c.ns == ns)
    }

    pub fn get_child_mut(&mut self, name: &str, ns: &str) -> Option<&mut Element> {
        self.children.iter_mut().find_map(|n| match n {
            Node::Element(c) if c.name == name && c.ns == ns => Some(c),
            _ => None,
        })
    }

    pub fn child_elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(c) => Some(c),
            Node::Text(_) => None,
        })
    }

    /// Concatenation of the direct text children.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for n in &self.children {
            if let Node::Text(t) = n {
                s.push_str(t);
            }
        }
        s
    }
}

impl Drop for Element {
    /// Flattens the tree onto a heap stack: the derived drop would recurse once per
    /// nesting level. Trees at most two levels deep (most stanzas) skip the allocation.
    fn drop(&mut self) {
        let deep = self
            .child_elements()
            .any(|c| c.child_elements().next().is_some());
        if !deep {
            return;
        }
        let mut stack: Vec<Element> = Vec::new();
        take_element_children(&mut self.children, &mut stack);
        while let Some(mut el) = stack.pop() {
            take_element_children(&mut el.children, &mut stack);
            // `el` now has no element children, so its own drop does not recurse.
        }
    }
}

fn take_element_children(children: &mut Vec<Node>, stack: &mut Vec<Element>) {
    for node in children.drain(..) {
        if let Node::Element(el) = node {
            stack.push(el);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_attr_replaces_in_place_and_remove_returns_value() {
        let mut el = Element::new("iq", "jabber:client")
            .with_attr("id", "1")
            .with_attr("type", "get");
        el.set_attr("id", "2");
        assert_eq!(el.attrs[0], ("id".into(), "2".into()));
        assert_eq!(el.remove_attr("type").as_deref(), Some("get"));
        assert_eq!(el.attr("type"), None);
        assert_eq!(el.remove_attr("type"), None);
    }

    #[test]
    fn get_child_matches_name_and_namespace() {
        let mut el = Element::new("iq", "jabber:client")
            .with_child(Element::new("query", "urn:a"))
            .with_child(Element::new("query", "urn:b").with_text("x"));
        assert_eq!(
            el.get_child("query", "urn:b").map(Element::text),
            Some("x".into())
        );
        assert!(el.get_child("query", "urn:c").is_none());
        el.get_child_mut("query", "urn:a")
            .expect("present")
            .set_attr("k", "v");
        assert_eq!(
            el.get_child("query", "urn:a").and_then(|c| c.attr("k")),
            Some("v")
        );
        assert_eq!(el.child_elements().count(), 2);
    }

    #[test]
    fn text_concatenates_direct_text_only() {
        let el = Element::new("body", "")
            .with_text("a")
            .with_child(Element::new("b", "").with_text("zzz"))
            .with_text("")
            .with_text("c");
        assert_eq!(el.text(), "ac");
        assert_eq!(el.children.len(), 3);
    }

    #[test]
    fn dropping_a_million_deep_tree_does_not_overflow_the_stack() {
        let mut el = Element::new("a", "");
        for _ in 0..1_000_000 {
            el = Element::new("a", "").with_child(el);
        }
        drop(el);
    }
}
