//! mod_disco: XEP-0030 disco#info and disco#items on the host (reference §9.6), with
//! the identity `server/im` and the features of the modules loaded there.

pub mod account;
pub mod caps;

use std::rc::Rc;

use crate::core::{Bus, Core};
use crate::modules::iq::result_for;
use crate::xml::Element;
use crate::xmpp::error::{StanzaCondition, StanzaError};
use crate::xmpp::ns;

pub fn load(core: &mut Core, host: &str) {
    let bus = Bus::Host(host.to_owned());
    if !core.hosts.get(host).is_some_and(|h| h.is_component) {
        account::load(core, host);
    }
    let name = core
        .shared
        .config
        .host(host)
        .string("name")
        .unwrap_or_else(|| "Lilt".to_owned());
    if let Some(h) = core.hosts.get_mut(host) {
        h.identities.push(("server".into(), "im".into(), name));
        h.features.insert(ns::DISCO_INFO.to_owned());
        h.features.insert(ns::DISCO_ITEMS.to_owned());
    }
    let host_name = host.to_owned();
    core.hook(
        &bus,
        &format!("iq-get/host/{}:query", ns::DISCO_INFO),
        0.0,
        Rc::new(move |core, ev| {
            let stanza = ev.stanza.as_ref()?;
            let query = stanza.get_child("query", ns::DISCO_INFO)?;
            if let Some(node) = query.attr("node") {
                if lua_node_query(core, &host_name, &ev.origin, stanza, node, ns::DISCO_INFO) {
                    return Some(true);
                }
                let e = StanzaError::cancel(StanzaCondition::ItemNotFound)
                    .with_text("Node does not exist")
                    .reply(stanza);
                core.reply(&ev.origin, e);
                return Some(true);
            }
            let host = core.hosts.get(&host_name)?;
            let mut q = Element::new("query", ns::DISCO_INFO);
            for (cat, typ, name) in &host.identities {
                q.push_child(
                    Element::new("identity", ns::DISCO_INFO)
                        .with_attr("category", cat.as_str())
                        .with_attr("type", typ.as_str())
                        .with_attr("name", name.as_str()),
                );
            }
            for f in &host.features {
                q.push_child(Element::new("feature", ns::DISCO_INFO).with_attr("var", f.as_str()));
            }
            for x in &host.extensions {
                q.push_child(x.clone());
            }
            let reply = result_for(stanza).with_child(q);
            core.reply(&ev.origin, reply);
            Some(true)
        }),
    );
    let host_name = host.to_owned();
    core.hook(
        &bus,
        &format!("iq-get/host/{}:query", ns::DISCO_ITEMS),
        0.0,
        Rc::new(move |core, ev| {
            let stanza = ev.stanza.as_ref()?;
            let query = stanza.get_child("query", ns::DISCO_ITEMS)?;
            if let Some(node) = query.attr("node") {
                if lua_node_query(core, &host_name, &ev.origin, stanza, node, ns::DISCO_ITEMS) {
                    return Some(true);
                }
                let e = StanzaError::cancel(StanzaCondition::ItemNotFound)
                    .with_text("Node does not exist")
                    .reply(stanza);
                core.reply(&ev.origin, e);
                return Some(true);
            }
            // host-disco-items handlers add their items first (§20.1).
            let Some(mut q) = lua_host_items(core, &host_name, &ev.origin, stanza) else {
                return Some(true);
            };
            let suffix = format!(".{host_name}");
            // Sub-domain hosts and components, each named by its `name` option, unless
            // `disco_hidden`; then the `disco_items` entries (reference §9.6, §12.1).
            let config = core.options();
            let mut subs: Vec<&String> = core
                .hosts
                .keys()
                .filter(|h| h.ends_with(&suffix))
                .filter(|h| config.host(h).boolean("disco_hidden") != Some(true))
                .collect();
            subs.sort();
            for h in subs {
                let mut item = Element::new("item", ns::DISCO_ITEMS).with_attr("jid", h.as_str());
                if let Some(name) = config.host(h).string("name") {
                    item.set_attr("name", name);
                }
                q.push_child(item);
            }
            for (jid, name) in disco_items(config, &host_name) {
                let mut item = Element::new("item", ns::DISCO_ITEMS).with_attr("jid", jid);
                if let Some(name) = name {
                    item.set_attr("name", name);
                }
                q.push_child(item);
            }
            let reply = result_for(stanza).with_child(q);
            core.reply(&ev.origin, reply);
            Some(true)
        }),
    );
}

/// `host-disco-info-node` / `host-disco-items-node` for Lua plugins (mod_adhoc's command
/// list): true when a handler answered the node query.
fn lua_node_query(
    core: &mut Core,
    host: &str,
    origin: &crate::core::Origin,
    stanza: &Element,
    node: &str,
    xmlns: &str,
) -> bool {
    let reply = result_for(stanza).with_child(Element::new("query", xmlns).with_attr("node", node));
    crate::lua::disco::node_query(core, host, origin, stanza, node, reply)
}

/// The host's disco#items query after `host-disco-items` handlers added to it; `None`
/// when one of them answered itself.
fn lua_host_items(
    core: &mut Core,
    host: &str,
    origin: &crate::core::Origin,
    stanza: &Element,
) -> Option<Element> {
    let reply = result_for(stanza).with_child(Element::new("query", ns::DISCO_ITEMS));
    let mut reply = crate::lua::disco::host_items(core, host, origin, stanza, reply)?;
    let q = reply
        .children
        .iter()
        .position(|c| matches!(c, crate::xml::Node::Element(e) if e.name == "query"));
    match q.map(|i| reply.children.remove(i)) {
        Some(crate::xml::Node::Element(e)) => Some(e),
        _ => Some(Element::new("query", ns::DISCO_ITEMS)),
    }
}

/// The `disco_items` option: `{ {"jid", "name"}, ... }` (the name may be left out).
fn disco_items(config: &crate::config::Config, host: &str) -> Vec<(String, Option<String>)> {
    use crate::config::Value;
    let Some(Value::Table(t)) = config.host(host).get("disco_items") else {
        return Vec::new();
    };
    t.seq()
        .iter()
        .filter_map(|entry| match entry {
            Value::Table(e) => {
                let parts = e.seq();
                let jid = parts.first()?.to_lua_string()?;
                Some((jid, parts.get(1).and_then(Value::to_lua_string)))
            }
            _ => None,
        })
        .collect()
}
