//! Node configuration as Prosody's util.pubsub keeps it: only explicitly set values are
//! stored on the node (a Lua table keyed by the form's field names), effective values
//! fall back to the service's node defaults, then to util.pubsub's own. The
//! `pubsub#node_config` data form is read and written here, with Prosody's validation.

use std::collections::BTreeMap;

use super::error::{FieldError, FormError};
use crate::xml::Element;
use crate::xmpp::ns;

pub const NODE_CONFIG: &str = "http://jabber.org/protocol/pubsub#node_config";
pub const SUBSCRIBE_OPTIONS: &str = "http://jabber.org/protocol/pubsub#subscribe_options";
pub const META_DATA: &str = "http://jabber.org/protocol/pubsub#meta-data";
const VALIDATE: &str = "http://jabber.org/protocol/xdata-validate";

/// One config value as it is stored (Lua boolean, number or string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Str(String),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// How the form writes it (`%d` for numbers, `1`/`0` for booleans).
    fn form_text(&self, boolean: bool) -> String {
        match self {
            Value::Bool(b) => if *b { "1" } else { "0" }.to_owned(),
            Value::Int(n) if boolean => if *n != 0 { "1" } else { "0" }.to_owned(),
            Value::Int(n) => n.to_string(),
            Value::Str(s) => s.clone(),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_owned())
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Int(n)
    }
}

/// Config values by key (`max_items`, `access_model`, ...).
pub type ConfigMap = BTreeMap<String, Value>;

/// util.pubsub's defaults, under every service's `node_defaults`.
pub fn util_defaults() -> ConfigMap {
    let mut m = ConfigMap::new();
    m.insert("persist_items".into(), true.into());
    m.insert("max_items".into(), 20.into());
    m.insert("access_model".into(), "open".into());
    m.insert("publish_model".into(), "publishers".into());
    m.insert("send_last_published_item".into(), "never".into());
    m
}

/// `explicit` over `defaults` over util.pubsub's defaults: the table
/// `get_node_config` returns.
pub fn effective(explicit: &ConfigMap, defaults: &ConfigMap) -> ConfigMap {
    let mut m = util_defaults();
    m.extend(defaults.iter().map(|(k, v)| (k.clone(), v.clone())));
    m.extend(explicit.iter().map(|(k, v)| (k.clone(), v.clone())));
    m
}

/// A field of the node config form.
struct Field {
    var: &'static str,
    name: &'static str,
    kind: &'static str,
    label: Option<&'static str>,
    /// (label, value, default)
    options: &'static [(Option<&'static str>, &'static str, bool)],
    /// The layout's own value (shown when the data has none).
    value: Option<bool>,
}

const fn field(var: &'static str, name: &'static str, kind: &'static str) -> Field {
    Field {
        var,
        name,
        kind,
        label: None,
        options: &[],
        value: None,
    }
}

const NODE_FIELDS: &[Field] = &[
    Field {
        label: Some("Title"),
        ..field("pubsub#title", "title", "text-single")
    },
    Field {
        label: Some("Description"),
        ..field("pubsub#description", "description", "text-single")
    },
    Field {
        label: Some(
            "The type of node data, usually specified by the namespace of the payload (if any)",
        ),
        ..field("pubsub#type", "payload_type", "text-single")
    },
    Field {
        label: Some("Max # of items to persist"),
        ..field("pubsub#max_items", "max_items", "text-single")
    },
    Field {
        label: Some("Persist items to storage"),
        ..field("pubsub#persist_items", "persist_items", "boolean")
    },
    Field {
        label: Some("Specify the subscriber model"),
        options: &[
            (None, "authorize", false),
            (None, "open", false),
            (None, "presence", false),
            (None, "roster", false),
            (None, "whitelist", false),
        ],
        ..field("pubsub#access_model", "access_model", "list-single")
    },
    Field {
        label: Some("Specify the publisher model"),
        options: &[
            (None, "publishers", false),
            (None, "subscribers", false),
            (None, "open", false),
        ],
        ..field("pubsub#publish_model", "publish_model", "list-single")
    },
    Field {
        options: &[
            (None, "never", false),
            (None, "on_sub", false),
            (None, "on_sub_and_presence", false),
        ],
        ..field(
            "pubsub#send_last_published_item",
            "send_last_published_item",
            "list-single",
        )
    },
    Field {
        label: Some("Whether to deliver event notifications"),
        value: Some(true),
        ..field("pubsub#deliver_notifications", "notify_items", "boolean")
    },
    Field {
        label: Some("Whether to deliver payloads with event notifications"),
        value: Some(true),
        ..field("pubsub#deliver_payloads", "include_payload", "boolean")
    },
    Field {
        label: Some("Specify the delivery style for notifications"),
        options: &[
            (Some("Messages of type normal"), "normal", false),
            (Some("Messages of type headline"), "headline", true),
        ],
        ..field(
            "pubsub#notification_type",
            "notification_type",
            "list-single",
        )
    },
    Field {
        label: Some("Whether to notify subscribers when the node is deleted"),
        value: Some(true),
        ..field("pubsub#notify_delete", "notify_delete", "boolean")
    },
    Field {
        label: Some("Whether to notify subscribers when items are removed from the node"),
        value: Some(true),
        ..field("pubsub#notify_retract", "notify_retract", "boolean")
    },
];

