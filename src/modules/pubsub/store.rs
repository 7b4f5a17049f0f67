//! Where pubsub nodes and items live, in Prosody's layout (reference §14.3, §14.4): the
//! one file that talks to storage. PEP keeps node records in the account's `pep` store
//! (a table node -> `{ name, config, subscribers, affiliations }`) and items in the
//! archive `pep_<node>`; the component keeps `pubsub_nodes/<node>` records and archives
//! `pubsub_<node>`. An archive entry is the preserialized payload with `key` = item id,
//! `with` = publisher, `when` and `attr.stamp`, as mod_storage_internal writes it.
//!
//! Writes run behind, on the storage executor (`storage::call`'s queues, in order per
//! store key), so a publish never waits for the disk on the core thread; a service with
//! writes still queued is [`NodeStore::busy`] and stays in memory until they are done, so
//! it is never reloaded stale. Loads (once per service) still read on the core thread.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::config::{ConfigMap, Value};
use super::service::{Item, Node};
use crate::modules::private::preserialize::{deserialize, preserialize, Xmlns};
use crate::modules::time::datetime;
use crate::storage::lua_value::{LuaKey, LuaTable, LuaValue};
use crate::storage::Storage as InternalStore;
use crate::storage::StorageError;

/// Persistence of one service's nodes and items.
pub trait NodeStore {
    fn load_nodes(&self) -> Vec<Node>;
    fn load_items(&self, node: &str) -> Vec<Item>;
    fn save_node(&mut self, node: &Node) -> Result<(), StorageError>;
    fn delete_node(&mut self, name: &str) -> Result<(), StorageError>;
    /// Replaces the node's items (oldest first); empty removes them.
    fn save_items(&mut self, node: &str, items: &[Item]) -> Result<(), StorageError>;
    /// Writes are still queued (the service must not be dropped and reloaded yet).
    fn busy(&self) -> bool {
        false
    }
}

/// Keeps nothing (tests, and the "nobody" service).
#[derive(Default)]
pub struct MemoryStore;

impl NodeStore for MemoryStore {
    fn load_nodes(&self) -> Vec<Node> {
        Vec::new()
    }
    fn load_items(&self, _node: &str) -> Vec<Item> {
        Vec::new()
    }
    fn save_node(&mut self, _node: &Node) -> Result<(), StorageError> {
        Ok(())
    }
    fn delete_node(&mut self, _name: &str) -> Result<(), StorageError> {
        Ok(())
    }
    fn save_items(&mut self, _node: &str, _items: &[Item]) -> Result<(), StorageError> {
        Ok(())
    }
}

/// Prosody's internal-driver files for one service.
pub struct ProsodyStore {
    pub store: Arc<InternalStore>,
    pub host: String,
    pub layout: Layout,
    /// Where writes run behind; `None` writes in place (tests, tools).
    pub shared: Option<Arc<crate::core::Shared>>,
    /// Writes queued and not yet done.
    pub pending: Arc<AtomicUsize>,
}

pub enum Layout {
    /// PEP of account `user`.
    Pep { user: String },
    /// The pubsub component.
    Component,
}

/// The PEP node-record store name.
pub const PEP_NODES: &str = "pep";
/// The component's node-record store name.
pub const COMPONENT_NODES: &str = "pubsub_nodes";

impl ProsodyStore {
    /// The store of `layout` on `host`, writing through the server's executor.
    pub fn new(shared: &Arc<crate::core::Shared>, host: &str, layout: Layout) -> ProsodyStore {
        ProsodyStore {
            store: shared.store.clone(),
            host: host.to_owned(),
            layout,
            shared: Some(shared.clone()),
            pending: Arc::default(),
        }
    }

    /// Runs `job` on the executor queue of `store_name` (or now, without one). The
    /// session whose stanza is being handled is held (`core::hold::current`) until the
    /// job is done, so the publish's answer, sent after this returns, leaves only once the
    /// write is durable, as Prosody answers after its store has it. A failure is logged:
    /// the answer has been decided by then (Prosody would answer an error).
    fn write(
        &self,
        user: Option<&str>,
        store_name: &str,
        job: impl FnOnce(&InternalStore) -> Result<(), StorageError> + Send + 'static,
    ) -> Result<(), StorageError> {
        let Some(shared) = &self.shared else {
            return job(&self.store);
        };
        let key = crate::storage::executor::key(&self.host, user, store_name);
        let pending = self.pending.clone();
        pending.fetch_add(1, Ordering::SeqCst);
        let what = format!("{}/{store_name}", user.unwrap_or(&self.host));
        let hold = crate::core::hold::current();
        shared.store_exec.run(key, move |st| {
            if let Err(e) = job(st) {
                tracing::error!("Could not save pubsub data {what}: {e}");
            }
            pending.fetch_sub(1, Ordering::SeqCst);
            drop(hold);
        });
        Ok(())
    }

    fn item_store(&self, node: &str) -> String {
        match self.layout {
            Layout::Pep { .. } => format!("pep_{node}"),
            Layout::Component => format!("pubsub_{node}"),
        }
    }

