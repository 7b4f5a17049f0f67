//! XEP-0115 entity capabilities as mod_pep uses them: the cache key a presence's `<c/>`
//! gives, the verification string and hash of a disco#info result, and the `+notify`
//! nodes that result asks for.

use std::collections::BTreeSet;

use base64::Engine;
use sha1::{Digest, Sha1};

use crate::xml::Element;
use crate::xmpp::ns;

/// (cache key, disco node to query) of an available presence's caps, as Prosody reads
/// them: `sha-1` caps are keyed by `ver`; legacy caps (no `hash`) by `node#ver#ext`.
pub fn caps_key(presence: &Element) -> Option<(String, String)> {
    let c = presence.get_child("c", ns::CAPS)?;
    let (node, ver) = (c.attr("node")?, c.attr("ver")?);
    match c.attr("hash") {
        Some("sha-1") => Some((ver.to_owned(), format!("{node}#{ver}"))),
        Some(_) => None,
        None => Some((
            format!("{node}#{ver}#{}", c.attr("ext").unwrap_or("")),
            format!("{node}#{ver}"),
        )),
    }
}

/// The XEP-0115 verification string of a disco#info `<query/>`.
pub fn verification_string(query: &Element) -> String {
    let mut identities = Vec::new();
    let mut features = Vec::new();
    let mut extensions = Vec::new();
    for tag in query.child_elements() {
        match tag.name.as_str() {
            "identity" => identities.push(format!(
                "{}/{}/{}/{}",
                tag.attr("category").unwrap_or(""),
                tag.attr("type").unwrap_or(""),
                tag.attr("xml:lang").unwrap_or(""),
                tag.attr("name").unwrap_or("")
            )),
            "feature" => features.push(tag.attr("var").unwrap_or("").to_owned()),
            "x" if tag.ns == ns::DATA_FORMS => {
                let mut form_type = None;
                let mut fields = Vec::new();
                for field in tag.child_elements().filter(|f| f.name == "field") {
                    let Some(var) = field.attr("var") else {
                        continue;
                    };
                    let mut values: Vec<String> = field
                        .child_elements()
                        .filter(|v| v.child_elements().next().is_none())
                        .map(Element::text)
                        .collect();
                    values.sort();
                    if var == "FORM_TYPE" {
                        form_type = values.into_iter().next();
                    } else if values.is_empty() {
                        fields.push(var.to_owned());
                    } else {
                        fields.push(format!("{var}<{}", values.join("<")));
                    }
                }
                fields.sort();
                let mut form = fields.join("<");
                if let Some(ft) = form_type {
                    form = format!("{ft}<{form}");
                }
                extensions.push(form);
            }
            _ => {}
        }
    }
    identities.sort();
    features.sort();
    extensions.sort();
    let mut s = String::new();
    for part in [identities, features, extensions] {
        if !part.is_empty() {
            s.push_str(&part.join("<"));
            s.push('<');
        }
    }
    s
}

/// base64(SHA-1(verification string)).
pub fn ver(query: &Element) -> String {
    let digest = Sha1::digest(verification_string(query).as_bytes());
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// The nodes a disco#info result asks notifications for (`<node>+notify` features).
pub fn notify_nodes(query: &Element) -> BTreeSet<String> {
    query
        .child_elements()
        .filter(|t| t.name == "feature")
        .filter_map(|t| t.attr("var")?.strip_suffix("+notify").map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q() -> Element {
        let d = ns::DISCO_INFO;
        Element::new("query", d)
            .with_child(
                Element::new("identity", d)
                    .with_attr("category", "client")
                    .with_attr("name", "Exodus 0.9.1")
                    .with_attr("type", "pc"),
            )
            .with_child(
                Element::new("feature", d)
                    .with_attr("var", "http://jabber.org/protocol/disco#items"),
            )
            .with_child(
                Element::new("feature", d).with_attr("var", "http://jabber.org/protocol/caps"),
            )
            .with_child(
                Element::new("feature", d)
                    .with_attr("var", "http://jabber.org/protocol/disco#info"),
            )
            .with_child(
                Element::new("feature", d).with_attr("var", "http://jabber.org/protocol/muc"),
            )
    }

    #[test]
    fn xep_0115_simple_example_hashes_to_its_published_ver() {
        // XEP-0115 §5.2's example.
        assert_eq!(ver(&q()), "QgayPKawpkPSDYmwT/WM94uAlu0=");
    }

    #[test]
    fn notify_features_name_the_nodes() {
        let d = ns::DISCO_INFO;
        let query = q()
            .with_child(
                Element::new("feature", d).with_attr("var", "urn:xmpp:avatar:metadata+notify"),
            )
            .with_child(Element::new("feature", d).with_attr("var", "urn:xmpp:bookmarks:1+notify"));
        let nodes: Vec<String> = notify_nodes(&query).into_iter().collect();
        assert_eq!(nodes, ["urn:xmpp:avatar:metadata", "urn:xmpp:bookmarks:1"]);
    }

    #[test]
    fn caps_keys_follow_prosody_for_new_and_legacy_caps() {
        let p = |c: Element| Element::new("presence", ns::CLIENT).with_child(c);
        let new = Element::new("c", ns::CAPS)
            .with_attr("hash", "sha-1")
            .with_attr("node", "http://x")
            .with_attr("ver", "abc=");
        assert_eq!(
            caps_key(&p(new)),
            Some(("abc=".into(), "http://x#abc=".into()))
        );
        let legacy = Element::new("c", ns::CAPS)
            .with_attr("node", "http://x")
            .with_attr("ver", "1.0");
        assert_eq!(
            caps_key(&p(legacy)),
            Some(("http://x#1.0#".into(), "http://x#1.0".into()))
        );
        let md5 = Element::new("c", ns::CAPS)
            .with_attr("hash", "md5")
            .with_attr("node", "n")
            .with_attr("ver", "v");
        assert_eq!(caps_key(&p(md5)), None);
    }
}
