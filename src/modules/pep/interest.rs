//! Who wants which PEP notifications without subscribing (XEP-0163 §4, "+notify"):
//! available presence from the account's own resources or from contacts with a
//! presence subscription carries XEP-0115 caps; an unknown caps key is resolved by one
//! disco#info query, whose computed hash then maps to the `+notify` nodes for every
//! later session of any user with that client. New interest gets the last items of
//! nodes that send them on presence.

use std::collections::BTreeSet;
use std::rc::Rc;

use super::{caps, route, with_service, PepState};
use crate::core::{Bus, Core, Event};
use crate::modules::pubsub::config::Value;
use crate::modules::pubsub::notify::{self, Style};
use crate::modules::roster::manager;
use crate::xml::Element;
use crate::xmpp::ns;

pub fn load(core: &mut Core, host: &str) {
    let bus = Bus::Host(host.to_owned());
    let h = host.to_owned();
    core.hook(
        &bus,
        "presence/bare",
        10.0,
        Rc::new(move |core, ev| {
            presence(core, &h, ev);
            None
        }),
    );
    let h = host.to_owned();
    core.hook(
        &bus,
        "iq-result/bare/disco",
        0.0,
        Rc::new(move |core, ev| {
            disco_result(core, &h, ev);
            None
        }),
    );
}

fn bare(jid: &str) -> &str {
    jid.split_once('/').map_or(jid, |(b, _)| b)
}

/// (user, user's bare JID) the stanza is addressed to (its sender when sent to self).
fn addressee(core: &Core, host: &str, ev: &Event) -> Option<(String, String)> {
    let stanza = ev.stanza.as_ref()?;
    let user = match stanza.attr("to") {
        Some(to) => bare(to).split_once('@')?.0.to_owned(),
        None => core.origin_username(&ev.origin)?,
    };
    let bare_jid = format!("{user}@{host}");
    Some((user, bare_jid))
}

fn subscription_presence(core: &mut Core, host: &str, user: &str, recipient: &str) -> bool {
    let user_bare = format!("{user}@{host}");
    let r = bare(recipient);
    r == user_bare || manager::is_contact_subscribed(core, user, host, r)
}

fn presence(core: &mut Core, host: &str, ev: &mut Event) {
    let Some(stanza) = ev.stanza.as_ref() else {
        return;
    };
    let is_self = stanza.attr("to").is_none();
    let Some(from) = stanza.attr("from").map(str::to_owned) else {
        return;
    };
    let ptype = stanza.attr("type").map(str::to_owned);
    let Some((user, user_bare)) = addressee(core, host, ev) else {
        return;
    };
    match ptype.as_deref() {
        None => {
            if !(is_self || subscription_presence(core, host, &user, &from)) {
                return;
            }
            let key = ev.stanza.as_ref().and_then(caps::caps_key);
            let state = core.state::<PepState>();
            let current = state
                .recipients
                .get(&user_bare)
                .and_then(|r| r.get(&from))
                .cloned();
            let Some((hash, query_node)) = key else {
                update(core, host, &from, &user, None);
                return;
            };
            let known = state.hash_map.get(&hash).cloned();
            if let (Some(cur), Some(k)) = (&current, &known) {
                if cur == k {
                    return;
                }
            }
            match known {
                Some(nodes) => update(core, host, &from, &user, Some(nodes)),
                None => {
                    core.state::<PepState>()
                        .recipients
                        .entry(user_bare.clone())
                        .or_default();
                    let iq = Element::new("iq", ns::CLIENT)
                        .with_attr("from", user_bare.as_str())
                        .with_attr("to", from.as_str())
                        .with_attr("id", "disco")
                        .with_attr("type", "get")
                        .with_child(
                            Element::new("query", ns::DISCO_INFO)
                                .with_attr("node", query_node.as_str()),
                        );
                    core.reply(&ev.origin, iq);
                }
            }
        }
        Some("unavailable") => update(core, host, &from, &user, None),
        Some("unsubscribe") if !is_self => {
            let from_bare = bare(&from).to_owned();
            let subs: Vec<String> = core
                .state::<PepState>()
                .recipients
                .get(&user_bare)
                .map(|r| r.keys().filter(|k| bare(k) == from_bare).cloned().collect())
                .unwrap_or_default();
            for s in subs {
                update(core, host, &s, &user, None);
            }
        }
        _ => {}
    }
}

