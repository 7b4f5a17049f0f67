//! Rooms in Prosody's stores and shapes (reference §13.12), under the MUC host: the
//! `persistent` map (room JID → true) and one `config` record per room node with `_jid`,
//! `_data`, `_affiliation_data` and one bare JID → affiliation entry per affiliate.
//! Every store call of the module is in this file, so moving to the store seam is local.

use super::affiliation::{Affiliation, Role};
use super::room::{Room, RoomConfig};
use crate::storage::lua_value::{LuaKey, LuaTable, LuaValue};
use crate::storage::Storage as InternalStore;
use crate::storage::StorageError;

const PERSISTENT: &str = "persistent";
const CONFIG: &str = "config";

/// The `_data` keys Lilt reads; anything else is kept in `extra`.
const KNOWN: &[&str] = &[
    "name",
    "description",
    "language",
    "hidden",
    "password",
    "members_only",
    "allow_member_invites",
    "moderated",
    "persistent",
    "changesubject",
    "subject",
    "subject_from",
    "subject_time",
    "history_length",
    "default_history_messages",
    "whois",
    "presence_broadcast",
    "locked",
    "occupant_id_salt",
    "archiving",
    "destroyed",
    "reason",
    "newjid",
];

fn data_to_lua(c: &RoomConfig) -> LuaTable {
    let mut t = c.extra.clone();
    let mut s = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            t.set(k, v.as_str());
        }
    };
    s("name", &c.name);
    s("description", &c.description);
    s("language", &c.language);
    s("password", &c.password);
    s("subject", &c.subject);
    s("subject_from", &c.subject_from);
    s("occupant_id_salt", &c.occupant_id_salt);
    s("reason", &c.reason);
    s("newjid", &c.newjid);
    for (k, v) in [
        ("hidden", c.hidden),
        ("members_only", c.members_only),
        ("allow_member_invites", c.allow_member_invites),
        ("moderated", c.moderated),
        ("persistent", c.persistent),
        ("changesubject", c.changesubject),
        ("destroyed", c.destroyed),
    ] {
        if v {
            t.set(k, true);
        }
    }
    if c.whois_anyone {
        t.set("whois", "anyone");
    }
    if let Some(n) = c.history_length {
        t.set("history_length", n as i64);
    }
    if let Some(n) = c.default_history_messages {
        t.set("default_history_messages", n as i64);
    }
    if let Some(ts) = c.subject_time {
        t.set("subject_time", ts as i64);
    }
    if let Some(ts) = c.locked {
        t.set("locked", ts as i64);
    }
    if let Some(a) = c.archiving {
        t.set("archiving", a);
    }
    if let Some(set) = &c.presence_broadcast {
        let mut pb = LuaTable::new();
        for r in Role::ALL {
            if set[r.rank() as usize] {
                pb.set(r.as_str(), true);
            }
        }
        t.set("presence_broadcast", LuaValue::Table(pb));
    }
    t
}

fn data_from_lua(t: &LuaTable) -> RoomConfig {
    let s = |k: &str| t.field(k).and_then(LuaValue::as_str).map(str::to_owned);
    let b = |k: &str| t.field(k).and_then(LuaValue::as_bool).unwrap_or(false);
    let n = |k: &str| t.field(k).and_then(LuaValue::as_f64);
    let mut extra = LuaTable::new();
    for (k, v) in t.iter() {
        if !k.as_str().is_some_and(|k| KNOWN.contains(&k)) {
            extra.set(k.clone(), v.clone());
        }
    }
    let presence_broadcast = t
        .field("presence_broadcast")
        .and_then(LuaValue::as_table)
        .map(|pb| {
            Role::ALL.map(|r| {
                pb.field(r.as_str())
                    .and_then(LuaValue::as_bool)
                    .unwrap_or(false)
            })
        });
    RoomConfig {
        name: s("name"),
        description: s("description"),
        language: s("language"),
        hidden: b("hidden"),
        password: s("password"),
        members_only: b("members_only"),
        allow_member_invites: b("allow_member_invites"),
        moderated: b("moderated"),
        persistent: b("persistent"),
        changesubject: b("changesubject"),
        whois_anyone: s("whois").as_deref() == Some("anyone"),
        history_length: n("history_length").map(|v| v.max(0.0) as u32),
        default_history_messages: n("default_history_messages").map(|v| v.max(0.0) as u32),
        presence_broadcast,
        subject: s("subject"),
        subject_from: s("subject_from"),
        subject_time: n("subject_time"),
        locked: match t.field("locked") {
            Some(LuaValue::Bool(true)) => Some(f64::INFINITY),
            Some(v) => v.as_f64(),
            None => None,
        },
        occupant_id_salt: s("occupant_id_salt"),
        archiving: t.field("archiving").and_then(LuaValue::as_bool),
        destroyed: b("destroyed"),
        reason: s("reason"),
        newjid: s("newjid"),
        extra,
    }
}

