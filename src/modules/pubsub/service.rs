//! One pubsub service (a PEP account or the pubsub component) with util.pubsub's
//! semantics: nodes with their config, items, subscribers and affiliations; every
//! operation checks the actor's capability first and fails with Prosody's error. The
//! service does no IO of its own: storage goes through [`NodeStore`], and what must be
//! sent or announced is queued in [`Service::outbox`] for the module to deliver.

use std::collections::BTreeMap;

use super::config::{self, ConfigMap, Value};
use super::error::PubsubError;
use super::store::NodeStore;
use crate::xml::Element;

pub const PUBSUB: &str = "http://jabber.org/protocol/pubsub";

/// One published item; `payload` is the single child of `<item>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: String,
    pub publisher: Option<String>,
    pub payload: Element,
    /// Unix seconds.
    pub when: i64,
}

impl Item {
    /// `<item xmlns=pubsub id [publisher]>payload</item>`.
    pub fn element(&self, with_publisher: bool) -> Element {
        let mut e = Element::new("item", PUBSUB).with_attr("id", self.id.as_str());
        if let (true, Some(p)) = (with_publisher, &self.publisher) {
            e.set_attr("publisher", p.as_str());
        }
        e.with_child(self.payload.clone())
    }
}

/// Subscription options; `None` is Prosody's plain `true`.
pub type SubOptions = Option<ConfigMap>;

#[derive(Debug, Clone, Default)]
pub struct Node {
    pub name: String,
    /// Explicitly set values only.
    pub config: ConfigMap,
    pub subscribers: BTreeMap<String, SubOptions>,
    pub affiliations: BTreeMap<String, String>,
    /// Oldest first; `None` while the node does not persist items.
    pub items: Option<Vec<Item>>,
}

/// Who the service belongs to, which decides the service-level affiliation.
#[derive(Debug, Clone)]
pub enum Owner {
    /// A PEP service: the account's bare JID is owner.
    Account(String),
    /// The pubsub component: its domain and these bare JIDs get `admin_affiliation`.
    Component {
        host: String,
        admins: Vec<String>,
        admin_affiliation: String,
    },
    /// mod_pep's service for accounts that do not exist: everyone is outcast.
    Nobody,
}

#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// The service's address (PEP: the account's bare JID; component: its domain).
    pub jid: String,
    pub owner: Owner,
    pub node_defaults: ConfigMap,
    /// What `max_items = "max"` means, and the highest number accepted.
    pub max_items: i64,
    pub autocreate_on_publish: bool,
    pub autocreate_on_subscribe: bool,
    pub expose_publisher: bool,
    /// Access models `check_node_config` accepts.
    pub access_models: &'static [&'static str],
}

/// Who acts: `None` is Prosody's `actor == true` (the server itself, no checks).
pub type Actor<'a> = Option<&'a str>;

/// Whether a bare JID has a presence subscription to the service's owner (`from` or
/// `both` in the owner's roster): the `presence` access model.
pub trait Relations {
    fn presence_subscribed(&self, bare: &str) -> bool;
}

/// No roster: nobody is subscribed (the component, and tests).
pub struct NoRelations;

impl Relations for NoRelations {
    fn presence_subscribed(&self, _bare: &str) -> bool {
        false
    }
}

/// What a notification announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Items,
    Retract,
    Delete,
    Purge,
}

impl Kind {
    fn notify_key(self) -> &'static str {
        match self {
            Kind::Items => "notify_items",
            Kind::Retract => "notify_retract",
            Kind::Delete => "notify_delete",
            Kind::Purge => "notify_purge",
        }
    }
}

/// util.pubsub service events (`node-created`, `item-published`, ...).
#[derive(Debug, Clone)]
pub enum ServiceEvent {
    NodeCreated {
        node: String,
        actor: Option<String>,
    },
    NodeDeleted {
        node: String,
        actor: Option<String>,
    },
    NodePurged {
        node: String,
        actor: Option<String>,
    },
    ItemPublished {
        node: String,
        actor: Option<String>,
        id: String,
        item: Element,
    },
    ItemRetracted {
        node: String,
        actor: Option<String>,
        id: String,
    },
    SubscriptionAdded {
        node: String,
        jid: String,
        options: SubOptions,
    },
    SubscriptionRemoved {
        node: String,
        jid: String,
    },
}

impl ServiceEvent {
    pub fn name(&self) -> &'static str {
        match self {
            ServiceEvent::NodeCreated { .. } => "node-created",
            ServiceEvent::NodeDeleted { .. } => "node-deleted",
            ServiceEvent::NodePurged { .. } => "node-purged",
            ServiceEvent::ItemPublished { .. } => "item-published",
            ServiceEvent::ItemRetracted { .. } => "item-retracted",
            ServiceEvent::SubscriptionAdded { .. } => "subscription-added",
            ServiceEvent::SubscriptionRemoved { .. } => "subscription-removed",
        }
    }
}

