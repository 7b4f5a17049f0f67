//! mod_server_contact_info: XEP-0157 contact addresses as a disco#info extension form
//! (`http://jabber.org/network/serverinfo`) from the `contact_info` option, a table of
//! lists keyed `abuse`, `admin`, `feedback`, `sales`, `security`, `status`, `support`.
//! Without the option, `admin` lists the configured `admins` as `xmpp:` URIs.

use crate::config::{Section, Value};
use crate::core::Core;
use crate::xml::Element;
use crate::xmpp::jid::Jid;
use crate::xmpp::ns;

/// FORM_TYPE of the form.
pub const FORM_TYPE: &str = "http://jabber.org/network/serverinfo";

/// Option keys and their field names, in the order Prosody lays out the form.
const FIELDS: &[(&str, &str)] = &[
    ("abuse", "abuse-addresses"),
    ("admin", "admin-addresses"),
    ("feedback", "feedback-addresses"),
    ("sales", "sales-addresses"),
    ("security", "security-addresses"),
    ("status", "status-addresses"),
    ("support", "support-addresses"),
];

pub fn load(core: &mut Core, host: &str) {
    let form = contact_form(&core.shared.config.host(host));
    if let Some(h) = core.hosts.get_mut(host) {
        h.extensions.push(form);
    }
}

fn addresses(section: &Section<'_>, key: &str) -> Option<Vec<String>> {
    let Some(Value::Table(t)) = section.get("contact_info") else {
        return None;
    };
    Some(match t.get(key) {
        Some(Value::Table(list)) => list
            .seq()
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    })
}

/// The `type='result'` form for one host.
pub fn contact_form(section: &Section<'_>) -> Element {
    let configured = matches!(section.get("contact_info"), Some(Value::Table(_)));
    let d = ns::DATA_FORMS;
    let mut x = Element::new("x", d).with_attr("type", "result").with_child(
        Element::new("field", d)
            .with_attr("type", "hidden")
            .with_attr("var", "FORM_TYPE")
            .with_child(Element::new("value", d).with_text(FORM_TYPE)),
    );
    for (key, var) in FIELDS {
        let values = if configured {
            addresses(section, key).unwrap_or_default()
        } else if *key == "admin" {
            section
                .inherited_set("admins")
                .iter()
                .filter_map(|a| Jid::parse(a).ok())
                .map(|j| format!("xmpp:{j}"))
                .collect()
        } else {
            Vec::new()
        };
        let mut field = Element::new("field", d)
            .with_attr("type", "list-multi")
            .with_attr("var", *var);
        for v in values {
            field.push_child(Element::new("value", d).with_text(v));
        }
        x.push_child(field);
    }
    x
}
