//! Presence to an occupant JID (reference §13.4–13.5): creating a room with the first
//! join, joins with their checks and status codes, presence updates, nick changes (303),
//! leaving, probes, and kicks for presence errors (333).

use super::affiliation::{Affiliation, Role};
use super::broadcast::{status, Publish, MUC, MUC_USER};
use super::occupant::Occupant;
use super::options::Options;
use super::outbox::Outbox;
use super::room::{MucEvent, Room};
use super::{bare, resource};
use crate::xml::{Element, Node};
use crate::xmpp::error::{StanzaCondition, StanzaError};
use crate::xmpp::ns;

/// What happened to the room as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    Kept,
    /// The last occupant left a temporary room: it is gone.
    Emptied,
}

/// The presence stored for a session: MUC `<x/>` removed, `from` = nick, no `to`.
fn session_presence(stanza: &Element, nick: &str) -> Element {
    let mut p = stanza.clone();
    p.children.retain(|n| match n {
        Node::Element(e) => !(e.name == "x" && (e.ns == MUC || e.ns == MUC_USER)),
        Node::Text(_) => true,
    });
    p.remove_attr("to");
    p.set_attr("from", nick);
    p
}

impl Room {
    /// The first presence of a new room's creator (`handle_first_presence`): the room
    /// defaults, lock and creator ownership are already applied by the service.
    pub fn handle_first_presence(&mut self, stanza: &Element, opts: &Options, out: &mut Outbox) {
        let real = stanza.attr("from").unwrap_or_default().to_owned();
        let to = stanza.attr("to").unwrap_or_default().to_owned();
        if let Some(e) = self.nick_checks(stanza, &to) {
            out.push(e);
            return;
        }
        let mut occ = Occupant::new(&bare(&real), &to);
        occ.role = self
            .default_role_for(self.affiliation(&occ.bare_jid, opts))
            .unwrap_or(Role::None);
        let mut p = session_presence(stanza, &to);
        self.stamp_occupant_id(&mut p, &occ.bare_jid, opts);
        occ.set_session(&real, p, false);
        self.occupants.push(occ.clone());
        let mut base = vec![status(201)];
        if self.config.whois_anyone {
            base.push(status(100));
        }
        let publish = Publish {
            base,
            ..Publish::default()
        };
        self.publicise(&occ, &publish, opts, out);
        self.events
            .push(MucEvent::occupant("muc-occupant-joined", &occ));
        MucEvent::mark_own(&mut self.events, Some(out.len()));
        self.send_subject(&real, out);
        // After history (50) and the subject (20), as Prosody's handlers order it.
        self.events.push(MucEvent {
            real: Some(real.clone()),
            ..MucEvent::occupant("muc-occupant-session-new", &occ)
        });
        MucEvent::mark_own(&mut self.events, Some(out.len()));
        if self.config.locked.is_some() {
            self.events.push(MucEvent::new("muc-room-locked"));
        }
        self.events.push(MucEvent::new("muc-room-created"));
        MucEvent::mark_own(&mut self.events, None);
    }

    /// Nick checks every join and nick change runs (pre-join priorities 2, 1 and 0).
    fn nick_checks(&self, stanza: &Element, to: &str) -> Option<Element> {
        let nick = resource(to);
        if nick.trim().is_empty() {
            return Some(
                StanzaError::modify(StanzaCondition::NotAllowed)
                    .with_text("Invisible Nicknames are forbidden")
                    .with_by(&self.jid)
                    .reply(stanza),
            );
        }
        let who = bare(stanza.attr("from").unwrap_or_default());
        if self.nick_reserved_by(nick).is_some_and(|j| j != who) {
            return Some(
                StanzaError::cancel(StanzaCondition::Conflict)
                    .with_by(&self.jid)
                    .reply(stanza),
            );
        }
        None
    }

