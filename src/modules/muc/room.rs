//! A room's state as Prosody keeps it (`room._data`, `_affiliations`, `_occupants`,
//! `_history`): its configuration, affiliations, occupants and history. The protocol
//! handlers (join.rs, message.rs, admin.rs, …) are `impl Room` blocks over this state.

use super::outbox::Outbox;
use std::collections::{BTreeMap, VecDeque};

use super::affiliation::{default_role, Affiliation, Role};
use super::occupant::Occupant;
use super::options::Options;
use crate::storage::lua_value::LuaTable;
use crate::xml::Element;

/// `room._data`: every configurable and persisted attribute of a room. Flags that
/// Prosody stores as `true`-or-absent are plain booleans here.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoomConfig {
    pub name: Option<String>,
    pub description: Option<String>,
    pub language: Option<String>,
    pub hidden: bool,
    pub password: Option<String>,
    pub members_only: bool,
    pub allow_member_invites: bool,
    pub moderated: bool,
    pub persistent: bool,
    pub changesubject: bool,
    /// `whois = "anyone"` (else moderators).
    pub whois_anyone: bool,
    pub history_length: Option<u32>,
    pub default_history_messages: Option<u32>,
    /// Roles whose presence is broadcast, by rank; `None` = the default (all but none).
    pub presence_broadcast: Option<[bool; 4]>,
    pub subject: Option<String>,
    pub subject_from: Option<String>,
    pub subject_time: Option<f64>,
    /// Locked until this Unix time (new rooms until configured; tombstones until expiry).
    pub locked: Option<f64>,
    pub occupant_id_salt: Option<String>,
    pub archiving: Option<bool>,
    pub destroyed: bool,
    pub reason: Option<String>,
    pub newjid: Option<String>,
    /// `_data` keys Lilt does not use, kept so a Prosody room is written back whole.
    pub extra: LuaTable,
}

/// Prosody's `default_history_length`.
pub const DEFAULT_HISTORY_LENGTH: u32 = 20;

impl RoomConfig {
    pub fn history_length(&self, opts: &Options) -> u32 {
        let len = self.history_length.unwrap_or(DEFAULT_HISTORY_LENGTH);
        opts.max_history_messages.map_or(len, |max| len.min(max))
    }

    pub fn default_history_messages(&self, opts: &Options) -> u32 {
        self.default_history_messages
            .unwrap_or(DEFAULT_HISTORY_LENGTH)
            .min(self.history_length(opts))
    }

    pub fn broadcasts(&self, role: Role) -> bool {
        match &self.presence_broadcast {
            Some(set) => set[role.rank() as usize],
            None => role != Role::None,
        }
    }

    pub fn is_locked(&self, now: f64) -> bool {
        self.locked.is_some_and(|until| now < until)
    }
}

/// One message kept for new occupants: the broadcast stanza with its `<delay/>`.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub stanza: Element,
    pub at: f64,
    /// Serialized size, for `maxchars`.
    pub chars: usize,
}

#[derive(Debug, Clone)]
pub struct Room {
    pub jid: String,
    pub config: RoomConfig,
    /// Bare JID (or domain) → affiliation, `none` never stored.
    pub affiliations: BTreeMap<String, Affiliation>,
    pub affiliation_data: BTreeMap<String, LuaTable>,
    /// In join order, so broadcasts are deterministic.
    pub occupants: Vec<Occupant>,
    pub history: VecDeque<HistoryEntry>,
    /// What happened while handling the current stanza, for Lua plugins (drained by
    /// the service after each stanza).
    pub events: Vec<MucEvent>,
    /// Whether a Lua handler wants `muc-broadcast-message`/`muc-add-history`: without
    /// one, no copy of each message is made for the event (set by the service).
    pub lua_stanzas: bool,
    /// Archive items to write (mod_muc_mam), drained by the service.
    pub archive_out: super::mam::Pending,
    /// The newest archived messages, for join history from the archive.
    pub archive_tail: VecDeque<super::mam::Archived>,
}

/// A room event Lua plugins may hook (fired after the room handled the stanza).
#[derive(Debug, Clone, PartialEq)]
pub struct MucEvent {
    pub name: &'static str,
    /// The in-room JID concerned, if any.
    pub nick: Option<String>,
    /// The bare JID concerned, if any.
    pub jid: Option<String>,
    /// The real full JID of the session concerned (`muc-occupant-session-new`'s `jid`).
    pub real: Option<String>,
    pub affiliation: Option<&'static str>,
    pub stanza: Option<Element>,
    /// The event comes with the `origin` of the stanza (Prosody passes it for joins,
    /// own leaves and creation, not for kicks, bans or broadcasts).
    pub with_origin: bool,
    /// Fired before the stanza at this index of the handler's output (None: after all).
    pub at: Option<usize>,
}