    fn user(&self) -> Option<&str> {
        match &self.layout {
            Layout::Pep { user } => Some(user),
            Layout::Component => None,
        }
    }

    fn pep_table(&self, user: &str) -> LuaTable {
        pep_table(&self.store, &self.host, user)
    }

    /// Rewrites the account's node-record table with `change` applied, reading it in
    /// the same queued job so earlier queued writes are seen.
    fn change_pep_table(
        &self,
        user: &str,
        change: impl FnOnce(&mut LuaTable) + Send + 'static,
    ) -> Result<(), StorageError> {
        let (host, u) = (self.host.clone(), user.to_owned());
        self.write(Some(user), PEP_NODES, move |st| {
            let mut t = pep_table(st, &host, &u);
            change(&mut t);
            st.set(&host, Some(&u), PEP_NODES, Some(&LuaValue::Table(t)))
        })
    }
}

fn pep_table(store: &InternalStore, host: &str, user: &str) -> LuaTable {
    match store.get(host, Some(user), PEP_NODES) {
        Ok(Some(LuaValue::Table(t))) => t,
        _ => LuaTable::new(),
    }
}

impl NodeStore for ProsodyStore {
    fn load_nodes(&self) -> Vec<Node> {
        match &self.layout {
            Layout::Pep { user } => self
                .pep_table(user)
                .iter()
                .filter_map(|(k, v)| node_from_lua(k.as_str()?, v))
                .collect(),
            Layout::Component => {
                // The node names are the store's users (`datamanager.users`).
                let driver = self.store.driver(&self.host, COMPONENT_NODES);
                let users = driver
                    .users(
                        &self.host,
                        COMPONENT_NODES,
                        crate::storage::StoreKind::Keyval,
                    )
                    .unwrap_or_default();
                let mut out = Vec::new();
                for node in users.into_iter().flatten() {
                    if let Ok(Some(v)) = self.store.get(&self.host, Some(&node), COMPONENT_NODES) {
                        if let Some(n) = node_from_lua(&node, &v) {
                            out.push(n);
                        }
                    }
                }
                out
            }
        }
    }

    fn load_items(&self, node: &str) -> Vec<Item> {
        self.store
            .archive_list(&self.host, self.user(), &self.item_store(node))
            .unwrap_or_default()
            .iter()
            .filter_map(item_from_lua)
            .collect()
    }

    fn save_node(&mut self, node: &Node) -> Result<(), StorageError> {
        let rec = LuaValue::Table(node_to_lua(node));
        let name = node.name.clone();
        match &self.layout {
            Layout::Pep { user } => self.change_pep_table(user, move |t| t.set(name.as_str(), rec)),
            Layout::Component => {
                let host = self.host.clone();
                self.write(Some(&name.clone()), COMPONENT_NODES, move |st| {
                    st.set(&host, Some(&name), COMPONENT_NODES, Some(&rec))
                })
            }
        }
    }

    fn delete_node(&mut self, name: &str) -> Result<(), StorageError> {
        let name = name.to_owned();
        match &self.layout {
            Layout::Pep { user } => self.change_pep_table(user, move |t| {
                t.remove(&LuaKey::from(name.as_str()));
            }),
            Layout::Component => {
                let host = self.host.clone();
                self.write(Some(&name.clone()), COMPONENT_NODES, move |st| {
                    st.set(&host, Some(&name), COMPONENT_NODES, None)
                })
            }
        }
    }

    fn save_items(&mut self, node: &str, items: &[Item]) -> Result<(), StorageError> {
        let list: Vec<LuaValue> = items.iter().map(item_to_lua).collect();
        let (host, user, archive) = (
            self.host.clone(),
            self.user().map(str::to_owned),
            self.item_store(node),
        );
        self.write(self.user(), &archive.clone(), move |st| {
            st.archive_replace(&host, user.as_deref(), &archive, &list)
        })
    }

    fn busy(&self) -> bool {
        self.pending.load(Ordering::SeqCst) > 0
    }
}

fn value_to_lua(v: &Value) -> LuaValue {
    match v {
        Value::Bool(b) => LuaValue::Bool(*b),
        Value::Int(n) => LuaValue::Int(*n),
        Value::Str(s) => LuaValue::Str(s.clone()),
    }
}

fn value_from_lua(v: &LuaValue) -> Option<Value> {
    Some(match v {
        LuaValue::Bool(b) => Value::Bool(*b),
        LuaValue::Int(n) => Value::Int(*n),
        LuaValue::Num(f) => Value::Int(*f as i64),
        LuaValue::Str(s) => Value::Str(s.clone()),
        _ => return None,
    })
}

fn map_to_lua(m: &ConfigMap) -> LuaTable {
    let mut t = LuaTable::new();
    for (k, v) in m {
        t.set(k.as_str(), value_to_lua(v));
    }
    t
}

fn map_from_lua(t: &LuaTable) -> ConfigMap {
    t.iter()
        .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), value_from_lua(v)?)))
        .collect()
}

