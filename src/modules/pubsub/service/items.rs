//! Items: publish (with autocreate and publish-options preconditions), retract, purge
//! and reads, as util.pubsub does them.

use super::{now, Actor, Item, Kind, Node, Relations, Service, ServiceEvent, PUBSUB};
use crate::modules::pubsub::config::{ConfigMap, Value};
use crate::modules::pubsub::error::PubsubError;
use crate::xml::Element;

impl Service {
    fn check_preconditions(&self, node: &Node, required: &ConfigMap) -> Result<(), PubsubError> {
        if required.get("_defaults_only") == Some(&Value::Bool(true)) {
            return Ok(());
        }
        let eff = self.effective(&node.config);
        for (k, v) in required {
            if eff.get(k) != Some(v) {
                return Err(PubsubError::PreconditionNotMet(k.clone()));
            }
        }
        Ok(())
    }

    /// Publishes `item` (an `<item>` with exactly one child) as `id`.
    pub fn publish(
        &mut self,
        node: &str,
        actor: Actor<'_>,
        id: &str,
        item: Option<&Element>,
        required: Option<ConfigMap>,
        rel: &dyn Relations,
    ) -> Result<(), PubsubError> {
        let mut allowed = self.may(Some(node), actor, "publish", rel);
        if !allowed {
            if let (Some(obj), Some(a)) = (self.nodes.get(node), actor) {
                let model = self.effective(&obj.config).get("publish_model").cloned();
                allowed = model == Some(Value::from("open"))
                    || (model == Some(Value::from("subscribers"))
                        && obj.subscribers.contains_key(a));
            }
        }
        if !allowed {
            return Err(PubsubError::Forbidden);
        }
        match self.nodes.get(node) {
            None => {
                if !self.config.autocreate_on_publish {
                    return Err(PubsubError::ItemNotFound);
                }
                self.create(node, None, required, rel)?;
            }
            Some(obj) => {
                if let Some(req) = &required {
                    self.check_preconditions(obj, req)?;
                }
            }
        }
        let payload = item
            .filter(|i| i.name == "item" && i.ns == PUBSUB)
            .and_then(|i| {
                let mut kids = i.child_elements();
                let first = kids.next()?;
                kids.next().is_none().then(|| first.clone())
            })
            .ok_or(PubsubError::InvalidItem)?;
        let item = item.ok_or(PubsubError::InvalidItem)?;
        let stored = Item {
            id: id.to_owned(),
            publisher: item.attr("publisher").map(str::to_owned),
            payload,
            when: now(),
        };
        let eff = self.effective(
            &self
                .nodes
                .get(node)
                .map(|n| n.config.clone())
                .unwrap_or_default(),
        );
        let max = self.max_items(&eff);
        let obj = self.nodes.get_mut(node).ok_or(PubsubError::ItemNotFound)?;
        if let Some(items) = &mut obj.items {
            items.retain(|i| i.id != id);
            items.push(stored);
            let cut = items.len().saturating_sub(max);
            items.drain(..cut);
            self.save_items(node)?;
        }
        self.event(ServiceEvent::ItemPublished {
            node: node.to_owned(),
            actor: actor.map(str::to_owned),
            id: id.to_owned(),
            item: item.clone(),
        });
        let obj = self.nodes.get(node).cloned().unwrap_or_default();
        self.broadcast(Kind::Items, &obj, Some(item.clone()));
        Ok(())
    }

    /// Retracts item `id`; `notify` carries the `<retract id/>` to broadcast.
    pub fn retract(
        &mut self,
        node: &str,
        actor: Actor<'_>,
        id: &str,
        notify: Option<Element>,
        rel: &dyn Relations,
    ) -> Result<(), PubsubError> {
        if !self.may(Some(node), actor, "retract", rel) {
            return Err(PubsubError::Forbidden);
        }
        let obj = self.nodes.get_mut(node).ok_or(PubsubError::ItemNotFound)?;
        if let Some(items) = &mut obj.items {
            let before = items.len();
            items.retain(|i| i.id != id);
            if items.len() == before {
                return Err(PubsubError::ItemNotFound);
            }
            self.save_items(node)?;
        }
        self.event(ServiceEvent::ItemRetracted {
            node: node.to_owned(),
            actor: actor.map(str::to_owned),
            id: id.to_owned(),
        });
        if let Some(r) = notify {
            let obj = self.nodes.get(node).cloned().unwrap_or_default();
            self.broadcast(Kind::Retract, &obj, Some(r));
        }
        Ok(())
    }

    pub fn purge(
        &mut self,
        node: &str,
        actor: Actor<'_>,
        notify: bool,
        rel: &dyn Relations,
    ) -> Result<(), PubsubError> {
        if !self.may(Some(node), actor, "retract", rel) {
            return Err(PubsubError::Forbidden);
        }
        let obj = self.nodes.get_mut(node).ok_or(PubsubError::ItemNotFound)?;
        if let Some(items) = &mut obj.items {
            items.clear();
            self.save_items(node)?;
        }
        self.event(ServiceEvent::NodePurged {
            node: node.to_owned(),
            actor: actor.map(str::to_owned),
        });
        if notify {
            let obj = self.nodes.get(node).cloned().unwrap_or_default();
            self.broadcast(Kind::Purge, &obj, None);
        }
        Ok(())
    }

    /// Items by id (in the order asked) or the newest first, at most `max`.
    pub fn get_items(
        &self,
        node: &str,
        actor: Actor<'_>,
        ids: Option<&[String]>,
        max: Option<usize>,
        rel: &dyn Relations,
    ) -> Result<Vec<Item>, PubsubError> {
        if !self.may(Some(node), actor, "get_items", rel) {
            return Err(PubsubError::Forbidden);
        }
        let obj = self.nodes.get(node).ok_or(PubsubError::ItemNotFound)?;
        let items = obj
            .items
            .as_ref()
            .ok_or(PubsubError::PersistentItemsUnsupported)?;
        let limit = max.unwrap_or(usize::MAX);
        Ok(match ids {
            Some(ids) => ids
                .iter()
                .filter_map(|id| items.iter().find(|i| &i.id == id).cloned())
                .take(limit)
                .collect(),
            None => items.iter().rev().take(limit).cloned().collect(),
        })
    }

    pub fn get_last_item(
        &self,
        node: &str,
        actor: Actor<'_>,
        rel: &dyn Relations,
    ) -> Result<Option<Item>, PubsubError> {
        if !self.may(Some(node), actor, "get_items", rel) {
            return Err(PubsubError::Forbidden);
        }
        let obj = self.nodes.get(node).ok_or(PubsubError::ItemNotFound)?;
        Ok(obj.items.as_ref().and_then(|i| i.last().cloned()))
    }
}