/// A notification to send: the broadcaster's arguments.
#[derive(Debug, Clone)]
pub struct Broadcast {
    pub kind: Kind,
    pub node: String,
    pub recipients: Vec<(String, SubOptions)>,
    /// `<item>` for items, `<retract id>` for retractions.
    pub item: Option<Element>,
    /// The node's effective config; `None` for a last-item send, which skips the node's
    /// notify/payload settings as Prosody's does.
    pub config: Option<ConfigMap>,
}

#[derive(Debug, Clone)]
pub enum Effect {
    Event(ServiceEvent),
    Broadcast(Broadcast),
}

pub struct Service {
    pub config: ServiceConfig,
    pub nodes: BTreeMap<String, Node>,
    pub store: Box<dyn NodeStore>,
    pub outbox: Vec<Effect>,
}

pub fn bare(jid: &str) -> &str {
    let j = jid.split_once('/').map_or(jid, |(b, _)| b);
    j
}

/// util.pubsub's capability table.
pub fn capable(affiliation: &str, action: &str) -> bool {
    let base = matches!(
        action,
        "get_subscription" | "get_subscriptions" | "be_unsubscribed"
    );
    let none = base
        || matches!(
            action,
            "get_nodes" | "subscribe" | "unsubscribe" | "be_subscribed"
        );
    let member = none || action == "get_items";
    let publisher = member || matches!(action, "publish" | "retract" | "get_configuration");
    match affiliation {
        "outcast" => base,
        "none" => none,
        "member" => member,
        "publisher" => publisher,
        "owner" => {
            publisher
                || matches!(
                    action,
                    "create"
                        | "delete"
                        | "configure"
                        | "subscribe_other"
                        | "unsubscribe_other"
                        | "get_subscription_other"
                        | "get_subscriptions_other"
                        | "set_affiliation"
                )
        }
        _ => false,
    }
}

impl Service {
    pub fn new(config: ServiceConfig, store: Box<dyn NodeStore>) -> Service {
        Service {
            config,
            nodes: BTreeMap::new(),
            store,
            outbox: Vec::new(),
        }
    }

    /// Loads every stored node (and its items) from the store.
    pub fn load(&mut self) {
        for mut node in self.store.load_nodes() {
            if self.persist_items(&node.config) {
                node.items = Some(self.store.load_items(&node.name));
            }
            self.nodes.insert(node.name.clone(), node);
        }
    }

    pub fn effective(&self, explicit: &ConfigMap) -> ConfigMap {
        config::effective(explicit, &self.config.node_defaults)
    }

    fn persist_items(&self, explicit: &ConfigMap) -> bool {
        self.effective(explicit).get("persist_items") == Some(&Value::Bool(true))
    }

    fn max_items(&self, effective: &ConfigMap) -> usize {
        config::max_items_number(effective.get("max_items"), self.config.max_items)
            .unwrap_or(1)
            .max(0) as usize
    }

    fn service_affiliation(&self, actor: &str) -> Option<&str> {
        let b = bare(actor);
        match &self.config.owner {
            Owner::Account(owner) => (b == owner).then_some("owner"),
            Owner::Component {
                host,
                admins,
                admin_affiliation,
            } => (b == host || admins.iter().any(|a| a == b)).then_some(admin_affiliation),
            Owner::Nobody => Some("outcast"),
        }
    }

    fn default_affiliation(&self, node: Option<&str>, actor: &str, rel: &dyn Relations) -> &str {
        let model = node
            .and_then(|n| self.nodes.get(n))
            .map(|n| self.effective(&n.config))
            .unwrap_or_else(|| self.effective(&ConfigMap::new()))
            .get("access_model")
            .and_then(Value::as_str)
            .map(str::to_owned);
        match model.as_deref() {
            Some("open") => "member",
            Some("whitelist") => "outcast",
            Some("presence") if matches!(self.config.owner, Owner::Account(_)) => {
                let b = bare(actor);
                let own = matches!(&self.config.owner, Owner::Account(o) if o == b);
                if own || rel.presence_subscribed(b) {
                    "member"
                } else {
                    "outcast"
                }
            }
            _ => "none",
        }
    }