pub fn node_to_lua(node: &Node) -> LuaTable {
    let mut subs = LuaTable::new();
    for (jid, opts) in &node.subscribers {
        match opts {
            None => subs.set(jid.as_str(), true),
            Some(o) => subs.set(jid.as_str(), LuaValue::Table(map_to_lua(o))),
        }
    }
    let mut affs = LuaTable::new();
    for (jid, a) in &node.affiliations {
        affs.set(jid.as_str(), a.as_str());
    }
    let mut t = LuaTable::new();
    t.set("name", node.name.as_str());
    t.set("config", LuaValue::Table(map_to_lua(&node.config)));
    t.set("subscribers", LuaValue::Table(subs));
    t.set("affiliations", LuaValue::Table(affs));
    t
}

/// A stored node record (`true` stands for an empty one, as mod_pep reads it).
pub fn node_from_lua(name: &str, v: &LuaValue) -> Option<Node> {
    let empty = LuaTable::new();
    let t = match v {
        LuaValue::Table(t) => t,
        LuaValue::Bool(true) => &empty,
        _ => return None,
    };
    let sub_table = |k: &str| t.field(k).and_then(LuaValue::as_table);
    let subscribers = sub_table("subscribers")
        .map(|s| {
            s.iter()
                .filter_map(|(k, v)| {
                    let opts = match v {
                        LuaValue::Table(o) => Some(map_from_lua(o)),
                        _ => None,
                    };
                    Some((k.as_str()?.to_owned(), opts))
                })
                .collect()
        })
        .unwrap_or_default();
    let affiliations: BTreeMap<String, String> = sub_table("affiliations")
        .map(|s| {
            s.iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    Some(Node {
        name: t
            .field("name")
            .and_then(LuaValue::as_str)
            .unwrap_or(name)
            .to_owned(),
        config: sub_table("config").map(map_from_lua).unwrap_or_default(),
        subscribers,
        affiliations,
        items: None,
    })
}

pub fn item_to_lua(item: &Item) -> LuaValue {
    let LuaValue::Table(mut t) = preserialize(&item.payload, Xmlns::Every) else {
        return LuaValue::Nil;
    };
    if let Some(LuaValue::Table(mut attr)) = t.field("attr").cloned() {
        attr.set("stamp", datetime(item.when));
        t.set("attr", attr);
    }
    t.set("key", item.id.as_str());
    t.set("when", item.when);
    if let Some(p) = &item.publisher {
        t.set("with", p.as_str());
    }
    LuaValue::Table(t)
}

pub fn item_from_lua(v: &LuaValue) -> Option<Item> {
    let t = v.as_table()?;
    let id = t.field("key")?.as_str()?.to_owned();
    let when = t.field("when").and_then(LuaValue::as_int).unwrap_or(0);
    let publisher = t
        .field("with")
        .and_then(LuaValue::as_str)
        .map(str::to_owned);
    let mut payload = deserialize(v)?;
    payload.remove_attr("stamp");
    payload.remove_attr("stamp_legacy");
    Some(Item {
        id,
        publisher,
        payload,
        when,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::Element;

    #[test]
    fn node_records_round_trip_through_prosodys_table_shape() {
        let mut node = Node {
            name: "urn:xmpp:avatar:data".into(),
            ..Node::default()
        };
        node.config.insert("access_model".into(), "open".into());
        node.config.insert("max_items".into(), Value::Int(1));
        node.affiliations.insert("a@x".into(), "owner".into());
        node.subscribers.insert("b@x/r".into(), None);
        let back = node_from_lua("ignored", &LuaValue::Table(node_to_lua(&node))).expect("parses");
        assert_eq!(back.name, node.name);
        assert_eq!(back.config, node.config);
        assert_eq!(back.affiliations, node.affiliations);
        assert_eq!(back.subscribers, node.subscribers);
        let from_true = node_from_lua("n", &LuaValue::Bool(true)).expect("true is an empty node");
        assert_eq!(from_true.name, "n");
    }

    #[test]
    fn items_are_stored_as_payload_with_key_with_and_stamp() {
        let item = Item {
            id: "abc".into(),
            publisher: Some("a@x".into()),
            payload: Element::new("data", "urn:xmpp:avatar:data").with_text("AAAA"),
            when: 1_700_000_000,
        };
        let v = item_to_lua(&item);
        let t = v.as_table().expect("table");
        assert_eq!(t.field("key").and_then(LuaValue::as_str), Some("abc"));
        assert_eq!(t.field("with").and_then(LuaValue::as_str), Some("a@x"));
        assert_eq!(t.field("name").and_then(LuaValue::as_str), Some("data"));
        let stamp = t
            .field("attr")
            .and_then(LuaValue::as_table)
            .and_then(|a| a.field("stamp"))
            .and_then(LuaValue::as_str);
        assert_eq!(stamp, Some("2023-11-14T22:13:20Z"));
        assert_eq!(item_from_lua(&v), Some(item));
    }
}