const SUBSCRIBE_FIELDS: &[Field] = &[Field {
    label: Some("Receive message body in addition to payload?"),
    ..field("pubsub#include_body", "pubsub#include_body", "boolean")
}];

fn text_of(field: &Element) -> Option<String> {
    field.get_child("value", ns::DATA_FORMS).map(Element::text)
}

fn read_field(f: &Field, tag: &Element, max_items: i64) -> Result<Option<Value>, FieldError> {
    let Some(raw) = text_of(tag) else {
        return Ok(None);
    };
    if f.kind == "boolean" {
        return match raw.as_str() {
            "1" | "true" => Ok(Some(true.into())),
            "0" | "false" => Ok(Some(false.into())),
            _ => Err(FieldError::Boolean(raw)),
        };
    }
    if f.name == "max_items" {
        if raw == "max" {
            return Ok(Some("max".into()));
        }
        let n: f64 = raw.trim().parse().map_err(|_| FieldError::NotANumber)?;
        if n.fract() != 0.0 {
            return Err(FieldError::NotAnInteger);
        }
        if n > max_items as f64 || n < 1.0 {
            return Err(FieldError::OutOfBounds);
        }
        return Ok(Some(Value::Int(n as i64)));
    }
    Ok(Some(Value::Str(raw)))
}

fn read_form(
    fields: &[Field],
    form: &Element,
    current: Option<&ConfigMap>,
    max_items: i64,
) -> Result<ConfigMap, FormError> {
    let mut data = ConfigMap::new();
    let mut errors = Vec::new();
    for f in fields {
        let tag = form
            .child_elements()
            .find(|t| t.name == "field" && t.attr("var") == Some(f.var));
        match tag {
            None => {
                if let Some(v) = current.and_then(|c| c.get(f.name)) {
                    data.insert(f.name.to_owned(), v.clone());
                }
            }
            Some(tag) => match read_field(f, tag, max_items) {
                Ok(Some(v)) => {
                    data.insert(f.name.to_owned(), v);
                }
                Ok(None) => {}
                Err(e) => errors.push((f.name, e)),
            },
        }
    }
    if errors.is_empty() {
        Ok(data)
    } else {
        Err(FormError(errors))
    }
}

/// Reads a submitted node config form; fields left out keep `current`'s values.
/// `Err` shows as Prosody's "field: message" text for a `modify/bad-request`.
pub fn read_node_form(
    form: &Element,
    current: Option<&ConfigMap>,
    max_items: i64,
) -> Result<ConfigMap, FormError> {
    read_form(NODE_FIELDS, form, current, max_items)
}

/// Reads a subscription options form.
pub fn read_subscribe_form(
    form: &Element,
    current: Option<&ConfigMap>,
) -> Result<ConfigMap, FormError> {
    read_form(SUBSCRIBE_FIELDS, form, current, 0)
}

fn render(fields: &[Field], form_type: &str, data: &ConfigMap, max_items: Option<i64>) -> Element {
    let mut x = Element::new("x", ns::DATA_FORMS).with_attr("type", form_type);
    let hidden = Element::new("field", ns::DATA_FORMS)
        .with_attr("type", "hidden")
        .with_attr("var", "FORM_TYPE")
        .with_child(Element::new("value", ns::DATA_FORMS).with_text(
            if std::ptr::eq(fields, SUBSCRIBE_FIELDS) {
                SUBSCRIBE_OPTIONS
            } else {
                NODE_CONFIG
            },
        ));
    x.push_child(hidden);
    for f in fields {
        let mut el = Element::new("field", ns::DATA_FORMS)
            .with_attr("type", f.kind)
            .with_attr("var", f.var);
        if let Some(l) = f.label.filter(|_| form_type != "submit") {
            el.set_attr("label", l);
        }
        if form_type == "form" && f.name == "max_items" {
            let mut range = Element::new("range", VALIDATE).with_attr("min", "1");
            if let Some(m) = max_items {
                range.set_attr("max", m.to_string());
            }
            el.push_child(
                Element::new("validate", VALIDATE)
                    .with_attr("datatype", "pubsub:integer-or-max")
                    .with_child(range),
            );
        }
        let mut value = data
            .get(f.name)
            .map(|v| v.form_text(f.kind == "boolean"))
            .or_else(|| f.value.map(|b| if b { "1" } else { "0" }.to_owned()));
        if form_type == "form" {
            for (label, v, default) in f.options {
                let mut opt = Element::new("option", ns::DATA_FORMS);
                opt.set_attr("label", label.unwrap_or(v));
                opt.push_child(Element::new("value", ns::DATA_FORMS).with_text(*v));
                el.push_child(opt);
                if *default && value.is_none() {
                    value = Some((*v).to_owned());
                }
            }
        }
        if let Some(v) = value {
            el.push_child(Element::new("value", ns::DATA_FORMS).with_text(v));
        }
        x.push_child(el);
    }
    x
}

