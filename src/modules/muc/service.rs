//! One MUC service (`mod_muc.lua`): the live rooms of its host, creation with Prosody's
//! pre-create steps (lock, defaults, password, restriction, creator ownership), tombstones,
//! loading and saving persistent rooms, the room cache, and the service's own disco.

use super::outbox::Outbox;
use std::collections::HashMap;

use super::affiliation::Affiliation;
use super::bare;
use super::broadcast::MUC;
use super::join::After;
use super::options::Options;
use super::room::{MucEvent, Room};
use super::storage::{room_to_lua, RoomStore};
use crate::modules::iq::result_for;
use crate::storage::lua_value::LuaValue;
use crate::storage::Storage as InternalStore;
use crate::xml::Element;
use crate::xmpp::error::{StanzaCondition, StanzaError};
use crate::xmpp::jid::Jid;
use crate::xmpp::ns;

pub struct Service {
    pub opts: Options,
    pub rooms: HashMap<String, Room>,
    /// Room JID → last use, for evicting the least recently used room.
    used: HashMap<String, u64>,
    tick: u64,
    /// What was last written for each stored room, so unchanged rooms are not rewritten.
    saved: HashMap<String, LuaValue>,
    /// Room events of the last stanza, by room JID, for Lua plugins.
    pub events: Vec<(String, MucEvent)>,
    /// Whether Lua handlers want message events (see `Room::lua_stanzas`), set per stanza.
    pub lua_stanzas: bool,
    /// Archive appends of the last stanza (mod_muc_mam), written by mod.rs.
    pub archive: super::mam::Pending,
}

impl Service {
    pub fn new(opts: Options) -> Service {
        Service {
            opts,
            rooms: HashMap::new(),
            used: HashMap::new(),
            tick: 0,
            saved: HashMap::new(),
            events: Vec::new(),
            lua_stanzas: false,
            archive: Vec::new(),
        }
    }

    /// Handles a stanza addressed to the service or one of its JIDs; false = not ours.
    pub fn handle(
        &mut self,
        stanza: &Element,
        now: f64,
        store: &InternalStore,
        out: &mut Outbox,
    ) -> bool {
        let Some(to) = stanza.attr("to").map(str::to_owned) else {
            return false;
        };
        let stype = stanza.attr("type").unwrap_or("");
        let room_jid = bare(&to);
        if room_jid == self.opts.host {
            return self.handle_host(stanza, out);
        }
        if Jid::parse(&room_jid).map_or(true, |j| j.node().is_none()) {
            if stype != "error" && stype != "result" {
                out.push(StanzaError::modify(StanzaCondition::JidMalformed).reply(stanza));
            }
            return true;
        }
        let host = self.opts.host.clone();
        let rs = RoomStore { store, host: &host };
        let mut room = match self.rooms.remove(&room_jid) {
            Some(r) => Some(r),
            None => match self.load(&rs, &room_jid) {
                Ok(r) => {
                    if let Some(r) = &r {
                        self.saved.insert(
                            room_jid.clone(),
                            room_to_lua(r, self.opts.new_storage_format),
                        );
                    }
                    r
                }
                Err(e) => {
                    tracing::error!("Error restoring room {room_jid}: {e}");
                    if stype != "error" && stype != "result" {
                        out.push(
                            StanzaError::wait(StanzaCondition::InternalServerError).reply(stanza),
                        );
                    }
                    return true;
                }
            },
        };
        let available = stanza.name == "presence" && stanza.attr("type").is_none();
        if let Some(r) = room.as_ref().filter(|r| r.config.destroyed) {
            let expired = r.config.locked.is_some_and(|t| t < now);
            let from_admin =
                available && self.opts.is_admin(&bare(stanza.attr("from").unwrap_or("")));
            if expired || from_admin {
                let _ = rs.delete(&room_jid);
                self.saved.remove(&room_jid);
                room = None;
            } else {
                if stype != "error" {
                    out.push(gone(stanza, r, &host));
                }
                self.rooms.insert(room_jid, room.expect("checked above"));
                return true;
            }
        }
        let mut room = match room {
            Some(r) => r,
            None => {
                let creating = available && stanza.get_child("x", MUC).is_some();
                if !creating {
                    if stype != "error" && stype != "result" {
                        out.push(
                            StanzaError::cancel(StanzaCondition::ItemNotFound)
                                .with_by(&host)
                                .reply(stanza),
                        );
                    }
                    return true;
                }
                match self.create(stanza, &room_jid, now) {
                    Ok(mut r) => {
                        r.handle_first_presence(stanza, &self.opts, out);
                        self.take_events(&mut r);
                        self.keep(r, now, &rs);
                    }
                    Err(e) => out.push(e),
                }
                return true;
            }
        };
        room.lua_stanzas = self.lua_stanzas;
        let after = self.route(&mut room, stanza, &to, now, out);
        // Chat traffic changes nothing stored: skip building the record to compare.
        let chat = stanza.name == "message"
            && stanza.get_child("subject", ns::CLIENT).is_none()
            && stanza.get_child("x", super::broadcast::MUC_USER).is_none();
        self.finish(room, after, chat, now, &rs);
        true
    }