    /// Presence from `from` to `room/nick`.
    pub fn handle_presence(
        &mut self,
        stanza: &Element,
        now: f64,
        opts: &Options,
        out: &mut Outbox,
    ) -> After {
        match stanza.attr("type") {
            Some("error") => return self.handle_kickable(stanza, opts, out),
            None | Some("unavailable") | Some("probe") => {}
            Some("visible") | Some("invisible") | Some("result") => return After::Kept,
            Some(_) => {
                out.push(
                    StanzaError::modify(StanzaCondition::BadRequest)
                        .with_by(&self.jid)
                        .reply(stanza),
                );
                return After::Kept;
            }
        }
        let real = stanza.attr("from").unwrap_or_default().to_owned();
        let to = stanza.attr("to").unwrap_or_default().to_owned();
        let ptype = stanza.attr("type").map(str::to_owned);
        let muc_x = stanza.get_child("x", MUC);
        let orig = self.occupant_by_real(&real).cloned();
        if orig.is_none() && muc_x.is_none() && ptype.is_none() {
            out.push(
                StanzaError::cancel(StanzaCondition::ItemNotFound)
                    .with_text("You are not currently connected to this chat")
                    .with_by(&self.jid)
                    .reply(stanza),
            );
            return After::Kept;
        }
        match ptype.as_deref() {
            Some("unavailable") => {
                let Some(orig) = orig else { return After::Kept };
                return self.leave(orig, &real, stanza, opts, out);
            }
            Some("probe") => {
                self.probe(stanza, orig.as_ref(), opts, out);
                return After::Kept;
            }
            _ => {}
        }
        if let Some(o) = orig.as_ref().filter(|o| o.nick == to) {
            // A presence update.
            let mut occ = o.clone();
            let mut p = session_presence(stanza, &to);
            self.stamp_occupant_id(&mut p, &occ.bare_jid, opts);
            occ.set_session(&real, p, false);
            self.store(occ.clone());
            if muc_x.is_some() {
                self.send_occupant_list(&real, &occ.bare_jid, occ.role, opts, out);
            }
            self.publicise(
                &occ,
                &Publish {
                    prev_role: Some(occ.role),
                    ..Publish::default()
                },
                opts,
                out,
            );
            if muc_x.is_some() {
                self.send_history(stanza, now, opts, out);
                self.send_subject(&real, out);
            }
            return After::Kept;
        }
        let bare_jid = bare(&real);
        let existing = self.occupant(&to).cloned();
        if let Some(e) = self.nick_checks(stanza, &to) {
            out.push(e);
            return After::Kept;
        }
        if orig.is_none() {
            if let Some(e) = self.join_checks(stanza, &bare_jid, now, opts) {
                out.push(e);
                return After::Kept;
            }
        }
        if let Some(dest) = &existing {
            if dest.bare_jid != bare_jid {
                out.push(
                    StanzaError::cancel(StanzaCondition::Conflict)
                        .with_by(&self.jid)
                        .reply(stanza),
                );
                return After::Kept;
            }
        }
        let first_session = existing.is_none();
        let mut dest = existing.unwrap_or_else(|| {
            let mut o = Occupant::new(&bare_jid, &to);
            o.role = match &orig {
                Some(orig) => orig.role,
                None => self
                    .default_role_for(self.affiliation(&bare_jid, opts))
                    .unwrap_or(Role::None),
            };
            o
        });
        let was_occupant = orig.is_some();
        if let Some(orig) = orig {
            self.change_nick(orig, &dest, &real, first_session, opts, out);
        }
        let mut p = session_presence(stanza, &to);
        self.stamp_occupant_id(&mut p, &dest.bare_jid, opts);
        dest.set_session(&real, p, false);
        let prev_role = Some(dest.role);
        self.store(dest.clone());
        let joined = muc_x.is_some() || !was_occupant;
        if joined {
            self.send_occupant_list(&real, &dest.bare_jid, dest.role, opts, out);
        }
        let mut self_extra = Vec::new();
        if !was_occupant && self.config.whois_anyone {
            self_extra.push(status(100));
        }
        let publish = Publish {
            self_extra,
            prev_role: if was_occupant { prev_role } else { None },
            ..Publish::default()
        };
        self.publicise(&dest, &publish, opts, out);
        if joined && first_session {
            self.events
                .push(MucEvent::occupant("muc-occupant-joined", &dest));
            MucEvent::mark_own(&mut self.events, Some(out.len()));
        }
        if joined {
            self.send_history(stanza, now, opts, out);
            self.send_subject(&real, out);
            self.events.push(MucEvent {
                real: Some(real.clone()),
                ..MucEvent::occupant("muc-occupant-session-new", &dest)
            });
            MucEvent::mark_own(&mut self.events, Some(out.len()));
        }
        After::Kept
    }

