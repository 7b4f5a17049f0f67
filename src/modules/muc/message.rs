//! Messages to a room and to occupants (reference §13.6): groupchat broadcast with
//! occupant-id, subject changes and private messages; invites, declines and voice
//! requests are in invite.rs.

use super::affiliation::Role;
use super::broadcast::{MUC, MUC_USER};
use super::join::{error_condition, After};
use super::options::Options;
use super::outbox::Outbox;
use super::room::Room;
use crate::xml::{Element, Node};
use crate::xmpp::error::{StanzaCondition, StanzaError};
use crate::xmpp::ns;

/// What a groupchat message to the room comes to.
pub enum Groupchat {
    /// An error for the sender.
    Refused(Element),
    /// A subject change by this nick (in-room JID) to this text.
    Subject(String, String),
    /// The message as broadcast (`from` = the sender's in-room JID), and that JID.
    Broadcast(Element, String),
}

const DATA: &str = "jabber:x:data";
pub(super) const REQUEST: &str = "http://jabber.org/protocol/muc#request";

/// Error conditions after which a message error takes the sender out (`is_kickable_error`).
fn is_kickable(stanza: &Element) -> bool {
    let (cond, _) = error_condition(stanza);
    matches!(
        cond.as_deref(),
        None | Some(
            "gone"
                | "internal-server-error"
                | "item-not-found"
                | "jid-malformed"
                | "recipient-unavailable"
                | "redirect"
                | "remote-server-not-found"
                | "remote-server-timeout"
                | "service-unavailable"
        )
    )
}

/// Removes MUC `<x/>` payloads (`filter_muc_x`).
pub(super) fn without_muc_x(stanza: &Element) -> Element {
    let mut s = stanza.clone();
    s.children.retain(|n| match n {
        Node::Element(e) => !(e.name == "x" && (e.ns == MUC || e.ns == MUC_USER)),
        Node::Text(_) => true,
    });
    s
}

impl Room {
    /// A message to the bare room JID.
    pub fn handle_message(
        &mut self,
        stanza: &Element,
        now: f64,
        opts: &Options,
        out: &mut Outbox,
    ) -> After {
        match stanza.attr("type") {
            Some("groupchat") => {
                self.groupchat(stanza, now, opts, out);
                After::Kept
            }
            Some("error") if is_kickable(stanza) => self.handle_kickable(stanza, opts, out),
            None | Some("normal") => {
                if let Some(x) = stanza.get_child("x", MUC_USER) {
                    match x.child_elements().next() {
                        Some(p) if p.name == "invite" && p.attr("to").is_some() => {
                            self.invite(stanza, p, opts, out)
                        }
                        Some(p) if p.name == "decline" && p.attr("to").is_some() => {
                            self.decline(stanza, p, out)
                        }
                        _ => {
                            out.push(StanzaError::cancel(StanzaCondition::BadRequest).reply(stanza))
                        }
                    }
                } else if let Some(form) = stanza
                    .get_child("x", DATA)
                    .filter(|f| super::config_form::form_type(f).as_deref() == Some(REQUEST))
                {
                    self.voice(stanza, form, opts, out);
                }
                After::Kept
            }
            _ => After::Kept,
        }
    }

    fn groupchat(&mut self, stanza: &Element, now: f64, opts: &Options, out: &mut Outbox) {
        match self.groupchat_checks(stanza, opts) {
            Groupchat::Refused(e) => out.push(e),
            Groupchat::Subject(nick, text) => self.set_subject(&nick, &text, now, out),
            Groupchat::Broadcast(msg, _) => self.broadcast_message(msg, now, opts, out),
        }
    }

    /// `muc-occupant-groupchat` as the stock handlers run it (role check at 50, subject
    /// at 20, room delays stripped at 0): what a groupchat message from `stanza`'s
    /// sender becomes.
    pub fn groupchat_checks(&self, stanza: &Element, opts: &Options) -> Groupchat {
        let from = stanza.attr("from").unwrap_or_default().to_owned();
        let mut msg = stanza.clone();
        if msg.attr("id").is_none() {
            msg.set_attr("id", uuid::Uuid::new_v4().to_string());
        }
        let Some(occ) = self.occupant_by_real(&from) else {
            return Groupchat::Refused(
                StanzaError::cancel(StanzaCondition::NotAcceptable)
                    .with_text("You are not currently connected to this chat")
                    .reply(&msg),
            );
        };
        if occ.role <= Role::Visitor {
            return Groupchat::Refused(
                StanzaError::auth(StanzaCondition::Forbidden)
                    .with_text("You do not currently have permission to speak in this chat")
                    .reply(&msg),
            );
        }
        if let Some(subject) = msg.get_child("subject", ns::CLIENT) {
            let is_subject = msg.get_child("body", ns::CLIENT).is_none()
                && msg.get_child("thread", ns::CLIENT).is_none();
            if is_subject {
                if occ.role == Role::Moderator || self.config.changesubject {
                    return Groupchat::Subject(occ.nick.clone(), subject.text());
                }
                return Groupchat::Refused(
                    StanzaError::auth(StanzaCondition::Forbidden)
                        .with_text("You are not allowed to change the subject")
                        .reply(&msg),
                );
            }
        }
        let room_jid = self.jid.clone();
        msg.children.retain(|n| match n {
            Node::Element(e) => {
                let ours = e.attr("from") == Some(room_jid.as_str());
                !(ours
                    && ((e.name == "delay" && e.ns == ns::DELAY)
                        || (e.name == "x" && e.ns == "jabber:x:delay")))
            }
            Node::Text(_) => true,
        });
        self.stamp_occupant_id(&mut msg, &occ.bare_jid, opts);
        msg.set_attr("from", occ.nick.as_str());
        Groupchat::Broadcast(msg, occ.nick.clone())
    }

