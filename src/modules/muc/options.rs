//! The options mod_muc reads on its component (reference §13.1), with Prosody's defaults.

use std::collections::BTreeSet;

use crate::config::{Config, Value};

/// `restrict_room_creation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restrict {
    /// Anyone may create rooms (the default).
    No,
    /// Only server admins (`true`, `"admin"` or any other string).
    Admins,
    /// Server admins and users of the parent domain (`"local"`).
    Local,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub host: String,
    pub name: String,
    pub restrict: Restrict,
    pub room_locking: bool,
    pub lock_timeout: f64,
    pub cache_size: usize,
    pub max_rooms: Option<usize>,
    pub tombstones: bool,
    pub tombstone_expiry: f64,
    pub max_history_messages: Option<u32>,
    pub default_public: bool,
    pub default_persistent: bool,
    pub default_members_only: bool,
    pub default_allow_member_invites: bool,
    pub default_moderated: bool,
    pub default_changesubject: bool,
    pub default_public_jids: bool,
    pub default_history_length: u32,
    pub default_language: Option<String>,
    pub default_presence_broadcast: Option<[bool; 4]>,
    pub allow_public: bool,
    pub allow_persistent: bool,
    pub admins_as_owners: bool,
    pub admins: BTreeSet<String>,
    pub allow_unaffiliated_register: bool,
    pub registration_include_form: bool,
    pub occupant_id: bool,
    pub new_storage_format: bool,
    /// mod_muc_mam's options when it is loaded on this host.
    pub mam: Option<super::mam::MamOptions>,
}

impl Options {
    pub fn from_config(config: &Config, host: &str) -> Options {
        let s = config.host(host);
        let flag = |k: &str, d: bool| s.boolean(k).unwrap_or(d);
        let restrict = match s.get("restrict_room_creation") {
            None | Some(Value::Bool(false)) => Restrict::No,
            Some(Value::String(v)) if v == "local" => Restrict::Local,
            Some(_) => Restrict::Admins,
        };
        let default_presence_broadcast = match s.get("muc_room_default_presence_broadcast") {
            Some(Value::Table(t)) => {
                let mut set = [false; 4];
                for (k, v) in t.entries() {
                    let on = !matches!(v, Value::Bool(false));
                    if let Some(r) = super::affiliation::Role::parse(k) {
                        set[r.rank() as usize] = on;
                    }
                }
                Some(set)
            }
            _ => None,
        };
        Options {
            host: host.to_owned(),
            name: s
                .string("name")
                .unwrap_or_else(|| "Prosody Chatrooms".into()),
            restrict,
            room_locking: flag("muc_room_locking", true),
            lock_timeout: s.number("muc_room_lock_timeout").unwrap_or(300.0),
            cache_size: s
                .integer("muc_max_rooms")
                .or_else(|| s.integer("muc_room_cache_size"))
                .unwrap_or(100)
                .max(1) as usize,
            max_rooms: s.integer("muc_max_rooms").map(|n| n.max(1) as usize),
            tombstones: flag("muc_tombstones", true),
            tombstone_expiry: s.number("muc_tombstone_expiry").unwrap_or(2_678_400.0),
            max_history_messages: s.integer("max_history_messages").map(|n| n.max(0) as u32),
            default_public: flag("muc_room_default_public", false),
            default_persistent: flag("muc_room_default_persistent", false),
            default_members_only: flag("muc_room_default_members_only", false),
            default_allow_member_invites: flag("muc_room_default_allow_member_invites", false),
            default_moderated: flag("muc_room_default_moderated", false),
            default_changesubject: flag("muc_room_default_change_subject", false),
            default_public_jids: flag("muc_room_default_public_jids", false),
            default_history_length: s
                .integer("muc_room_default_history_length")
                .unwrap_or(20)
                .max(0) as u32,
            default_language: s.string("muc_room_default_language"),
            default_presence_broadcast,
            allow_public: flag("muc_room_allow_public", true),
            allow_persistent: flag("muc_room_allow_persistent", true),
            admins_as_owners: flag("component_admins_as_room_owners", true),
            admins: s.inherited_set("admins"),
            allow_unaffiliated_register: flag("allow_unaffiliated_register", false),
            registration_include_form: flag("muc_registration_include_form", false),
            occupant_id: flag("muc_occupant_id", true),
            new_storage_format: flag("new_muc_storage_format", true),
            mam: None,
        }
    }

    /// A server admin of the MUC host (Prosody's `is_admin(jid, module.host)`).
    pub fn is_admin(&self, bare: &str) -> bool {
        self.admins.contains(bare)
    }

    /// Whether `bare` may create a room under `restrict_room_creation`.
    pub fn may_create(&self, bare: &str) -> bool {
        match self.restrict {
            Restrict::No => true,
            Restrict::Admins => self.is_admin(bare),
            Restrict::Local => {
                let parent = self.host.split_once('.').map_or("", |(_, p)| p);
                let domain = bare.split_once('@').map_or(bare, |(_, d)| d);
                self.is_admin(bare) || domain == parent
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(extra: &str) -> Options {
        let text = format!("admins = {{ \"root@x.test\" }}\nVirtualHost \"x.test\"\nComponent \"conf.x.test\" \"muc\"\n{extra}\n");
        let path = std::path::Path::new("/nonexistent/prosody.cfg.lua");
        let config = Config::load_str(path, &text).expect("config parses");
        Options::from_config(&config, "conf.x.test")
    }

    #[test]
    fn defaults_are_prosodys() {
        let o = opts("");
        assert_eq!(o.name, "Prosody Chatrooms");
        assert_eq!(o.restrict, Restrict::No);
        assert!(o.room_locking && o.tombstones && o.admins_as_owners);
        assert_eq!(o.cache_size, 100);
        assert!(o.is_admin("root@x.test"));
    }

    #[test]
    fn local_restriction_admits_the_parent_domain_and_admins_only() {
        let o = opts("restrict_room_creation = \"local\"");
        assert!(o.may_create("a@x.test"));
        assert!(!o.may_create("a@elsewhere.test"));
        let o = opts("restrict_room_creation = true");
        assert!(!o.may_create("a@x.test"));
        assert!(o.may_create("root@x.test"));
    }
}