/// The `config` record of a room, in the new (`new_muc_storage_format`) or old layout.
pub fn room_to_lua(room: &Room, new_format: bool) -> LuaValue {
    let mut t = LuaTable::new();
    let mut aff_data = LuaTable::new();
    for (j, d) in &room.affiliation_data {
        aff_data.set(j.as_str(), LuaValue::Table(d.clone()));
    }
    if new_format {
        t.set("_jid", room.jid.as_str());
        t.set("_data", LuaValue::Table(data_to_lua(&room.config)));
        t.set("_affiliation_data", LuaValue::Table(aff_data));
        for (j, a) in &room.affiliations {
            t.set(j.as_str(), a.as_str());
        }
    } else {
        let mut affs = LuaTable::new();
        for (j, a) in &room.affiliations {
            affs.set(j.as_str(), a.as_str());
        }
        t.set("jid", room.jid.as_str());
        t.set("_data", LuaValue::Table(data_to_lua(&room.config)));
        t.set("_affiliations", LuaValue::Table(affs));
        t.set("_affiliation_data", LuaValue::Table(aff_data));
    }
    LuaValue::Table(t)
}

/// A room from its `config` record (either layout).
pub fn room_from_lua(jid: &str, v: &LuaValue) -> Option<Room> {
    let t = v.as_table()?;
    let mut room = Room::new(jid);
    if let Some(d) = t.field("_data").and_then(LuaValue::as_table) {
        room.config = data_from_lua(d);
    }
    if let Some(ad) = t.field("_affiliation_data").and_then(LuaValue::as_table) {
        for (k, v) in ad.iter() {
            if let (Some(j), Some(d)) = (k.as_str(), v.as_table()) {
                room.affiliation_data.insert(j.to_owned(), d.clone());
            }
        }
    }
    let affs = match t.field("_affiliations").and_then(LuaValue::as_table) {
        Some(old) => old.clone(),
        None => t.clone(),
    };
    for (k, v) in affs.iter() {
        let (Some(j), Some(a)) = (k.as_str(), v.as_str()) else {
            continue;
        };
        if j.starts_with('_') {
            continue;
        }
        if let Some(a) = Affiliation::parse(a).filter(|a| *a != Affiliation::None) {
            room.affiliations.insert(j.to_owned(), a);
        }
    }
    Some(room)
}

/// The rooms store of one MUC host.
pub struct RoomStore<'a> {
    pub store: &'a InternalStore,
    pub host: &'a str,
}

impl RoomStore<'_> {
    pub fn load(&self, jid: &str) -> Result<Option<Room>, StorageError> {
        let node = jid.split_once('@').map_or(jid, |(n, _)| n);
        Ok(self
            .store
            .get(self.host, Some(node), CONFIG)?
            .and_then(|v| room_from_lua(jid, &v)))
    }

    /// Writes the room and its `persistent` entry (`room:save(true)` of a persistent room).
    pub fn save(&self, room: &Room, new_format: bool) -> Result<(), StorageError> {
        self.store.set(
            self.host,
            Some(room.node()),
            CONFIG,
            Some(&room_to_lua(room, new_format)),
        )?;
        self.set_listed(&room.jid, true)
    }

    /// Erases the room's record and list entry.
    pub fn delete(&self, jid: &str) -> Result<(), StorageError> {
        let node = jid.split_once('@').map_or(jid, |(n, _)| n);
        self.store.set(self.host, Some(node), CONFIG, None)?;
        self.set_listed(jid, false)
    }

    fn set_listed(&self, jid: &str, on: bool) -> Result<(), StorageError> {
        let mut list = self
            .store
            .get(self.host, None, PERSISTENT)?
            .and_then(|v| match v {
                LuaValue::Table(t) => Some(t),
                _ => None,
            })
            .unwrap_or_default();
        let key = LuaKey::from(jid);
        let present = list.get(&key).is_some();
        if present == on {
            return Ok(());
        }
        if on {
            list.set(jid, true);
        } else {
            list.remove(&key);
        }
        self.store
            .set(self.host, None, PERSISTENT, Some(&LuaValue::Table(list)))
    }

    /// The JIDs of all stored rooms (`all_rooms()`).
    pub fn list(&self) -> Result<Vec<String>, StorageError> {
        let Some(LuaValue::Table(t)) = self.store.get(self.host, None, PERSISTENT)? else {
            return Ok(Vec::new());
        };
        Ok(t.iter()
            .filter_map(|(k, _)| k.as_str().map(str::to_owned))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_room_round_trips_through_prosodys_record_shape() {
        let mut room = Room::new("r@conf.x");
        room.config.name = Some("R".into());
        room.config.persistent = true;
        room.config.members_only = true;
        room.config.whois_anyone = true;
        room.affiliations.insert("a@x".into(), Affiliation::Owner);
        room.affiliations.insert("b@x".into(), Affiliation::Member);
        let mut d = LuaTable::new();
        d.set("reserved_nickname", "Bee");
        room.affiliation_data.insert("b@x".into(), d);
        let v = room_to_lua(&room, true);
        let t = v.as_table().expect("table");
        assert_eq!(t.field("a@x").and_then(LuaValue::as_str), Some("owner"));
        assert_eq!(t.field("_jid").and_then(LuaValue::as_str), Some("r@conf.x"));
        let back = room_from_lua("r@conf.x", &v).expect("room");
        assert_eq!(back.config, room.config);
        assert_eq!(back.affiliations, room.affiliations);
        assert_eq!(back.reserved_nick("b@x"), Some("Bee"));
        let old = room_from_lua("r@conf.x", &room_to_lua(&room, false)).expect("old format");
        assert_eq!(old.affiliations, room.affiliations);
    }
}
