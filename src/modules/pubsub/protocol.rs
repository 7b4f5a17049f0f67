//! XEP-0060 IQs (`pubsub` and `pubsub#owner`) turned into service calls and replies, as
//! Prosody's pubsub.lib.lua does for both PEP and the component (reference §14.2).

use super::config::{self, ConfigMap};
use super::error::PubsubError;
use super::service::{Relations, Service, PUBSUB};
use crate::modules::iq::result_for;
use crate::xml::Element;
use crate::xmpp::error::{StanzaCondition, StanzaError};
use crate::xmpp::jid::Jid;
use crate::xmpp::ns;

pub const PUBSUB_OWNER: &str = "http://jabber.org/protocol/pubsub#owner";
pub const PUBSUB_EVENT: &str = "http://jabber.org/protocol/pubsub#event";

fn prep(jid: Option<&str>) -> Option<String> {
    Jid::parse(jid?).ok().map(|j| j.to_string())
}

fn bad_request(text: String) -> PubsubError {
    PubsubError::Other(StanzaError::modify(StanzaCondition::BadRequest).with_text(text))
}

fn pubsub_reply(stanza: &Element, xmlns: &str, child: Element) -> Element {
    result_for(stanza).with_child(Element::new("pubsub", xmlns).with_child(child))
}

/// Answers a pubsub IQ for `service`; `None` when Prosody has no handler for it (the IQ
/// then goes on to the next handler and, unhandled, `service-unavailable`).
pub fn handle_iq(service: &mut Service, stanza: &Element, rel: &dyn Relations) -> Option<Element> {
    let pubsub = stanza.child_elements().next()?;
    let from = stanza.attr("from").unwrap_or_default().to_owned();
    let Some(action) = pubsub.child_elements().next() else {
        return Some(StanzaError::cancel(StanzaCondition::BadRequest).reply(stanza));
    };
    let owner = pubsub.ns == PUBSUB_OWNER;
    let itype = stanza.attr("type").unwrap_or_default();
    let ctx = Ctx {
        stanza,
        pubsub,
        action,
        from: &from,
        rel,
    };
    let result = match (owner, itype, action.name.as_str()) {
        (false, "get", "items") => ctx.get_items(service),
        (false, "get", "subscriptions") => ctx.get_subscriptions(service, false),
        (true, "get", "subscriptions") => ctx.get_subscriptions(service, true),
        (true, "set", "subscriptions") => ctx.set_subscriptions(service),
        (false, "set", "create") => ctx.create(service),
        (true, "set", "delete") => ctx.delete(service),
        (false, "set", "subscribe") => ctx.subscribe(service),
        (false, "set", "unsubscribe") => ctx.unsubscribe(service),
        (false, "get", "options") => ctx.get_options(service),
        (false, "set", "options") => ctx.set_options(service),
        (false, "set", "publish") => ctx.publish(service),
        (false, "set", "retract") => ctx.retract(service),
        (true, "set", "purge") => ctx.purge(service),
        (true, "get", "configure") => ctx.get_configure(service),
        (true, "set", "configure") => ctx.set_configure(service),
        (true, "get", "default") => Ok(pubsub_reply(
            stanza,
            PUBSUB_OWNER,
            Element::new("default", PUBSUB_OWNER).with_child(config::node_form(
                &service.effective(&ConfigMap::new()),
                service.config.max_items,
            )),
        )),
        (true, "get", "affiliations") => ctx.get_affiliations(service),
        (true, "set", "affiliations") => ctx.set_affiliations(service),
        _ => return None,
    };
    Some(result.unwrap_or_else(|e| e.reply(stanza)))
}

struct Ctx<'a> {
    stanza: &'a Element,
    pubsub: &'a Element,
    action: &'a Element,
    from: &'a str,
    rel: &'a dyn Relations,
}

type Reply = Result<Element, PubsubError>;

