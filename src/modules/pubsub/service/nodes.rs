//! Node lifecycle and configuration: create, delete, the node list, get/set config.

use std::collections::BTreeMap;

use super::{Actor, Kind, Node, Relations, Service, ServiceEvent};
use crate::modules::pubsub::config::{ConfigMap, Value};
use crate::modules::pubsub::error::PubsubError;

impl Service {
    pub fn create(
        &mut self,
        node: &str,
        actor: Actor<'_>,
        options: Option<ConfigMap>,
        rel: &dyn Relations,
    ) -> Result<(), PubsubError> {
        if !self.may(Some(node), actor, "create", rel) {
            return Err(PubsubError::Forbidden);
        }
        if self.nodes.contains_key(node) {
            return Err(PubsubError::Conflict);
        }
        let config = options.unwrap_or_default();
        if !self.check_config(&config) {
            return Err(PubsubError::NotAcceptable);
        }
        let persist = self.persist_items(&config);
        self.nodes.insert(
            node.to_owned(),
            Node {
                name: node.to_owned(),
                config,
                items: persist.then(Vec::new),
                ..Node::default()
            },
        );
        if let Err(e) = self.save(node) {
            self.nodes.remove(node);
            return Err(e);
        }
        self.event(ServiceEvent::NodeCreated {
            node: node.to_owned(),
            actor: actor.map(str::to_owned),
        });
        if let Some(a) = actor {
            if let Err(e) = self.set_affiliation(node, None, a, Some("owner"), rel) {
                self.nodes.remove(node);
                return Err(e);
            }
        }
        Ok(())
    }

    pub fn delete(
        &mut self,
        node: &str,
        actor: Actor<'_>,
        rel: &dyn Relations,
    ) -> Result<(), PubsubError> {
        if !self.may(Some(node), actor, "delete", rel) {
            return Err(PubsubError::Forbidden);
        }
        let obj = self.nodes.remove(node).ok_or(PubsubError::ItemNotFound)?;
        if obj.items.is_some() {
            let _ = self.store.save_items(node, &[]);
        }
        self.store
            .delete_node(node)
            .map_err(|_| PubsubError::Storage)?;
        self.event(ServiceEvent::NodeDeleted {
            node: node.to_owned(),
            actor: actor.map(str::to_owned),
        });
        self.broadcast(Kind::Delete, &obj, None);
        Ok(())
    }

    pub fn get_nodes(
        &self,
        actor: Actor<'_>,
        rel: &dyn Relations,
    ) -> Result<&BTreeMap<String, Node>, PubsubError> {
        if !self.may(None, actor, "get_nodes", rel) {
            return Err(PubsubError::Forbidden);
        }
        Ok(&self.nodes)
    }

    pub fn get_node_config(
        &self,
        node: &str,
        actor: Actor<'_>,
        rel: &dyn Relations,
    ) -> Result<ConfigMap, PubsubError> {
        if !self.may(Some(node), actor, "get_configuration", rel) {
            return Err(PubsubError::Forbidden);
        }
        let obj = self.nodes.get(node).ok_or(PubsubError::ItemNotFound)?;
        Ok(self.effective(&obj.config))
    }

    pub fn set_node_config(
        &mut self,
        node: &str,
        actor: Actor<'_>,
        new: ConfigMap,
        rel: &dyn Relations,
    ) -> Result<(), PubsubError> {
        if !self.may(Some(node), actor, "configure", rel) {
            return Err(PubsubError::Forbidden);
        }
        if !self.nodes.contains_key(node) {
            return Err(PubsubError::ItemNotFound);
        }
        if !self.check_config(&new) {
            return Err(PubsubError::NotAcceptable);
        }
        let new_eff = self.effective(&new);
        let obj = self.nodes.get_mut(node).ok_or(PubsubError::ItemNotFound)?;
        let old = std::mem::replace(&mut obj.config, new);
        if let Err(e) = self.save(node) {
            if let Some(obj) = self.nodes.get_mut(node) {
                obj.config = old;
            }
            return Err(e);
        }
        let old_eff = self.effective(&old);
        if old_eff.get("access_model") != new_eff.get("access_model") {
            let subs: Vec<String> = self.nodes[node].subscribers.keys().cloned().collect();
            for s in subs {
                if !self.may(Some(node), Some(&s), "be_subscribed", rel) {
                    self.remove_subscription(node, None, &s, rel)?;
                }
            }
        }
        let persist = new_eff.get("persist_items") == Some(&Value::Bool(true));
        let max = self.max_items(&new_eff);
        if old_eff.get("persist_items") != new_eff.get("persist_items") {
            let obj = self.nodes.get_mut(node).ok_or(PubsubError::ItemNotFound)?;
            if persist {
                obj.items = Some(Vec::new());
            } else if obj.items.take().is_some() {
                let _ = self.store.save_items(node, &[]);
            }
        } else if old_eff.get("max_items") != new_eff.get("max_items") {
            let obj = self.nodes.get_mut(node).ok_or(PubsubError::ItemNotFound)?;
            if let Some(items) = &mut obj.items {
                let cut = items.len().saturating_sub(max);
                items.drain(..cut);
                self.save_items(node)?;
            }
        }
        Ok(())
    }
}