    /// The actor's effective affiliation with `node`.
    pub fn affiliation(&self, node: Option<&str>, actor: &str, rel: &dyn Relations) -> String {
        let node_aff = node.and_then(|n| self.nodes.get(n)).and_then(|n| {
            n.affiliations
                .get(actor)
                .or_else(|| n.affiliations.get(bare(actor)))
        });
        if let Some(a) = node_aff {
            return a.clone();
        }
        if let Some(a) = self.service_affiliation(actor) {
            return a.to_owned();
        }
        self.default_affiliation(node, actor, rel).to_owned()
    }

    /// util.pubsub `may`.
    pub fn may(
        &self,
        node: Option<&str>,
        actor: Actor<'_>,
        action: &str,
        rel: &dyn Relations,
    ) -> bool {
        match actor {
            None => true,
            Some(a) => capable(&self.affiliation(node, a, rel), action),
        }
    }

    fn check_config(&self, explicit: &ConfigMap) -> bool {
        let eff = self.effective(explicit);
        let max =
            config::max_items_number(eff.get("max_items"), self.config.max_items).unwrap_or(1);
        if max > self.config.max_items {
            return false;
        }
        let model = eff
            .get("access_model")
            .and_then(Value::as_str)
            .unwrap_or("");
        self.config.access_models.contains(&model)
    }

    fn event(&mut self, e: ServiceEvent) {
        self.outbox.push(Effect::Event(e));
    }

    fn broadcast(&mut self, kind: Kind, node: &Node, item: Option<Element>) {
        let config = self.effective(&node.config);
        if config.get(kind.notify_key()) == Some(&Value::Bool(false)) {
            return;
        }
        self.outbox.push(Effect::Broadcast(Broadcast {
            kind,
            node: node.name.clone(),
            recipients: node
                .subscribers
                .iter()
                .map(|(j, o)| (j.clone(), o.clone()))
                .collect(),
            item,
            config: Some(config),
        }));
    }

    fn save(&mut self, name: &str) -> Result<(), PubsubError> {
        let node = self.nodes.get(name).ok_or(PubsubError::ItemNotFound)?;
        self.store.save_node(node).map_err(|_| PubsubError::Storage)
    }

    fn save_items(&mut self, name: &str) -> Result<(), PubsubError> {
        let Some(node) = self.nodes.get(name) else {
            return Ok(());
        };
        match &node.items {
            Some(items) => self
                .store
                .save_items(name, items)
                .map_err(|_| PubsubError::Storage),
            None => Ok(()),
        }
    }

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

    pub fn set_affiliation(
        &mut self,
        node: &str,
        actor: Actor<'_>,
        jid: &str,
        affiliation: Option<&str>,
        rel: &dyn Relations,
    ) -> Result<(), PubsubError> {
        if !self.may(Some(node), actor, "set_affiliation", rel) {
            return Err(PubsubError::Forbidden);
        }
        let jid = bare(jid).to_owned();
        let obj = self.nodes.get_mut(node).ok_or(PubsubError::ItemNotFound)?;
        let old = match affiliation {
            Some(a) => obj.affiliations.insert(jid.clone(), a.to_owned()),
            None => obj.affiliations.remove(&jid),
        };
        if let Err(e) = self.save(node) {
            if let Some(obj) = self.nodes.get_mut(node) {
                match old {
                    Some(a) => obj.affiliations.insert(jid, a),
                    None => obj.affiliations.remove(&jid),
                };
            }
            return Err(e);
        }
        let subscribed = self
            .nodes
            .get(node)
            .is_some_and(|n| n.subscribers.contains_key(&jid));
        // As util.pubsub does: a subscriber that may no longer be subscribed is
        // "re-subscribed", which fails and so reports forbidden.
        let must_fix = if subscribed {
            !self.may(Some(node), Some(&jid), "be_subscribed", rel)
        } else {
            !self.may(Some(node), Some(&jid), "be_unsubscribed", rel)
        };
        if must_fix {
            self.add_subscription(node, None, &jid, None, rel)?;
        }
        Ok(())
    }

    pub fn add_subscription(
        &mut self,
        node: &str,
        actor: Actor<'_>,
        jid: &str,
        options: SubOptions,
        rel: &dyn Relations,
    ) -> Result<(), PubsubError> {
        let cap = match actor {
            Some(a) if bare(a) != bare(jid) => "subscribe_other",
            _ => "subscribe",
        };
        if !self.may(Some(node), actor, cap, rel)
            || !self.may(Some(node), Some(jid), "be_subscribed", rel)
        {
            return Err(PubsubError::Forbidden);
        }
        if !self.nodes.contains_key(node) {
            if !self.config.autocreate_on_subscribe {
                return Err(PubsubError::ItemNotFound);
            }
            self.create(node, None, None, rel)?;
        }
        let obj = self.nodes.get_mut(node).ok_or(PubsubError::ItemNotFound)?;
        let old = obj.subscribers.insert(jid.to_owned(), options.clone());
        if let Err(e) = self.save(node) {
            if let Some(obj) = self.nodes.get_mut(node) {
                match old {
                    Some(o) => obj.subscribers.insert(jid.to_owned(), o),
                    None => obj.subscribers.remove(jid),
                };
            }
            return Err(e);
        }
        self.event(ServiceEvent::SubscriptionAdded {
            node: node.to_owned(),
            jid: jid.to_owned(),
            options,
        });
        Ok(())
    }

