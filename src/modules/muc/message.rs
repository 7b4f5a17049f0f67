//! Messages to a room and to occupants (reference §13.6–13.7): groupchat broadcast with
//! occupant-id, subject changes, private messages, mediated invites and declines, and
//! voice requests.

use super::affiliation::{Affiliation, Role};
use super::broadcast::{MUC, MUC_USER};
use super::join::{error_condition, After};
use super::options::Options;
use super::room::Room;
use super::{bare, error_by};
use crate::xml::{Element, Node};
use crate::xmpp::error::stanza_error_reply;
use crate::xmpp::jid::Jid;
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

const CONFERENCE: &str = "jabber:x:conference";
const DATA: &str = "jabber:x:data";
const REQUEST: &str = "http://jabber.org/protocol/muc#request";

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
fn without_muc_x(stanza: &Element) -> Element {
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
        out: &mut Vec<Element>,
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
                        _ => out.push(stanza_error_reply(stanza, "cancel", "bad-request", None)),
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

    fn groupchat(&mut self, stanza: &Element, now: f64, opts: &Options, out: &mut Vec<Element>) {
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
            return Groupchat::Refused(stanza_error_reply(
                &msg,
                "cancel",
                "not-acceptable",
                Some("You are not currently connected to this chat"),
            ));
        };
        if occ.role <= Role::Visitor {
            return Groupchat::Refused(stanza_error_reply(
                &msg,
                "auth",
                "forbidden",
                Some("You do not currently have permission to speak in this chat"),
            ));
        }
        if let Some(subject) = msg.get_child("subject", ns::CLIENT) {
            let is_subject = msg.get_child("body", ns::CLIENT).is_none()
                && msg.get_child("thread", ns::CLIENT).is_none();
            if is_subject {
                if occ.role == Role::Moderator || self.config.changesubject {
                    return Groupchat::Subject(occ.nick.clone(), subject.text());
                }
                return Groupchat::Refused(stanza_error_reply(
                    &msg,
                    "auth",
                    "forbidden",
                    Some("You are not allowed to change the subject"),
                ));
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
        out: &mut Vec<Element>,
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
        out: &mut Vec<Element>,
    ) {
        for occ in self.occupants.iter().filter(|o| cond(o)) {
            self.send_to_occupant(occ, stanza, out);
        }
    }

    /// `set_subject`: stores it and tells everyone (unchanged subjects are not re-sent).
    pub fn set_subject(&mut self, from: &str, text: &str, now: f64, out: &mut Vec<Element>) {
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
    pub fn send_subject(&self, to: &str, out: &mut Vec<Element>) {
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
        out: &mut Vec<Element>,
    ) -> After {
        let from = stanza.attr("from").unwrap_or_default();
        let mtype = stanza.attr("type");
        let Some(sender) = self.occupant_by_real(from).cloned() else {
            if mtype != Some("error") {
                out.push(error_by(
                    stanza,
                    "cancel",
                    "not-acceptable",
                    Some("You are not currently connected to this chat"),
                    &self.jid,
                ));
            }
            return After::Kept;
        };
        if mtype == Some("groupchat") {
            out.push(error_by(stanza, "modify", "bad-request", None, &self.jid));
            return After::Kept;
        }
        if mtype == Some("error") && is_kickable(stanza) {
            return self.handle_kickable(stanza, opts, out);
        }
        let to = stanza.attr("to").unwrap_or_default();
        let Some(target) = self.occupant(to) else {
            out.push(error_by(
                stanza,
                "cancel",
                "item-not-found",
                Some("Recipient not in room"),
                &self.jid,
            ));
            return After::Kept;
        };
        let mut pm = without_muc_x(stanza);
        pm.push_child(Element::new("x", MUC_USER));
        pm.set_attr("from", sender.nick.as_str());
        self.stamp_occupant_id(&mut pm, &sender.bare_jid, opts);
        self.send_to_occupant(target, &pm, out);
        After::Kept
    }

    fn invite(
        &mut self,
        stanza: &Element,
        payload: &Element,
        opts: &Options,
        out: &mut Vec<Element>,
    ) {
        let Some(invitee) = payload
            .attr("to")
            .and_then(|t| Jid::parse(t).ok())
            .map(|j| j.to_string())
        else {
            out.push(stanza_error_reply(stanza, "cancel", "jid-malformed", None));
            return;
        };
        let from = stanza.attr("from").unwrap_or_default().to_owned();
        let from_bare = bare(&from);
        let aff = self.affiliation(&from_bare, opts);
        let role = match self.occupant_by_real(&from) {
            Some(o) => o.role,
            None => self.default_role_for(aff).unwrap_or(Role::None),
        };
        if role <= Role::Visitor {
            out.push(stanza_error_reply(stanza, "auth", "forbidden", None));
            return;
        }
        if self.config.members_only {
            let needed = if self.config.allow_member_invites {
                Affiliation::Member
            } else {
                Affiliation::Admin
            };
            if aff < needed {
                out.push(stanza_error_reply(stanza, "auth", "forbidden", None));
                return;
            }
        }
        let reason = payload.get_child("reason", MUC_USER).map(|r| r.text());
        let mut inviter = from.clone();
        let invitee_bare = bare(&invitee);
        let invitee_aff = self.affiliation(&invitee_bare, opts);
        if !self.config.whois_anyone && self.default_role_for(invitee_aff) != Some(Role::Moderator)
        {
            if let Some(o) = self.occupant_by_real(&from) {
                inviter = o.nick.clone();
            }
        }
        let mut msg = without_muc_x(stanza);
        msg.set_attr("from", self.jid.as_str());
        msg.set_attr("to", invitee.as_str());
        let mut inv = Element::new("invite", MUC_USER).with_attr("from", inviter.as_str());
        inv.push_child(
            Element::new("reason", MUC_USER).with_text(reason.clone().unwrap_or_default()),
        );
        let mut x = Element::new("x", MUC_USER).with_child(inv);
        if let Some(pw) = self.config.password.as_deref().filter(|p| !p.is_empty()) {
            x.push_child(Element::new("password", MUC_USER).with_text(pw));
        }
        msg.push_child(x);
        msg.push_child(
            Element::new("x", CONFERENCE)
                .with_attr("jid", self.jid.as_str())
                .with_text(reason.clone().unwrap_or_default()),
        );
        if msg.get_child("body", ns::CLIENT).is_none() {
            let r = reason.unwrap_or_default();
            let suffix = if r.is_empty() {
                String::new()
            } else {
                format!(" ({r})")
            };
            msg.push_child(Element::new("body", ns::CLIENT).with_text(format!(
                "{inviter} invited you to the room {}{suffix}",
                self.jid
            )));
        }
        if self.config.members_only && invitee_aff <= Affiliation::None {
            let reason = format!("Invited by {inviter}");
            let _ = self.set_affiliation(
                None,
                &invitee_bare,
                Affiliation::Member,
                Some(&reason),
                None,
                opts,
                out,
            );
        }
        out.push(msg);
    }

    fn decline(&mut self, stanza: &Element, payload: &Element, out: &mut Vec<Element>) {
        let Some(declinee) = payload
            .attr("to")
            .and_then(|t| Jid::parse(t).ok())
            .map(|j| j.to_string())
        else {
            out.push(stanza_error_reply(stanza, "cancel", "jid-malformed", None));
            return;
        };
        let from = stanza.attr("from").unwrap_or_default();
        let reason = payload
            .get_child("reason", MUC_USER)
            .map(|r| r.text())
            .unwrap_or_default();
        let mut msg = without_muc_x(stanza);
        msg.set_attr("from", self.jid.as_str());
        msg.set_attr("to", declinee.as_str());
        let mut d = Element::new("decline", MUC_USER).with_attr("from", from);
        d.push_child(Element::new("reason", MUC_USER).with_text(reason.as_str()));
        msg.push_child(Element::new("x", MUC_USER).with_child(d));
        if msg.get_child("body", ns::CLIENT).is_none() {
            let suffix = if reason.is_empty() {
                String::new()
            } else {
                format!(" ({reason})")
            };
            msg.push_child(Element::new("body", ns::CLIENT).with_text(format!(
                "{from} declined your invite to the room {}{suffix}",
                self.jid
            )));
        }
        if bare(&declinee) == self.jid {
            if let Some(o) = self.occupant(&declinee) {
                self.send_to_occupant(o, &msg, out);
                return;
            }
        }
        out.push(msg);
    }

    fn voice(&mut self, stanza: &Element, form: &Element, opts: &Options, out: &mut Vec<Element>) {
        let from = stanza.attr("from").unwrap_or_default();
        let Some(occ) = self.occupant_by_real(from).cloned() else {
            return;
        };
        let fields = super::config_form::values(form);
        let field = |k: &str| {
            fields
                .iter()
                .find(|(n, _)| n == k)
                .and_then(|(_, v)| v.first().cloned())
        };
        if occ.role == Role::Moderator {
            let allow = matches!(field("muc#request_allow").as_deref(), Some("1" | "true"));
            let Some(jid) = field("muc#jid") else { return };
            if allow {
                if let Some(target) = self.occupant_by_real(&jid).cloned() {
                    if target.role == Role::Visitor {
                        let actor = from.to_owned();
                        let _ = self.set_role(
                            Some(&actor),
                            &target.nick,
                            Role::Participant,
                            Some("Voice granted"),
                            opts,
                            out,
                        );
                    }
                }
            }
        } else if occ.role == Role::Visitor {
            use super::config_form::Field;
            let mut x = Element::new("x", DATA).with_attr("type", "form");
            x.push_child(Element::new("title", DATA).with_text("Voice Request"));
            x.push_child(
                Field::new(Some("FORM_TYPE"), "hidden", None)
                    .value(REQUEST)
                    .done(),
            );
            x.push_child(
                Field::new(Some("muc#jid"), "jid-single", Some("User ID"))
                    .desc("The user's JID (address)")
                    .value(from)
                    .done(),
            );
            x.push_child(
                Field::new(Some("muc#roomnick"), "text-single", Some("Room nickname"))
                    .desc("The user's nickname within the room")
                    .value(super::resource(&occ.nick))
                    .done(),
            );
            let mut role = Field::new(Some("muc#role"), "list-single", Some("Requested role"));
            for r in Role::ALL {
                role = role.option(r.as_str(), r.as_str());
            }
            x.push_child(role.value("participant").done());
            x.push_child(
                Field::new(
                    Some("muc#request_allow"),
                    "boolean",
                    Some("Grant voice to this person?"),
                )
                .desc("Specify whether this person is able to speak in a moderated room")
                .value("0")
                .done(),
            );
            let msg = Element::new("message", ns::CLIENT)
                .with_attr("from", self.jid.as_str())
                .with_attr("type", "normal")
                .with_child(x);
            self.broadcast(&msg, |o| o.role == Role::Moderator, out);
        }
    }
}