    /// The pre-join checks of an existing room (priorities −5 … −30).
    fn join_checks(
        &self,
        stanza: &Element,
        bare_jid: &str,
        now: f64,
        opts: &Options,
    ) -> Option<Element> {
        let aff = self.affiliation(bare_jid, opts);
        if self.config.members_only && aff < Affiliation::Member {
            return Some(
                StanzaError::auth(StanzaCondition::RegistrationRequired)
                    .with_by(&self.jid)
                    .reply(stanza),
            );
        }
        if aff == Affiliation::Outcast {
            return Some(
                StanzaError::auth(StanzaCondition::Forbidden)
                    .with_by(&self.jid)
                    .reply(stanza),
            );
        }
        if let Some(pw) = self.config.password.as_deref().filter(|p| !p.is_empty()) {
            let given = stanza
                .get_child("x", MUC)
                .and_then(|x| x.get_child("password", MUC))
                .map(|p| p.text());
            if given.as_deref() != Some(pw) {
                return Some(
                    StanzaError::auth(StanzaCondition::NotAuthorized)
                        .with_by(&self.jid)
                        .reply(stanza),
                );
            }
        }
        if self.config.is_locked(now) {
            return Some(
                StanzaError::cancel(StanzaCondition::ItemNotFound)
                    .with_by(&opts.host)
                    .reply(stanza),
            );
        }
        None
    }

    /// Moves `real` from its old nick to `dest` (a nick change, status 303).
    fn change_nick(
        &mut self,
        mut orig: Occupant,
        dest: &Occupant,
        real: &str,
        first_dest: bool,
        opts: &Options,
        out: &mut Outbox,
    ) {
        let last_orig = orig.sessions.len() == 1;
        let unavailable = Element::new("presence", ns::CLIENT)
            .with_attr("from", orig.nick.as_str())
            .with_attr("type", "unavailable");
        let prev_role = orig.role;
        if first_dest && last_orig {
            orig.set_session(real, unavailable, true);
            let publish = Publish {
                base: vec![status(303)],
                new_nick: Some(resource(&dest.nick)),
                prev_role: Some(prev_role),
                ..Publish::default()
            };
            self.remove_occupant(&orig.nick);
            self.publicise(&orig, &publish, opts, out);
            MucEvent::mark_own(&mut self.events, Some(out.len()));
        } else {
            // Only this session moves: it alone sees the change.
            orig.remove_session(real);
            let aff = self.affiliation(&orig.bare_jid, opts);
            let item = Element::new("item", MUC_USER)
                .with_attr("affiliation", aff.as_str())
                .with_attr("role", orig.role.as_str())
                .with_attr("jid", real)
                .with_attr("nick", resource(&dest.nick));
            let x = Element::new("x", MUC_USER)
                .with_child(item)
                .with_child(status(303))
                .with_child(status(110));
            out.push(unavailable.with_attr("to", real).with_child(x));
            self.store(orig);
        }
    }

    fn leave(
        &mut self,
        mut occ: Occupant,
        real: &str,
        stanza: &Element,
        opts: &Options,
        out: &mut Outbox,
    ) -> After {
        let prev_role = occ.role;
        let last = occ.sessions.len() == 1;
        occ.set_session(real, session_presence(stanza, &occ.nick), false);
        if last {
            occ.role = Role::None;
            self.remove_occupant(&occ.nick);
        } else {
            let mut kept = occ.clone();
            kept.remove_session(real);
            self.store(kept);
        }
        let publish = Publish {
            prev_role: Some(prev_role),
            ..Publish::default()
        };
        // One of several sessions leaving is told with every session's item, as Prosody
        // does, before the session is dropped.
        self.publicise(&occ, &publish, opts, out);
        if last {
            MucEvent::mark_own(&mut self.events, Some(out.len()));
        }
        if self.is_empty() && !self.config.persistent {
            return After::Emptied;
        }
        After::Kept
    }

