//! mod_pubsub (reference §14.4): a pubsub service on a component host, answering
//! `iq/host` pubsub IQs, listing its nodes on disco#items and node info on disco#info.
//! Server admins and the service's own domain get `default_admin_affiliation`
//! (owner); everyone else the access model's default, so only admins create nodes
//! unless affiliations are granted.

use std::collections::HashMap;
use std::rc::Rc;

use super::config::{ConfigMap, Value};
use super::notify::{self, atom_summary, Style};
use super::protocol::{self, PUBSUB_OWNER};
use super::service::{Effect, NoRelations, Owner, Service, ServiceConfig, PUBSUB};
use super::store::{Layout, ProsodyStore};
use crate::core::router::post_stanza;
use crate::core::{Bus, Core, Origin};
use crate::modules::iq::result_for;
use crate::xml::Element;
use crate::xmpp::ns;

/// The component services, by host.
#[derive(Default)]
pub struct ComponentServices {
    services: HashMap<String, Service>,
}

pub fn load(core: &mut Core, host: &str) {
    // mod_pubsub depends on mod_disco, which components do not load by themselves.
    let has_disco = core
        .hosts
        .get(host)
        .is_some_and(|h| h.modules.contains("disco"));
    if !has_disco {
        crate::modules::disco::load(core, host);
        if let Some(h) = core.hosts.get_mut(host) {
            h.modules.insert("disco".to_owned());
            // Prosody's mod_disco names only VirtualHosts `server/im`.
            h.identities
                .retain(|(c, t, _)| !(c == "server" && t == "im"));
        }
    }
    let opts = core.options().host(host);
    let name = opts
        .string("name")
        .unwrap_or_else(|| "Prosody PubSub Service".to_owned());
    let mut defaults = ConfigMap::new();
    defaults.insert("persist_items".into(), Value::Bool(true));
    let config = ServiceConfig {
        jid: host.to_owned(),
        owner: Owner::Component {
            host: host.to_owned(),
            admins: opts.inherited_set("admins").into_iter().collect(),
            admin_affiliation: opts
                .string("default_admin_affiliation")
                .unwrap_or_else(|| "owner".to_owned()),
        },
        node_defaults: defaults,
        max_items: opts.number("pubsub_max_items").map_or(256, |n| n as i64),
        autocreate_on_publish: opts.boolean("autocreate_on_publish").unwrap_or(false),
        autocreate_on_subscribe: opts.boolean("autocreate_on_subscribe").unwrap_or(false),
        expose_publisher: opts.boolean("expose_publisher").unwrap_or(false),
        access_models: &["whitelist", "open"],
    };
    let store = ProsodyStore::new(&core.shared, host, Layout::Component);
    let mut service = Service::new(config, Box::new(store));
    service.load();
    let feats = super::features::features(&service);
    core.state::<ComponentServices>()
        .services
        .insert(host.to_owned(), service);
    if let Some(h) = core.hosts.get_mut(host) {
        h.identities.push(("pubsub".into(), "service".into(), name));
        h.features.insert(PUBSUB.to_owned());
        for f in feats {
            h.features.insert(format!("{PUBSUB}#{f}"));
        }
    }
    let bus = Bus::Host(host.to_owned());
    for xmlns in [PUBSUB, PUBSUB_OWNER] {
        let h = host.to_owned();
        core.hook(
            &bus,
            &format!("iq/host/{xmlns}:pubsub"),
            0.0,
            Rc::new(move |core, ev| {
                let stanza = ev.stanza.clone()?;
                let (reply, before, after) =
                    with_service(core, &h, |s| protocol::handle_iq(s, &stanza, &NoRelations))?;
                let reply = reply?;
                send_all(core, &h, before);
                core.reply(&ev.origin, reply);
                send_all(core, &h, after);
                Some(true)
            }),
        );
    }
    disco_hooks(core, host);
}

pub(super) fn send_all(core: &mut Core, host: &str, list: Vec<Element>) {
    for m in list {
        post_stanza(core, Origin::Host(host.to_owned()), m, false);
    }
}

type Sends = Vec<Element>;