    /// Runs `f` on a live or stored room for the Lua room API (`room:set_name`, …) and
    /// then saves, caches or forgets it as after a stanza. None: no such room.
    pub fn act<R>(
        &mut self,
        jid: &str,
        now: f64,
        store: &InternalStore,
        out: &mut Outbox,
        f: impl FnOnce(&mut Room, &Options, &mut Outbox) -> (R, After),
    ) -> Option<R> {
        let host = self.opts.host.clone();
        let rs = RoomStore { store, host: &host };
        let mut room = match self.rooms.remove(jid) {
            Some(r) => r,
            None => {
                let r = self.load(&rs, jid).ok().flatten()?;
                self.saved.insert(
                    jid.to_owned(),
                    room_to_lua(&r, self.opts.new_storage_format),
                );
                r
            }
        };
        room.lua_stanzas = self.lua_stanzas;
        let (r, after) = f(&mut room, &self.opts, out);
        self.finish(room, after, false, now, &rs);
        Some(r)
    }

    /// After a room handled something: events queued for Lua, then the room is saved
    /// and cached, or forgotten when it emptied and is not persistent.
    fn finish(&mut self, mut room: Room, after: After, chat: bool, now: f64, rs: &RoomStore<'_>) {
        let room_jid = room.jid.clone();
        self.take_events(&mut room);
        let told = self
            .events
            .iter()
            .any(|(j, e)| *j == room_jid && e.name == "muc-room-destroyed");
        if after == After::Emptied && !room.config.persistent && !told {
            self.events
                .push((room_jid.clone(), MucEvent::new("muc-room-destroyed")));
        }
        match after {
            After::Emptied => {
                if room.config.persistent {
                    self.keep(room, now, rs);
                } else {
                    if self.saved.remove(&room_jid).is_some() {
                        let _ = rs.delete(&room_jid);
                    }
                    self.used.remove(&room_jid);
                }
            }
            After::Kept if chat => self.cache(room),
            After::Kept => self.keep(room, now, rs),
        }
    }

    /// A stored room, with its newest archived messages when mod_muc_mam is loaded.
    fn load(
        &self,
        rs: &RoomStore<'_>,
        jid: &str,
    ) -> Result<Option<Room>, crate::storage::StorageError> {
        let mut room = rs.load(jid)?;
        if let Some(r) = room.as_mut().filter(|_| self.opts.mam.is_some()) {
            let items = rs
                .store
                .archive_list(rs.host, Some(r.node()), super::mam::STORE)
                .unwrap_or_default();
            let n = r.config.history_length(&self.opts) as usize;
            r.archive_tail = super::mam::tail_of(items, n);
        }
        Ok(room)
    }

    fn take_events(&mut self, room: &mut Room) {
        self.archive.append(&mut room.archive_out);
        for e in room.events.drain(..) {
            self.events.push((room.jid.clone(), e));
        }
    }

    fn route(
        &mut self,
        room: &mut Room,
        stanza: &Element,
        to: &str,
        now: f64,
        out: &mut Outbox,
    ) -> After {
        let full = to.contains('/');
        let opts = &self.opts;
        match (stanza.name.as_str(), full) {
            ("presence", true) => room.handle_presence(stanza, now, opts, out),
            ("presence", false) => {
                // Presence to the bare room from an occupant is presence to its nick.
                let from = stanza.attr("from").unwrap_or_default();
                match room.occupant_by_real(from).map(|o| o.nick.clone()) {
                    Some(nick) => {
                        let mut s = stanza.clone();
                        s.set_attr("to", nick);
                        room.handle_presence(&s, now, opts, out)
                    }
                    None => After::Kept,
                }
            }
            ("message", true) => room.handle_private_message(stanza, opts, out),
            ("message", false) => room.handle_message(stanza, now, opts, out),
            ("iq", true) => {
                room.handle_iq_to_occupant(stanza, out);
                After::Kept
            }
            ("iq", false) => room.handle_iq(stanza, now, opts, out),
            _ => After::Kept,
        }
    }

    /// Puts a room back in the cache, saving it if it is persistent and changed, and
    /// evicting the least recently used empty room past `muc_room_cache_size`.
    fn keep(&mut self, room: Room, now: f64, rs: &RoomStore<'_>) {
        let _ = now;
        self.tick += 1;
        self.used.insert(room.jid.clone(), self.tick);
        self.save(&room, rs);
        if room.config.destroyed && room.is_empty() && !room.config.persistent {
            self.used.remove(&room.jid);
            return;
        }
        self.rooms.insert(room.jid.clone(), room);
        while self.rooms.len() > self.opts.cache_size {
            let victim = self
                .rooms
                .iter()
                .filter(|(_, r)| r.is_empty() && r.config.persistent)
                .min_by_key(|(j, _)| self.used.get(*j).copied().unwrap_or(0))
                .map(|(j, _)| j.clone());
            let Some(v) = victim else { break };
            self.rooms.remove(&v);
            self.used.remove(&v);
        }
    }