    fn probe(&self, stanza: &Element, prober: Option<&Occupant>, opts: &Options, out: &mut Outbox) {
        let Some(prober) = prober else {
            out.push(
                StanzaError::cancel(StanzaCondition::NotAcceptable)
                    .with_text("You are not currently connected to this chat")
                    .with_by(&self.jid)
                    .reply(stanza),
            );
            return;
        };
        let to = stanza.attr("to").unwrap_or_default();
        let Some(occ) = self.occupant(to) else {
            return;
        };
        let real = stanza.attr("from").unwrap_or_default();
        let mut one = Outbox::new();
        self.publicise(occ, &Publish::default(), opts, &mut one);
        let one = one.into_elements();
        let full = self.sees_jids(prober.role) || prober.bare_jid == occ.bare_jid;
        // The copy meant for the prober's kind of recipient, addressed to it alone.
        let want_jid = |p: &Element| {
            p.get_child("x", MUC_USER)
                .and_then(|x| x.get_child("item", MUC_USER))
                .is_some_and(|i| i.attr("jid").is_some())
        };
        if let Some(mut p) = one.into_iter().find(|p| {
            want_jid(p) == full
                && p.get_child("x", MUC_USER)
                    .is_some_and(|x| x.get_child("status", MUC_USER).is_none())
        }) {
            p.set_attr("to", real);
            out.push(p);
        }
    }

    /// A presence error from an occupant: that session is removed (`handle_kickable`).
    pub fn handle_kickable(&mut self, stanza: &Element, opts: &Options, out: &mut Outbox) -> After {
        let real = stanza.attr("from").unwrap_or_default().to_owned();
        let Some(mut occ) = self.occupant_by_real(&real).cloned() else {
            return After::Kept;
        };
        let (condition, text) = error_condition(stanza);
        let mut msg = format!(
            "Kicked: {}",
            condition
                .as_deref()
                .map_or("presence error".to_owned(), |c| c.replace('-', " "))
        );
        if let (Some(t), true) = (text, self.config.whois_anyone) {
            msg.push_str(": ");
            msg.push_str(&t);
        }
        let unavailable = Element::new("presence", ns::CLIENT)
            .with_attr("from", occ.nick.as_str())
            .with_attr("type", "unavailable")
            .with_child(Element::new("status", ns::CLIENT).with_text(msg));
        let prev_role = occ.role;
        let last = occ.primary == real || occ.sessions.len() == 1;
        occ.set_session(&real, unavailable, false);
        if last {
            occ.role = Role::None;
            self.remove_occupant(&occ.nick);
        } else {
            let mut kept = occ.clone();
            kept.remove_session(&real);
            self.store(kept);
        }
        let publish = Publish {
            base: if last { vec![status(333)] } else { Vec::new() },
            prev_role: Some(prev_role),
            ..Publish::default()
        };
        self.publicise(&occ, &publish, opts, out);
        if self.is_empty() && !self.config.persistent {
            return After::Emptied;
        }
        After::Kept
    }

    /// Puts an occupant (back) in the room, replacing the one with its nick.
    pub fn store(&mut self, occ: Occupant) {
        if occ.sessions.is_empty() || occ.role == Role::None {
            self.remove_occupant(&occ.nick);
            return;
        }
        match self.occupants.iter_mut().find(|o| o.nick == occ.nick) {
            Some(slot) => *slot = occ,
            None => self.occupants.push(occ),
        }
    }
}

/// The defined condition and text of an error stanza.
pub fn error_condition(stanza: &Element) -> (Option<String>, Option<String>) {
    let Some(err) = stanza.get_child("error", &stanza.ns) else {
        return (None, None);
    };
    let cond = err
        .child_elements()
        .find(|c| c.ns == ns::STANZAS && c.name != "text")
        .map(|c| c.name.to_string());
    let text = err
        .get_child("text", ns::STANZAS)
        .map(|t| t.text())
        .filter(|t| !t.is_empty());
    (cond, text)
}
