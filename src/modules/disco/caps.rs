//! The server's own XEP-0115 entity capabilities: the verification string of a host's
//! disco#info, offered as a `<c/>` stream feature to authenticated c2s streams (as
//! Prosody's mod_disco does, node `http://prosody.im`).

use base64::Engine;
use sha1::{Digest, Sha1};

use crate::xml::Element;

pub const NS_CAPS: &str = "http://jabber.org/protocol/caps";

/// The node Prosody's servers announce; clients that cache caps by node see the same.
pub const NODE: &str = "http://prosody.im";

/// XEP-0115 §5.1 verification string (SHA-1, base64) of identities (category, type,
/// name), features and extended forms.
pub fn verification_string(
    identities: &[(String, String, String)],
    features: impl IntoIterator<Item = impl AsRef<str>>,
    forms: &[Element],
) -> String {
    let mut ids: Vec<String> = identities
        .iter()
        .map(|(c, t, n)| format!("{c}/{t}//{n}<"))
        .collect();
    ids.sort();
    let mut s: String = ids.concat();
    let mut vars: Vec<String> = features
        .into_iter()
        .map(|f| f.as_ref().to_owned())
        .collect();
    vars.sort();
    vars.dedup();
    for v in vars {
        s.push_str(&v);
        s.push('<');
    }
    let mut forms: Vec<(String, String)> = forms.iter().filter_map(form_string).collect();
    forms.sort();
    for (_, f) in forms {
        s.push_str(&f);
    }
    base64::engine::general_purpose::STANDARD.encode(Sha1::digest(s.as_bytes()))
}

/// One `jabber:x:data` form as (FORM_TYPE, its part of the string).
fn form_string(form: &Element) -> Option<(String, String)> {
    let mut form_type = None;
    let mut fields = Vec::new();
    for field in form.child_elements().filter(|c| c.name == "field") {
        let var = field.attr("var")?.to_owned();
        let mut values: Vec<String> = field
            .child_elements()
            .filter(|v| v.name == "value")
            .map(|v| v.text())
            .collect();
        if var == "FORM_TYPE" {
            form_type = values.pop();
            continue;
        }
        values.sort();
        fields.push((var, values));
    }
    let form_type = form_type?;
    fields.sort();
    let mut s = format!("{form_type}<");
    for (var, values) in fields {
        s.push_str(&var);
        s.push('<');
        for v in values {
            s.push_str(&v);
            s.push('<');
        }
    }
    Some((form_type, s))
}

/// The `<c/>` stream feature for `ver`.
pub fn feature(ver: &str) -> Element {
    Element::new("c", NS_CAPS)
        .with_attr("hash", "sha-1")
        .with_attr("node", NODE)
        .with_attr("ver", ver)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_simple_example_of_xep_0115_hashes_as_published() {
        // XEP-0115 §5.2.
        let ids = [("client".into(), "pc".into(), "Exodus 0.9.1".into())];
        let features = [
            "http://jabber.org/protocol/caps",
            "http://jabber.org/protocol/disco#info",
            "http://jabber.org/protocol/disco#items",
            "http://jabber.org/protocol/muc",
        ];
        assert_eq!(
            verification_string(&ids, features, &[]),
            "QgayPKawpkPSDYmwT/WM94uAlu0="
        );
    }

    #[test]
    fn feature_order_does_not_change_the_string() {
        let ids = [("server".into(), "im".into(), "Lilt".into())];
        let a = verification_string(&ids, ["b", "a"], &[]);
        let b = verification_string(&ids, ["a", "b"], &[]);
        assert_eq!(a, b);
        assert_eq!(feature(&a).attr("node"), Some(NODE));
    }
}