    pub fn remove_subscription(
        &mut self,
        node: &str,
        actor: Actor<'_>,
        jid: &str,
        rel: &dyn Relations,
    ) -> Result<(), PubsubError> {
        let cap = match actor {
            Some(a) if bare(a) != bare(jid) => "unsubscribe_other",
            _ => "unsubscribe",
        };
        if !self.may(Some(node), actor, cap, rel)
            || !self.may(Some(node), Some(jid), "be_unsubscribed", rel)
        {
            return Err(PubsubError::Forbidden);
        }
        let obj = self.nodes.get_mut(node).ok_or(PubsubError::ItemNotFound)?;
        let Some(old) = obj.subscribers.remove(jid) else {
            return Err(PubsubError::NotSubscribed);
        };
        if let Err(e) = self.save(node) {
            if let Some(obj) = self.nodes.get_mut(node) {
                obj.subscribers.insert(jid.to_owned(), old);
            }
            return Err(e);
        }
        self.event(ServiceEvent::SubscriptionRemoved {
            node: node.to_owned(),
            jid: jid.to_owned(),
        });
        Ok(())
    }

    /// The subscription of exactly `jid` (`Ok(None)`: not subscribed).
    pub fn get_subscription(
        &self,
        node: &str,
        actor: Actor<'_>,
        jid: &str,
        rel: &dyn Relations,
    ) -> Result<Option<SubOptions>, PubsubError> {
        let cap = match actor {
            Some(a) if bare(a) != bare(jid) => "get_subscription_other",
            _ => "get_subscription",
        };
        if !self.may(Some(node), actor, cap, rel) {
            return Err(PubsubError::Forbidden);
        }
        let obj = self.nodes.get(node).ok_or(PubsubError::ItemNotFound)?;
        Ok(obj.subscribers.get(jid).cloned())
    }

    /// (node, jid) of the subscriptions of `jid`'s bare JID (all when `jid` is None),
    /// on `node` or on every node.
    pub fn get_subscriptions(
        &self,
        node: Option<&str>,
        actor: Actor<'_>,
        jid: Option<&str>,
        rel: &dyn Relations,
    ) -> Result<Vec<(String, String)>, PubsubError> {
        let cap = match (actor, jid) {
            (Some(a), Some(j)) if bare(a) == bare(j) => "get_subscriptions",
            (None, _) => "get_subscriptions",
            _ => "get_subscriptions_other",
        };
        if !self.may(node, actor, cap, rel) {
            return Err(PubsubError::Forbidden);
        }
        if let Some(n) = node {
            if !self.nodes.contains_key(n) {
                return Err(PubsubError::ItemNotFound);
            }
        }
        let mut out = Vec::new();
        for (name, obj) in &self.nodes {
            if node.is_some_and(|n| n != name) {
                continue;
            }
            for sub in obj.subscribers.keys() {
                if jid.is_none_or(|j| bare(j) == bare(sub)) {
                    out.push((name.clone(), sub.clone()));
                }
            }
        }
        Ok(out)
    }

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

    /// Queues the last item of `node` for `jid` (the `#last` send on subscribe and on
    /// presence), when `jid` may read it.
    pub fn send_last_item(&mut self, node: &str, jid: &str, rel: &dyn Relations) {
        if let Ok(Some(item)) = self.get_last_item(node, Some(jid), rel) {
            self.outbox.push(Effect::Broadcast(Broadcast {
                kind: Kind::Items,
                node: node.to_owned(),
                recipients: vec![(jid.to_owned(), None)],
                item: Some(item.element(true)),
                config: None,
            }));
        }
    }

    /// `service:broadcast("items", node, {}, item)` without a node object: only the
    /// PEP interest filter picks recipients (mod_bookmarks' XEP-0411 pushes).
    pub fn broadcast_unsubscribed(&mut self, node: &str, item: Element) {
        self.outbox.push(Effect::Broadcast(Broadcast {
            kind: Kind::Items,
            node: node.to_owned(),
            recipients: Vec::new(),
            item: Some(item),
            config: Some(ConfigMap::new()),
        }));
    }

    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.outbox)
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
