//! The slice of Prosody's PEP storage that mod_vcard_legacy needs, in Prosody's files:
//! node records in the account's `pep` map store (`pep/<user>.dat`, keyed by node name)
//! and each node's items in the archive store `pep_<node>` (`pep_<node>/<user>.list`,
//! one preserialized payload per item with `key` = item id, `when` and `attr.stamp`).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::modules::private::preserialize::{deserialize, preserialize, Xmlns};
use crate::modules::time::datetime;
use crate::storage::lua_value::{LuaTable, LuaValue};
use crate::storage::Storage;
use crate::storage::StorageError;
use crate::xml::Element;

/// The node-record store.
pub const NODE_STORE: &str = "pep";

/// The item store of `node`.
pub fn item_store(node: &str) -> String {
    format!("pep_{node}")
}

/// One account's PEP data on one host.
pub struct Pep<'a> {
    pub store: &'a Storage,
    pub host: &'a str,
    pub user: &'a str,
}

impl Pep<'_> {
    /// The stored node record (`{ name, config, subscribers, affiliations }`).
    pub fn node(&self, node: &str) -> Option<LuaTable> {
        match self
            .store
            .get(self.host, Some(self.user), NODE_STORE)
            .ok()??
        {
            LuaValue::Table(t) => t.field(node).and_then(LuaValue::as_table).cloned(),
            _ => None,
        }
    }

    /// The node's `access_model`; PEP's default is `presence`.
    pub fn access_model(&self, node: &str) -> Option<String> {
        let rec = self.node(node)?;
        let model = rec
            .field("config")
            .and_then(LuaValue::as_table)
            .and_then(|c| c.field("access_model"))
            .and_then(LuaValue::as_str)
            .unwrap_or("presence");
        Some(model.to_owned())
    }

    /// The newest item: (id, payload).
    pub fn last_item(&self, node: &str) -> Option<(String, Element)> {
        self.node(node)?;
        let items = self
            .store
            .archive_list(self.host, Some(self.user), &item_store(node))
            .ok()?;
        let last = items.last()?;
        let id = last.as_table()?.field("key")?.as_str()?.to_owned();
        let mut payload = deserialize(last)?;
        payload.remove_attr("stamp");
        Some((id, payload))
    }

    /// The item with this id.
    pub fn item(&self, node: &str, id: &str) -> Option<Element> {
        let items = self
            .store
            .archive_list(self.host, Some(self.user), &item_store(node))
            .ok()?;
        let found = items.iter().rev().find(|i| {
            i.as_table()
                .and_then(|t| t.field("key"))
                .and_then(LuaValue::as_str)
                == Some(id)
        })?;
        let mut payload = deserialize(found)?;
        payload.remove_attr("stamp");
        Some(payload)
    }

    /// Publishes `payload` as item `id`, creating the node (open access, as
    /// mod_vcard_legacy asks) when missing; keeps `max_items` (1) items.
    pub fn publish(&self, node: &str, id: &str, payload: &Element) -> Result<(), StorageError> {
        if self.node(node).is_none() {
            let mut nodes = match self.store.get(self.host, Some(self.user), NODE_STORE)? {
                Some(LuaValue::Table(t)) => t,
                _ => LuaTable::new(),
            };
            let mut config = LuaTable::new();
            config.set("access_model", "open");
            config.set("_defaults_only", true);
            let mut rec = LuaTable::new();
            rec.set("name", node);
            rec.set("config", config);
            rec.set("subscribers", LuaTable::new());
            rec.set("affiliations", LuaTable::new());
            nodes.set(node, rec);
            self.store.set(
                self.host,
                Some(self.user),
                NODE_STORE,
                Some(&LuaValue::Table(nodes)),
            )?;
        }
        let when = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let LuaValue::Table(mut item) = preserialize(payload, Xmlns::Changes) else {
            return Err(StorageError::Invalid("payload is not a table"));
        };
        if let Some(LuaValue::Table(mut attr)) = item.field("attr").cloned() {
            attr.set("stamp", datetime(when));
            item.set("attr", attr);
        }
        item.set("when", when);
        item.set("key", id);
        let store = item_store(node);
        let mut items = self
            .store
            .archive_list(self.host, Some(self.user), &store)?;
        items.retain(|i| {
            i.as_table()
                .and_then(|t| t.field("key"))
                .and_then(LuaValue::as_str)
                != Some(id)
        });
        items.push(LuaValue::Table(item));
        let max_items = 1;
        let cut = items.len().saturating_sub(max_items);
        self.store
            .archive_replace(self.host, Some(self.user), &store, &items[cut..])
    }

    /// Removes every item of an existing node; false when there is no such node.
    pub fn purge(&self, node: &str) -> Result<bool, StorageError> {
        if self.node(node).is_none() {
            return Ok(false);
        }
        self.store
            .archive_replace(self.host, Some(self.user), &item_store(node), &[])?;
        Ok(true)
    }
}
