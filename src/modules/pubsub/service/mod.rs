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

mod items;
mod nodes;
mod subscriptions;

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
