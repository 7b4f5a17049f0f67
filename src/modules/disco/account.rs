//! mod_disco's answers for an account's bare JID (reference §20.1): for the account
//! itself, contacts subscribed to its presence and (info only, with
//! `disco_expose_admins`) anyone asking about an admin; otherwise the query goes on
//! unanswered (`service-unavailable`). Modules fill the answer from the
//! `account-disco-info`, `account-disco-items` and `-node` events on the host bus.
//!
//! Native handlers of those events find Prosody's `reply`, `node` and `exists` fields
//! in [`AccountDisco`] (`core.state::<AccountDisco>()`) while the event runs.

use std::rc::Rc;

use crate::core::{Bus, Core, Event, Origin};
use crate::modules::iq::result_for;
use crate::modules::roster::manager;
use crate::xml::Element;
use crate::xmpp::error::{StanzaCondition, StanzaError};
use crate::xmpp::ns;

/// The `reply`, `node` and `exists` fields of the `account-disco-*` event being fired.
#[derive(Default)]
pub struct AccountDisco {
    /// The `<iq type='result'>` being built; its `<query/>` is [`AccountDisco::query`].
    pub reply: Option<Element>,
    pub node: Option<String>,
    /// Set by a `-node` handler that knows the node (the reply is then sent).
    pub exists: bool,
}

impl AccountDisco {
    /// The `<query/>` of the reply, where identities, features and items go.
    pub fn query(&mut self) -> Option<&mut Element> {
        self.reply
            .as_mut()?
            .children
            .iter_mut()
            .find_map(|c| match c {
                crate::xml::Node::Element(e) if e.name == "query" => Some(e),
                _ => None,
            })
    }

    /// The bare JID the reply is from (the account asked about).
    pub fn account(&self) -> Option<String> {
        self.reply.as_ref()?.attr("from").map(str::to_owned)
    }
}

pub fn load(core: &mut Core, host: &str) {
    let bus = Bus::Host(host.to_owned());
    for (xmlns, info) in [(ns::DISCO_INFO, true), (ns::DISCO_ITEMS, false)] {
        let h = host.to_owned();
        core.hook(
            &bus,
            &format!("iq-get/bare/{xmlns}:query"),
            0.0,
            Rc::new(move |core, ev| answer(core, &h, ev, info)),
        );
    }
}

fn is_admin(core: &Core, host: &str, jid: &str) -> bool {
    let bare = jid.split_once('/').map_or(jid, |(b, _)| b);
    core.options()
        .host(host)
        .inherited_set("admins")
        .contains(bare)
}

fn answer(core: &mut Core, host: &str, ev: &mut Event, info: bool) -> Option<bool> {
    let stanza = ev.stanza.clone()?;
    let xmlns = if info {
        ns::DISCO_INFO
    } else {
        ns::DISCO_ITEMS
    };
    let query = stanza.get_child("query", xmlns)?;
    let node = query
        .attr("node")
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    let me = core.origin_username(&ev.origin);
    let username = match stanza.attr("to") {
        Some(to) => to.split_once('@')?.0.to_owned(),
        None => me.clone()?,
    };
    let from = stanza.attr("from").unwrap_or_default().to_owned();
    let from_bare = from
        .split_once('/')
        .map_or(from.as_str(), |(b, _)| b)
        .to_owned();
    let target = match stanza.attr("to") {
        Some(to) => to.to_owned(),
        None => from.clone(),
    };
    let admin = is_admin(core, host, &target);
    let expose = info
        && admin
        && core
            .options()
            .host(host)
            .boolean("disco_expose_admins")
            .unwrap_or(false);
    let allowed = stanza.attr("to").is_none()
        || expose
        || manager::is_contact_subscribed(core, &username, host, &from_bare);
    if !allowed {
        return None;
    }
    let mut q = Element::new("query", xmlns);
    if let Some(n) = &node {
        q.set_attr("node", n.as_str());
    }
    let mut reply = result_for(&stanza);
    if reply.attr("from").is_none() {
        reply.set_attr("from", format!("{username}@{host}"));
    }
    let kind = if info { "info" } else { "items" };
    if node.is_none() && info {
        let anonymous = core
            .options()
            .host(host)
            .string("authentication")
            .as_deref()
            == Some("anonymous");
        let typ = if admin {
            "admin"
        } else if anonymous {
            "anonymous"
        } else {
            "registered"
        };
        q.push_child(
            Element::new("identity", ns::DISCO_INFO)
                .with_attr("category", "account")
                .with_attr("type", typ),
        );
    }
    reply.push_child(q);
    let bus = Bus::Host(host.to_owned());
    let saved = std::mem::take(core.state::<AccountDisco>());
    *core.state::<AccountDisco>() = AccountDisco {
        reply: Some(reply),
        node: node.clone(),
        exists: false,
    };
    let origin: Origin = ev.origin.clone();
    let result = match &node {
        Some(_) => {
            let mut e = Event::stanza(origin.clone(), stanza.clone());
            let r = core.fire(&bus, &format!("account-disco-{kind}-node"), &mut e);
            let done = std::mem::replace(core.state::<AccountDisco>(), saved);
            match r {
                Some(v) => Some(v),
                None => {
                    let out = match done.reply {
                        Some(reply) if done.exists => reply,
                        _ => StanzaError::cancel(StanzaCondition::ItemNotFound)
                            .with_text("Node does not exist")
                            .reply(&stanza),
                    };
                    core.reply(&origin, out);
                    Some(true)
                }
            }
        }
        None => {
            let mut e = Event::stanza(origin.clone(), stanza.clone());
            if info {
                // Prosody's account-disco-info event has no stanza, only the reply.
                e.stanza = None;
            }
            core.fire(&bus, &format!("account-disco-{kind}"), &mut e);
            let done = std::mem::replace(core.state::<AccountDisco>(), saved);
            if let Some(reply) = done.reply {
                core.reply(&origin, reply);
            }
            Some(true)
        }
    };
    result
}