fn disco_result(core: &mut Core, host: &str, ev: &mut Event) {
    let Some(stanza) = ev.stanza.as_ref() else {
        return;
    };
    let Some(query) = stanza.get_child("query", ns::DISCO_INFO) else {
        return;
    };
    let is_self = stanza.attr("to").is_none();
    let Some(contact) = stanza.attr("from").map(str::to_owned) else {
        return;
    };
    let ver = caps::ver(query);
    let nodes = Rc::new(caps::notify_nodes(query));
    let Some((user, user_bare)) = addressee(core, host, ev) else {
        return;
    };
    let cap = super::info_cache_size(core, host).max(1);
    let map = &mut core.state::<PepState>().hash_map;
    if map.len() >= cap && !map.contains_key(&ver) {
        // A bounded cache: forgetting a hash only costs one more disco#info query.
        if let Some(k) = map.keys().next().cloned() {
            map.remove(&k);
        }
    }
    map.insert(ver, nodes.clone());
    if is_self {
        // The account's own client: it also wants its contacts' nodes (same host).
        let contacts: Vec<String> = manager::with(core, &user, host, |r| {
            r.items
                .iter()
                .filter(|(_, i)| i.subscription.has_from())
                .filter_map(|(j, _)| {
                    let (node, domain) = j.split_once('@')?;
                    (domain == host).then(|| node.to_owned())
                })
                .collect()
        });
        for c in contacts {
            update(core, host, &user_bare, &c, Some(nodes.clone()));
        }
    }
    update(core, host, &contact, &user, Some(nodes));
}

/// Prosody's update_subscriptions: records `recipient`'s interest in `user`'s nodes and
/// sends the last items of nodes it newly wants.
fn update(
    core: &mut Core,
    host: &str,
    recipient: &str,
    user: &str,
    nodes: Option<Rc<BTreeSet<String>>>,
) {
    let owner = format!("{user}@{host}");
    let nodes = nodes.filter(|n| !n.is_empty());
    let current = core
        .state::<PepState>()
        .recipients
        .get(&owner)
        .and_then(|r| r.get(recipient))
        .cloned();
    if current.is_none() && nodes.is_none() {
        return;
    }
    if let Some(new) = &nodes {
        let fresh: Vec<String> = new
            .iter()
            .filter(|n| current.as_ref().is_none_or(|c| !c.contains(*n)))
            .cloned()
            .collect();
        // Most `+notify` nodes do not exist on most accounts: look before loading the
        // roster that the access checks need.
        let fresh: Vec<String> = if fresh.is_empty() {
            fresh
        } else {
            super::with_service_as_server(core, host, user, |s, _| {
                fresh
                    .into_iter()
                    .filter(|n| s.nodes.contains_key(n))
                    .collect()
            })
        };
        if !fresh.is_empty() {
            let owner_jid = owner.clone();
            let messages = with_service(core, host, user, |s, rel| {
                let mut out = Vec::new();
                for node in fresh {
                    if !s.may(Some(&node), Some(recipient), "subscribe", rel) {
                        continue;
                    }
                    let on_presence = s
                        .get_node_config(&node, None, rel)
                        .ok()
                        .and_then(|c| c.get("send_last_published_item").cloned());
                    if on_presence.is_some()
                        && on_presence != Some(Value::from("on_sub_and_presence"))
                    {
                        continue;
                    }
                    if let Ok(Some(item)) = s.get_last_item(&node, Some(recipient), rel) {
                        let b = crate::modules::pubsub::service::Broadcast {
                            kind: crate::modules::pubsub::service::Kind::Items,
                            node: node.clone(),
                            recipients: Vec::new(),
                            item: Some(item.element(true)),
                            config: None,
                        };
                        let mut m = notify::message(&b, &owner_jid, Style::Pep);
                        m.set_attr("to", recipient);
                        out.push(m);
                    }
                }
                out
            });
            for m in messages {
                route(core, host, m);
            }
        }
    }
    let state = core.state::<PepState>();
    let map = state.recipients.entry(owner).or_default();
    match nodes {
        Some(n) => {
            map.insert(recipient.to_owned(), n);
        }
        None => {
            map.remove(recipient);
        }
    }
}