/// The node config form (`form` for configure/default) filled with `data`.
pub fn node_form(data: &ConfigMap, max_items: i64) -> Element {
    render(NODE_FIELDS, "form", data, Some(max_items))
}

/// The subscription options form.
pub fn subscribe_form(data: &ConfigMap) -> Element {
    render(SUBSCRIBE_FIELDS, "form", data, None)
}

/// The `pubsub#meta-data` result form of disco#info on a node.
pub fn meta_data_form(config: &ConfigMap) -> Element {
    let mut x = Element::new("x", ns::DATA_FORMS).with_attr("type", "result");
    x.push_child(
        Element::new("field", ns::DATA_FORMS)
            .with_attr("type", "hidden")
            .with_attr("var", "FORM_TYPE")
            .with_child(Element::new("value", ns::DATA_FORMS).with_text(META_DATA)),
    );
    for (var, key) in [
        ("pubsub#title", "title"),
        ("pubsub#description", "description"),
        ("pubsub#type", "payload_type"),
        ("pubsub#access_model", "access_model"),
        ("pubsub#publish_model", "publish_model"),
    ] {
        let mut f = Element::new("field", ns::DATA_FORMS)
            .with_attr("type", "text-single")
            .with_attr("var", var);
        if let Some(v) = config.get(key) {
            f.push_child(Element::new("value", ns::DATA_FORMS).with_text(v.form_text(false)));
        }
        x.push_child(f);
    }
    x
}

/// `max_items` as a number (`max` = the service's limit).
pub fn max_items_number(v: Option<&Value>, max: i64) -> Option<i64> {
    match v? {
        Value::Int(n) => Some(*n),
        Value::Str(s) if s == "max" => Some(max),
        Value::Str(s) => s.parse().ok(),
        Value::Bool(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submit(fields: &[(&str, &str)]) -> Element {
        let mut x = Element::new("x", ns::DATA_FORMS).with_attr("type", "submit");
        for (var, v) in fields {
            x.push_child(
                Element::new("field", ns::DATA_FORMS)
                    .with_attr("var", *var)
                    .with_child(Element::new("value", ns::DATA_FORMS).with_text(*v)),
            );
        }
        x
    }

    #[test]
    fn form_reads_typed_values_and_keeps_current_for_missing_fields() {
        let mut current = ConfigMap::new();
        current.insert("title".into(), "old".into());
        let got = read_node_form(
            &submit(&[
                ("FORM_TYPE", NODE_CONFIG),
                ("pubsub#max_items", "max"),
                ("pubsub#persist_items", "true"),
                ("pubsub#access_model", "open"),
            ]),
            Some(&current),
            256,
        )
        .expect("valid");
        assert_eq!(got.get("max_items"), Some(&Value::from("max")));
        assert_eq!(got.get("persist_items"), Some(&Value::Bool(true)));
        assert_eq!(got.get("title"), Some(&Value::from("old")));
        assert!(!got.contains_key("FORM_TYPE"));
    }

    #[test]
    fn max_items_out_of_range_or_not_integer_is_refused_with_prosodys_text() {
        let text = |r: Result<ConfigMap, FormError>| r.map_err(|e| e.to_string());
        let err = text(read_node_form(
            &submit(&[("pubsub#max_items", "300")]),
            None,
            256,
        ));
        assert_eq!(err, Err("max_items: out of bounds".into()));
        let err = text(read_node_form(
            &submit(&[("pubsub#max_items", "1.5")]),
            None,
            256,
        ));
        assert_eq!(err, Err("max_items: not an integer".into()));
        let err = text(read_node_form(
            &submit(&[("pubsub#persist_items", "yes")]),
            None,
            256,
        ));
        assert_eq!(
            err,
            Err("persist_items: Invalid boolean representation:yes".into())
        );
    }

    #[test]
    fn rendered_form_shows_layout_defaults_and_options() {
        let x = node_form(&effective(&ConfigMap::new(), &ConfigMap::new()), 256);
        let xml = x.to_xml();
        assert!(xml.contains("var='pubsub#max_items' label='Max # of items to persist'><validate xmlns='http://jabber.org/protocol/xdata-validate' datatype='pubsub:integer-or-max'><range min='1' max='256'/></validate><value>20</value>"), "{xml}");
        assert!(xml.contains("var='pubsub#deliver_payloads' label='Whether to deliver payloads with event notifications'><value>1</value>"), "{xml}");
        assert!(xml.contains("<option label='Messages of type headline'><value>headline</value></option><value>headline</value>"), "{xml}");
    }
}
