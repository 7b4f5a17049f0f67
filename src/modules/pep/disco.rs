//! The account's PEP side of disco: the `pubsub/pep` identity and the service's
//! features on disco#info, its nodes on disco#items, and node info (identity
//! `pubsub/leaf` + `pubsub#meta-data`) and node items (item ids as names).

use std::rc::Rc;

use super::with_service;
use crate::core::{Bus, Core, Event};
use crate::modules::disco::account::AccountDisco;
use crate::modules::pubsub::config;
use crate::modules::pubsub::features::features;
use crate::modules::pubsub::service::PUBSUB;
use crate::xml::Element;
use crate::xmpp::ns;

fn user_of(jid: &str) -> Option<String> {
    jid.split_once('@').map(|(u, _)| u.to_owned())
}

fn feature(var: &str) -> Element {
    Element::new("feature", ns::DISCO_INFO).with_attr("var", var)
}

pub fn load(core: &mut Core, host: &str) {
    let bus = Bus::Host(host.to_owned());
    let h = host.to_owned();
    core.hook(
        &bus,
        "account-disco-info",
        0.0,
        Rc::new(move |core, _ev| {
            let user = core
                .state::<AccountDisco>()
                .account()
                .and_then(|a| user_of(&a))?;
            let feats = with_service(core, &h, &user, |s, _| features(s));
            let st = core.state::<AccountDisco>();
            let q = st.query()?;
            q.push_child(
                Element::new("identity", ns::DISCO_INFO)
                    .with_attr("category", "pubsub")
                    .with_attr("type", "pep"),
            );
            q.push_child(feature(PUBSUB));
            for f in feats {
                q.push_child(feature(&format!("{PUBSUB}#{f}")));
            }
            None
        }),
    );
    let h = host.to_owned();
    core.hook(
        &bus,
        "account-disco-items",
        0.0,
        Rc::new(move |core, ev| {
            let owner = core.state::<AccountDisco>().account()?;
            let user = user_of(&owner)?;
            let from = requester(ev)?;
            let items: Vec<Element> = with_service(core, &h, &user, |s, rel| {
                let Ok(nodes) = s.get_nodes(Some(&from), rel) else {
                    return Vec::new();
                };
                nodes
                    .values()
                    .map(|n| {
                        let mut item = Element::new("item", ns::DISCO_ITEMS)
                            .with_attr("jid", owner.as_str())
                            .with_attr("node", n.name.as_str());
                        if let Some(t) = n.config.get("title").and_then(config::Value::as_str) {
                            item.set_attr("name", t);
                        }
                        item
                    })
                    .collect()
            });
            let q = core.state::<AccountDisco>().query()?;
            for i in items {
                q.push_child(i);
            }
            None
        }),
    );
    let h = host.to_owned();
    core.hook(
        &bus,
        "account-disco-info-node",
        0.0,
        Rc::new(move |core, ev| {
            let owner = core.state::<AccountDisco>().account()?;
            let user = user_of(&owner)?;
            let node = core.state::<AccountDisco>().node.clone()?;
            let from = ev.stanza.as_ref()?.attr("from")?.to_owned();
            let stanza = ev.stanza.clone()?;
            let found = with_service(
                core,
                &h,
                &user,
                |s, rel| -> Result<_, crate::modules::pubsub::error::PubsubError> {
                    let nodes = s.get_nodes(Some(&from), rel)?;
                    let n = nodes
                        .get(&node)
                        .ok_or(crate::modules::pubsub::error::PubsubError::ItemNotFound)?;
                    Ok(s.effective(&n.config))
                },
            );
            match found {
                Err(e) => {
                    core.reply(&ev.origin, e.reply(&stanza));
                    Some(true)
                }
                Ok(cfg) => {
                    let st = core.state::<AccountDisco>();
                    st.exists = true;
                    let q = st.query()?;
                    q.push_child(
                        Element::new("identity", ns::DISCO_INFO)
                            .with_attr("category", "pubsub")
                            .with_attr("type", "leaf"),
                    );
                    q.push_child(config::meta_data_form(&cfg));
                    None
                }
            }
        }),
    );
    let h = host.to_owned();
    core.hook(
        &bus,
        "account-disco-items-node",
        0.0,
        Rc::new(move |core, ev| {
            let owner = core.state::<AccountDisco>().account()?;
            let user = user_of(&owner)?;
            let node = core.state::<AccountDisco>().node.clone()?;
            let from = ev.stanza.as_ref()?.attr("from")?.to_owned();
            let stanza = ev.stanza.clone()?;
            let got = with_service(core, &h, &user, |s, rel| {
                s.get_items(&node, Some(&from), None, None, rel)
            });
            match got {
                Err(e) => {
                    core.reply(&ev.origin, e.reply(&stanza));
                    Some(true)
                }
                Ok(items) => {
                    let st = core.state::<AccountDisco>();
                    st.exists = true;
                    let q = st.query()?;
                    // pubsub.lib.lua reads `service.jid`, which PEP services lack, so
                    // the items name the host.
                    for i in items {
                        q.push_child(
                            Element::new("item", ns::DISCO_ITEMS)
                                .with_attr("jid", h.as_str())
                                .with_attr("name", i.id.as_str()),
                        );
                    }
                    None
                }
            }
        }),
    );
}

fn requester(ev: &Event) -> Option<String> {
    let from = ev.stanza.as_ref()?.attr("from")?;
    Some(from.split_once('/').map_or(from, |(b, _)| b).to_owned())
}