    /// Puts a room back without saving (nothing stored changed).
    fn cache(&mut self, room: Room) {
        self.tick += 1;
        self.used.insert(room.jid.clone(), self.tick);
        self.rooms.insert(room.jid.clone(), room);
    }

    /// `room:save(true)`: persistent rooms are written; a stored room that stopped being
    /// persistent is erased.
    pub fn save(&mut self, room: &Room, rs: &RoomStore<'_>) {
        let stored = self.saved.contains_key(&room.jid);
        if room.config.persistent || room.config.destroyed {
            let v = room_to_lua(room, self.opts.new_storage_format);
            if self.saved.get(&room.jid) != Some(&v) {
                if let Err(e) = rs.save(room, self.opts.new_storage_format) {
                    tracing::error!("Error saving room {}: {e}", room.jid);
                    return;
                }
                self.saved.insert(room.jid.clone(), v);
            }
        } else if stored {
            let _ = rs.delete(&room.jid);
            self.saved.remove(&room.jid);
        }
    }

    /// `muc-room-pre-create` as the stock handlers run it.
    fn create(&mut self, stanza: &Element, jid: &str, now: f64) -> Result<Room, Element> {
        let opts = &self.opts;
        let creator = bare(stanza.attr("from").unwrap_or_default());
        if !opts.may_create(&creator) {
            return Err(StanzaError::cancel(StanzaCondition::NotAllowed)
                .with_text("Room creation is restricted")
                .with_by(&opts.host)
                .reply(stanza));
        }
        if opts.max_rooms.is_some_and(|max| self.rooms.len() >= max) {
            return Err(StanzaError::wait(StanzaCondition::ResourceConstraint).reply(stanza));
        }
        let mut room = Room::new(jid);
        let c = &mut room.config;
        if opts.room_locking {
            c.locked = Some(now.floor() + opts.lock_timeout);
        }
        c.hidden = !opts.default_public;
        c.persistent = opts.default_persistent;
        c.members_only = opts.default_members_only;
        c.allow_member_invites = opts.default_allow_member_invites;
        c.moderated = opts.default_moderated;
        c.changesubject = opts.default_changesubject;
        c.whois_anyone = opts.default_public_jids;
        if opts.default_history_length != super::room::DEFAULT_HISTORY_LENGTH {
            c.history_length = Some(opts.default_history_length);
        }
        c.presence_broadcast = opts.default_presence_broadcast;
        c.language = stanza
            .attr("xml:lang")
            .map(str::to_owned)
            .or_else(|| opts.default_language.clone())
            .or_else(|| Some("en".to_owned()));
        c.password = stanza
            .get_child("x", MUC)
            .and_then(|x| x.get_child("password", MUC))
            .map(|p| p.text())
            .filter(|p| !p.is_empty());
        c.occupant_id_salt = Some(uuid::Uuid::new_v4().to_string());
        room.affiliations.insert(creator, Affiliation::Owner);
        Ok(room)
    }

    /// Stanzas to the service JID itself: disco and `muc#unique`.
    fn handle_host(&mut self, stanza: &Element, out: &mut Outbox) -> bool {
        if stanza.name != "iq" || stanza.attr("type") != Some("get") {
            return false;
        }
        let Some(child) = stanza.child_elements().next() else {
            return false;
        };
        let reply = match (child.name.as_str(), child.ns.as_str()) {
            ("query", ns::DISCO_INFO) if child.attr("node").is_none() => {
                result_for(stanza).with_child(super::disco::service_info(&self.opts))
            }
            ("query", ns::DISCO_ITEMS) if child.attr("node").is_none() => {
                let mut q = Element::new("query", ns::DISCO_ITEMS);
                let mut public: Vec<&Room> = self
                    .rooms
                    .values()
                    .filter(|r| !r.config.hidden && !r.config.destroyed)
                    .collect();
                public.sort_by(|a, b| a.jid.cmp(&b.jid));
                for r in public {
                    let mut item =
                        Element::new("item", ns::DISCO_ITEMS).with_attr("jid", r.jid.as_str());
                    if let Some(n) = &r.config.name {
                        item.set_attr("name", n.as_str());
                    }
                    q.push_child(item);
                }
                result_for(stanza).with_child(q)
            }
            ("unique", "http://jabber.org/protocol/muc#unique") => {
                let name: String = uuid::Uuid::new_v4().simple().to_string()[..24].to_owned();
                result_for(stanza).with_child(
                    Element::new("unique", "http://jabber.org/protocol/muc#unique").with_text(name),
                )
            }
            _ => return false,
        };
        out.push(reply);
        true
    }
}

/// A tombstone's answer: `cancel/gone` with the alternate venue.
fn gone(stanza: &Element, room: &Room, host: &str) -> Element {
    let mut error = StanzaError::cancel(StanzaCondition::Gone)
        .with_text_opt(room.config.reason.clone())
        .with_by(host);
    if let Some(new) = &room.config.newjid {
        error = error.with_uri(format!("xmpp:{new}?join"));
    }
    error.reply(stanza)
}