/// Runs `f` on the host's service; returns its result and the notifications to send
/// before and after the reply.
pub fn with_service<R>(
    core: &mut Core,
    host: &str,
    f: impl FnOnce(&mut Service) -> R,
) -> Option<(R, Sends, Sends)> {
    let s = core.state::<ComponentServices>().services.get_mut(host)?;
    let r = f(s);
    let effects = s.take_effects();
    let expose = s.config.expose_publisher;
    let mut before = Vec::new();
    let mut after = Vec::new();
    let mut events = Vec::new();
    for e in effects {
        let b = match e {
            Effect::Broadcast(b) => b,
            Effect::Event(ev) => {
                events.push(ev);
                continue;
            }
        };
        let msg = notify::message(
            &b,
            host,
            Style::Component {
                expose_publisher: expose,
            },
        );
        let summary = b
            .item
            .as_ref()
            .and_then(|i| i.child_elements().next())
            .and_then(atom_summary);
        let list = if b.config.is_some() {
            &mut before
        } else {
            &mut after
        };
        for (jid, opts) in &b.recipients {
            let mut m = msg.clone();
            let wants_body = opts.as_ref().and_then(|o| o.get("pubsub#include_body"))
                == Some(&Value::Bool(true));
            if let (true, Some(text)) = (wants_body, &summary) {
                m.push_child(Element::new("body", ns::CLIENT).with_text(text.as_str()));
            }
            m.set_attr("to", jid.as_str());
            list.push(m);
        }
    }
    for ev in &events {
        super::lua::fire(core, host, None, ev);
    }
    Some((r, before, after))
}

fn disco_hooks(core: &mut Core, host: &str) {
    let bus = Bus::Host(host.to_owned());
    let h = host.to_owned();
    core.hook(
        &bus,
        &format!("iq-get/host/{}:query", ns::DISCO_ITEMS),
        1.0,
        Rc::new(move |core, ev| {
            let stanza = ev.stanza.clone()?;
            let node = stanza
                .get_child("query", ns::DISCO_ITEMS)?
                .attr("node")
                .map(str::to_owned);
            let from = stanza.attr("from").unwrap_or_default().to_owned();
            let mut q = Element::new("query", ns::DISCO_ITEMS);
            let reply = with_service(core, &h, |s| match &node {
                None => {
                    if let Ok(nodes) = s.get_nodes(Some(&from), &NoRelations) {
                        for n in nodes.values() {
                            let mut item = Element::new("item", ns::DISCO_ITEMS)
                                .with_attr("jid", h.as_str())
                                .with_attr("node", n.name.as_str());
                            if let Some(t) = n.config.get("title").and_then(Value::as_str) {
                                item.set_attr("name", t);
                            }
                            q.push_child(item);
                        }
                    }
                    Ok(result_for(&stanza).with_child(q))
                }
                Some(node) => {
                    q.set_attr("node", node.as_str());
                    let items = s.get_items(node, Some(&from), None, None, &NoRelations)?;
                    for i in items {
                        q.push_child(
                            Element::new("item", ns::DISCO_ITEMS)
                                .with_attr("jid", h.as_str())
                                .with_attr("name", i.id.as_str()),
                        );
                    }
                    Ok(result_for(&stanza).with_child(q))
                }
            })?
            .0;
            let out = reply.unwrap_or_else(|e: super::error::PubsubError| e.reply(&stanza));
            core.reply(&ev.origin, out);
            Some(true)
        }),
    );
    let h = host.to_owned();
    core.hook(
        &bus,
        &format!("iq-get/host/{}:query", ns::DISCO_INFO),
        1.0,
        Rc::new(move |core, ev| {
            let stanza = ev.stanza.clone()?;
            let node = stanza
                .get_child("query", ns::DISCO_INFO)?
                .attr("node")?
                .to_owned();
            let from = stanza.attr("from").unwrap_or_default().to_owned();
            let reply = with_service(core, &h, |s| {
                let nodes = s.get_nodes(Some(&from), &NoRelations)?;
                let n = nodes
                    .get(&node)
                    .ok_or(super::error::PubsubError::ItemNotFound)?;
                let q = Element::new("query", ns::DISCO_INFO)
                    .with_attr("node", node.as_str())
                    .with_child(
                        Element::new("identity", ns::DISCO_INFO)
                            .with_attr("category", "pubsub")
                            .with_attr("type", "leaf"),
                    )
                    .with_child(super::config::meta_data_form(&s.effective(&n.config)));
                Ok(result_for(&stanza).with_child(q))
            })?
            .0;
            let out = reply.unwrap_or_else(|e: super::error::PubsubError| e.reply(&stanza));
            core.reply(&ev.origin, out);
            Some(true)
        }),
    );
}