    /// Adds a message to history when it is historic, then sends it to every session.
    pub fn broadcast_message(
        &mut self,
        mut msg: Element,
        now: f64,
        opts: &Options,
        out: &mut Outbox,
    ) {
        self.history_of_broadcast(&mut msg, now, opts);
        if self.lua_stanzas {
            self.events.push(super::room::MucEvent {
                stanza: Some(msg.clone()),
                ..super::room::MucEvent::new("muc-broadcast-message")
            });
        }
        self.broadcast(&msg, |_| true, out);
    }

    /// Prosody's history handler of `muc-broadcast-message` (priority 0, registered
    /// before any plugin's): a historic message is kept even when a plugin then
    /// suppresses its broadcast.
    pub fn history_of_broadcast(&mut self, msg: &mut Element, now: f64, opts: &Options) {
        if opts.mam.is_some() {
            self.strip_forged_ids(msg);
        }
        if super::history::is_historic(msg) {
            // mod_muc_mam's muc-add-history (0) runs before the history's own (-1).
            self.archive_message(msg, now, opts);
            self.add_history(msg, now, opts);
            if self.lua_stanzas {
                self.events.push(super::room::MucEvent {
                    stanza: Some(msg.clone()),
                    ..super::room::MucEvent::new("muc-add-history")
                });
            }
        }
    }

    /// Sends `stanza` to every session of every occupant `cond` accepts.
    pub fn broadcast(
        &self,
        stanza: &Element,
        cond: impl Fn(&super::occupant::Occupant) -> bool,
        out: &mut Outbox,
    ) {
        // One shared stanza for everyone.
        let to = self.occupants.iter().filter(|o| cond(o));
        out.broadcast(stanza, to.flat_map(|o| o.real_jids()));
    }

    /// `set_subject`: stores it and tells everyone (unchanged subjects are not re-sent).
    pub fn set_subject(&mut self, from: &str, text: &str, now: f64, out: &mut Outbox) {
        let subject = (!text.is_empty()).then(|| text.to_owned());
        let old_from = self
            .config
            .subject_from
            .clone()
            .unwrap_or_else(|| self.jid.clone());
        if self.config.subject == subject && old_from == from {
            return;
        }
        self.config.subject_from = Some(from.to_owned());
        self.config.subject = subject;
        self.config.subject_time = Some(now.floor());
        let msg = Element::new("message", ns::CLIENT)
            .with_attr("from", from)
            .with_attr("type", "groupchat")
            .with_child(Element::new("subject", ns::CLIENT).with_text(text));
        self.broadcast(&msg, |_| true, out);
    }

    /// The subject as sent on join, with the time it was set.
    pub fn send_subject(&self, to: &str, out: &mut Outbox) {
        let from = self.config.subject_from.as_deref().unwrap_or(&self.jid);
        let mut msg = Element::new("message", ns::CLIENT)
            .with_attr("from", from)
            .with_attr("type", "groupchat")
            .with_attr("to", to)
            .with_child(
                Element::new("subject", ns::CLIENT)
                    .with_text(self.config.subject.as_deref().unwrap_or("")),
            );
        if let Some(t) = self.config.subject_time {
            msg.push_child(
                Element::new("delay", ns::DELAY)
                    .with_attr("from", self.jid.as_str())
                    .with_attr("stamp", crate::modules::offline::stamp::datetime(t)),
            );
        }
        out.push(msg);
    }

    /// A message to `room/nick`.
    pub fn handle_private_message(
        &mut self,
        stanza: &Element,
        opts: &Options,
        out: &mut Outbox,
    ) -> After {
        let from = stanza.attr("from").unwrap_or_default();
        let mtype = stanza.attr("type");
        let Some(sender) = self.occupant_by_real(from).cloned() else {
            if mtype != Some("error") {
                out.push(
                    StanzaError::cancel(StanzaCondition::NotAcceptable)
                        .with_text("You are not currently connected to this chat")
                        .with_by(&self.jid)
                        .reply(stanza),
                );
            }
            return After::Kept;
        };
        if mtype == Some("groupchat") {
            out.push(
                StanzaError::modify(StanzaCondition::BadRequest)
                    .with_by(&self.jid)
                    .reply(stanza),
            );
            return After::Kept;
        }
        if mtype == Some("error") && is_kickable(stanza) {
            return self.handle_kickable(stanza, opts, out);
        }
        let to = stanza.attr("to").unwrap_or_default();
        let Some(target) = self.occupant(to) else {
            out.push(
                StanzaError::cancel(StanzaCondition::ItemNotFound)
                    .with_text("Recipient not in room")
                    .with_by(&self.jid)
                    .reply(stanza),
            );
            return After::Kept;
        };
        let mut pm = without_muc_x(stanza);
        pm.push_child(Element::new("x", MUC_USER));
        pm.set_attr("from", sender.nick.as_str());
        self.stamp_occupant_id(&mut pm, &sender.bare_jid, opts);
        self.send_to_occupant(target, &pm, out);
        After::Kept
    }
}