impl Ctx<'_> {
    fn node(&self) -> Result<&str, PubsubError> {
        self.action.attr("node").ok_or(PubsubError::NodeIdRequired)
    }

    fn actor(&self) -> Option<&str> {
        Some(self.from)
    }

    /// node + prepped `jid` (invalid-jid first, as Prosody checks).
    fn node_and_jid(&self) -> Result<(String, String), PubsubError> {
        let jid = prep(self.action.attr("jid")).ok_or(PubsubError::InvalidJid)?;
        let node = self.node()?.to_owned();
        Ok((node, jid))
    }

    fn get_items(&self, s: &mut Service) -> Reply {
        let node = self.node()?;
        let ids: Vec<String> = self
            .action
            .child_elements()
            .filter(|c| c.name == "item")
            .filter_map(|c| c.attr("id").map(str::to_owned))
            .collect();
        let explicit = !ids.is_empty();
        let max = self
            .action
            .attr("max_items")
            .and_then(|m| m.parse::<usize>().ok());
        let mut items = s.get_items(
            node,
            self.actor(),
            explicit.then_some(&ids[..]),
            max,
            self.rel,
        )?;
        if !explicit {
            items.reverse();
        }
        let mut out = Element::new("items", PUBSUB).with_attr("node", node);
        for i in &items {
            out.push_child(i.element(s.config.expose_publisher));
        }
        Ok(pubsub_reply(self.stanza, PUBSUB, out))
    }

    fn get_subscriptions(&self, s: &mut Service, owner: bool) -> Reply {
        let node = self.action.attr("node");
        let (xmlns, jid) = if owner {
            (PUBSUB_OWNER, None)
        } else {
            (PUBSUB, Some(self.from))
        };
        let subs = s.get_subscriptions(node, self.actor(), jid, self.rel)?;
        let mut out = Element::new("subscriptions", xmlns);
        for (n, j) in subs {
            out.push_child(
                Element::new("subscription", xmlns)
                    .with_attr("node", n)
                    .with_attr("jid", j)
                    .with_attr("subscription", "subscribed"),
            );
        }
        Ok(pubsub_reply(self.stanza, xmlns, out))
    }

    fn set_subscriptions(&self, s: &mut Service) -> Reply {
        let node = self.node()?;
        if !s.may(Some(node), self.actor(), "subscribe_other", self.rel) {
            return Err(PubsubError::Forbidden);
        }
        if !s.nodes.contains_key(node) {
            return Err(PubsubError::ItemNotFound);
        }
        for tag in self
            .action
            .child_elements()
            .filter(|c| c.name == "subscription")
        {
            let jid = tag.attr("jid").unwrap_or_default();
            match tag.attr("subscription") {
                Some("subscribed") => {
                    s.add_subscription(node, self.actor(), jid, None, self.rel)?
                }
                Some("none") => s.remove_subscription(node, self.actor(), jid, self.rel)?,
                _ => {}
            }
        }
        Ok(result_for(self.stanza))
    }

    fn form_config(
        &self,
        parent: Option<&Element>,
        max: i64,
    ) -> Result<Option<ConfigMap>, PubsubError> {
        let Some(parent) = parent else {
            return Ok(None);
        };
        let form = parent
            .get_child("x", ns::DATA_FORMS)
            .ok_or_else(|| bad_request("Missing dataform".into()))?;
        config::read_node_form(form, None, max)
            .map(Some)
            .map_err(PubsubError::from)
    }

    fn create(&self, s: &mut Service) -> Reply {
        let configure = self.pubsub.get_child("configure", PUBSUB);
        let cfg = self.form_config(configure, s.config.max_items)?;
        match self.action.attr("node") {
            Some(node) => {
                s.create(node, self.actor(), cfg, self.rel)?;
                Ok(result_for(self.stanza))
            }
            None => loop {
                let node = uuid::Uuid::new_v4().to_string();
                match s.create(&node, self.actor(), cfg.clone(), self.rel) {
                    Ok(()) => {
                        break Ok(pubsub_reply(
                            self.stanza,
                            PUBSUB,
                            Element::new("create", PUBSUB).with_attr("node", node),
                        ))
                    }
                    Err(PubsubError::Conflict) => continue,
                    Err(e) => break Err(e),
                }
            },
        }
    }

    fn delete(&self, s: &mut Service) -> Reply {
        let node = self.node()?;
        s.delete(node, self.actor(), self.rel)?;
        Ok(result_for(self.stanza))
    }

    fn subscribe(&self, s: &mut Service) -> Reply {
        let (node, jid) = self.node_and_jid()?;
        let options_tag = self.pubsub.get_child("options", PUBSUB);
        let options = match options_tag.and_then(|o| o.child_elements().next()) {
            Some(form) => Some(config::read_subscribe_form(form, None).map_err(PubsubError::from)?),
            None => None,
        };
        let result = s.add_subscription(&node, self.actor(), &jid, options, self.rel);
        // Prosody sends the last item whenever the node exists and wants it, even
        // after a refused subscription (the jid's own read access is still checked).
        if let Ok(cfg) = s.get_node_config(&node, None, self.rel) {
            if cfg
                .get("send_last_published_item")
                .and_then(config::Value::as_str)
                != Some("never")
            {
                s.send_last_item(&node, &jid, self.rel);
            }
        }
        result?;
        let mut p = Element::new("pubsub", PUBSUB).with_child(
            Element::new("subscription", PUBSUB)
                .with_attr("node", node.as_str())
                .with_attr("jid", jid.as_str())
                .with_attr("subscription", "subscribed"),
        );
        if let Some(o) = options_tag {
            p.push_child(o.clone());
        }
        Ok(result_for(self.stanza).with_child(p))
    }

    fn unsubscribe(&self, s: &mut Service) -> Reply {
        let (node, jid) = self.node_and_jid()?;
        s.remove_subscription(&node, self.actor(), &jid, self.rel)?;
        Ok(pubsub_reply(
            self.stanza,
            PUBSUB,
            Element::new("subscription", PUBSUB)
                .with_attr("node", node)
                .with_attr("jid", jid)
                .with_attr("subscription", "none"),
        ))
    }

    fn get_options(&self, s: &mut Service) -> Reply {
        let (node, jid) = self.node_and_jid()?;
        let sub = s
            .get_subscription(&node, self.actor(), &jid, self.rel)
            .map_err(|_| PubsubError::NotSubscribed)?;
        let opts = sub.flatten().unwrap_or_default();
        Ok(pubsub_reply(
            self.stanza,
            PUBSUB,
            Element::new("options", PUBSUB)
                .with_attr("node", node)
                .with_attr("jid", jid)
                .with_child(config::subscribe_form(&opts)),
        ))
    }

    fn set_options(&self, s: &mut Service) -> Reply {
        let (node, jid) = self.node_and_jid()?;
        let old = s
            .get_subscription(&node, self.actor(), &jid, self.rel)?
            .ok_or(PubsubError::NotSubscribed)?;
        let form = self
            .action
            .child_elements()
            .next()
            .ok_or_else(|| bad_request(String::new()))?;
        let new = config::read_subscribe_form(form, old.as_ref()).map_err(PubsubError::from)?;
        s.add_subscription(&node, self.actor(), &jid, Some(new), self.rel)?;
        Ok(result_for(self.stanza))
    }

    fn publish(&self, s: &mut Service) -> Reply {
        let node = self.node()?;
        let required = match self.pubsub.get_child("publish-options", PUBSUB) {
            Some(po) => match po.get_child("x", ns::DATA_FORMS) {
                Some(form) => Some(
                    config::read_node_form(form, None, s.config.max_items)
                        .map_err(PubsubError::from)?,
                ),
                // util.dataforms reads a missing form as no fields at all.
                None => Some(ConfigMap::new()),
            },
            None => None,
        };
        let mut item = self.action.get_child("item", PUBSUB).cloned();
        let id = match item.as_ref().and_then(|i| i.attr("id")) {
            Some(id) => id.to_owned(),
            None => {
                let id = uuid::Uuid::new_v4().to_string();
                if let Some(i) = &mut item {
                    i.set_attr("id", id.as_str());
                }
                id
            }
        };
        if let Some(i) = &mut item {
            i.set_attr("publisher", super::service::bare(self.from));
        }
        s.publish(node, self.actor(), &id, item.as_ref(), required, self.rel)?;
        Ok(pubsub_reply(
            self.stanza,
            PUBSUB,
            Element::new("publish", PUBSUB)
                .with_attr("node", node)
                .with_child(Element::new("item", PUBSUB).with_attr("id", id)),
        ))
    }

    fn retract(&self, s: &mut Service) -> Reply {
        let node = self.node()?;
        let notify = matches!(self.action.attr("notify"), Some("1" | "true"));
        let id = self
            .action
            .get_child("item", PUBSUB)
            .and_then(|i| i.attr("id"))
            .ok_or(PubsubError::ItemNotFound)?;
        let notifier = notify.then(|| Element::new("retract", PUBSUB_EVENT).with_attr("id", id));
        s.retract(node, self.actor(), id, notifier, self.rel)?;
        Ok(result_for(self.stanza))
    }

    fn purge(&self, s: &mut Service) -> Reply {
        let node = self.node()?;
        s.purge(node, self.actor(), true, self.rel)?;
        Ok(result_for(self.stanza))
    }

    fn get_configure(&self, s: &mut Service) -> Reply {
        let node = self.node()?;
        let cfg = s.get_node_config(node, self.actor(), self.rel)?;
        Ok(pubsub_reply(
            self.stanza,
            PUBSUB_OWNER,
            Element::new("configure", PUBSUB_OWNER)
                .with_attr("node", node)
                .with_child(config::node_form(&cfg, s.config.max_items)),
        ))
    }

    fn set_configure(&self, s: &mut Service) -> Reply {
        let node = self.node()?;
        if !s.may(Some(node), self.actor(), "configure", self.rel) {
            return Err(PubsubError::Forbidden);
        }
        let form = self
            .action
            .get_child("x", ns::DATA_FORMS)
            .ok_or_else(|| bad_request("Missing dataform".into()))?;
        let old = s.get_node_config(node, self.actor(), self.rel)?;
        let new = config::read_node_form(form, Some(&old), s.config.max_items)
            .map_err(PubsubError::from)?;
        s.set_node_config(node, self.actor(), new, self.rel)?;
        Ok(result_for(self.stanza))
    }

    fn get_affiliations(&self, s: &mut Service) -> Reply {
        let node = self.node()?;
        if !s.may(Some(node), self.actor(), "set_affiliation", self.rel) {
            return Err(PubsubError::Forbidden);
        }
        let obj = s.nodes.get(node).ok_or(PubsubError::ItemNotFound)?;
        let mut out = Element::new("affiliations", PUBSUB_OWNER).with_attr("node", node);
        for (jid, aff) in &obj.affiliations {
            out.push_child(
                Element::new("affiliation", PUBSUB_OWNER)
                    .with_attr("jid", jid.as_str())
                    .with_attr("affiliation", aff.as_str()),
            );
        }
        Ok(pubsub_reply(self.stanza, PUBSUB_OWNER, out))
    }

    fn set_affiliations(&self, s: &mut Service) -> Reply {
        let node = self.node()?;
        if !s.may(Some(node), self.actor(), "set_affiliation", self.rel) {
            return Err(PubsubError::Forbidden);
        }
        if !s.nodes.contains_key(node) {
            return Err(PubsubError::ItemNotFound);
        }
        for tag in self
            .action
            .child_elements()
            .filter(|c| c.name == "affiliation")
        {
            let Some(jid) = prep(tag.attr("jid")) else {
                return Err(PubsubError::InvalidJid);
            };
            let aff = tag.attr("affiliation").filter(|a| *a != "none");
            s.set_affiliation(node, self.actor(), &jid, aff, self.rel)?;
        }
        Ok(result_for(self.stanza))
    }
}