impl MucEvent {
    pub fn new(name: &'static str) -> MucEvent {
        MucEvent {
            name,
            nick: None,
            jid: None,
            real: None,
            affiliation: None,
            stanza: None,
            with_origin: false,
            at: None,
        }
    }

    /// Marks the last event as caused by the stanza's sender, fired before output `at`.
    pub fn mark_own(events: &mut [MucEvent], at: Option<usize>) {
        if let Some(e) = events.last_mut() {
            e.with_origin = true;
            e.at = at;
        }
    }

    pub fn occupant(name: &'static str, occ: &Occupant) -> MucEvent {
        MucEvent {
            nick: Some(occ.nick.clone()),
            jid: Some(occ.bare_jid.clone()),
            ..MucEvent::new(name)
        }
    }
}

impl Room {
    pub fn new(jid: &str) -> Room {
        Room {
            jid: jid.to_owned(),
            config: RoomConfig::default(),
            affiliations: BTreeMap::new(),
            affiliation_data: BTreeMap::new(),
            occupants: Vec::new(),
            history: VecDeque::new(),
            events: Vec::new(),
            lua_stanzas: false,
            archive_out: Vec::new(),
            archive_tail: VecDeque::new(),
        }
    }

    /// The room's node (`room` of `room@service`).
    pub fn node(&self) -> &str {
        self.jid.split_once('@').map_or("", |(n, _)| n)
    }

    /// The stored affiliation of a bare JID, falling back to its domain (domain bans),
    /// and owner for service admins when `component_admins_as_room_owners`.
    pub fn affiliation(&self, bare: &str, opts: &Options) -> Affiliation {
        if opts.admins_as_owners && opts.is_admin(bare) {
            return Affiliation::Owner;
        }
        if let Some(a) = self.affiliations.get(bare) {
            return *a;
        }
        let domain = bare.split_once('@').map_or(bare, |(_, d)| d);
        self.affiliations
            .get(domain)
            .copied()
            .unwrap_or(Affiliation::None)
    }

    pub fn default_role_for(&self, aff: Affiliation) -> Option<Role> {
        default_role(aff, self.config.members_only, self.config.moderated)
    }

    pub fn occupant(&self, nick: &str) -> Option<&Occupant> {
        self.occupants.iter().find(|o| o.nick == nick)
    }

    pub fn occupant_mut(&mut self, nick: &str) -> Option<&mut Occupant> {
        self.occupants.iter_mut().find(|o| o.nick == nick)
    }

    /// The occupant a real full JID is in the room as.
    pub fn occupant_by_real(&self, real: &str) -> Option<&Occupant> {
        self.occupants.iter().find(|o| o.has_session(real))
    }

    pub fn occupant_by_bare(&self, bare: &str) -> Option<&Occupant> {
        self.occupants.iter().find(|o| o.bare_jid == bare)
    }

    /// Takes an occupant out of the room (`muc-occupant-left`).
    pub fn remove_occupant(&mut self, nick: &str) -> Option<Occupant> {
        let i = self.occupants.iter().position(|o| o.nick == nick)?;
        let occ = self.occupants.remove(i);
        self.events
            .push(MucEvent::occupant("muc-occupant-left", &occ));
        Some(occ)
    }

    /// The in-room JID of a nick.
    pub fn nick_jid(&self, nick: &str) -> String {
        format!("{}/{nick}", self.jid)
    }

    /// Whether `role` sees real JIDs (whois anyone, or moderators in semi-anonymous rooms).
    pub fn sees_jids(&self, role: Role) -> bool {
        self.config.whois_anyone || role == Role::Moderator
    }

    /// The nick reserved by `bare` (`reserved_nickname` affiliation data).
    pub fn reserved_nick(&self, bare: &str) -> Option<&str> {
        self.affiliation_data
            .get(bare)?
            .field("reserved_nickname")?
            .as_str()
    }

    /// The bare JID that reserved `nick`, if any.
    pub fn nick_reserved_by(&self, nick: &str) -> Option<&str> {
        self.affiliation_data.iter().find_map(|(jid, data)| {
            (data.field("reserved_nickname").and_then(|v| v.as_str()) == Some(nick))
                .then_some(jid.as_str())
        })
    }

    /// True when the room has nobody in it.
    pub fn is_empty(&self) -> bool {
        self.occupants.is_empty()
    }

    /// `room@service/nick` for everyone of `bare` (sessions of one occupant).
    pub fn send_to_occupant(&self, occ: &Occupant, stanza: &Element, out: &mut Outbox) {
        out.broadcast(stanza, occ.real_jids());
    }
}
