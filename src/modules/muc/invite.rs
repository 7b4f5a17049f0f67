//! Mediated invites and declines (XEP-0045 §7.8, reference §13.7) and voice requests
//! and grants (§8.6): the messages to the bare room that carry a `muc#user` invite or
//! decline, or a `muc#request` form.

use super::affiliation::{Affiliation, Role};
use super::bare;
use super::broadcast::MUC_USER;
use super::message::{without_muc_x, REQUEST};
use super::options::Options;
use super::outbox::Outbox;
use super::room::Room;
use crate::xml::Element;
use crate::xmpp::error::{StanzaCondition, StanzaError};
use crate::xmpp::jid::Jid;
use crate::xmpp::ns;

const CONFERENCE: &str = "jabber:x:conference";
const DATA: &str = "jabber:x:data";

impl Room {
    pub(super) fn invite(
        &mut self,
        stanza: &Element,
        payload: &Element,
        opts: &Options,
        out: &mut Outbox,
    ) {
        let Some(invitee) = payload
            .attr("to")
            .and_then(|t| Jid::parse(t).ok())
            .map(|j| j.to_string())
        else {
            out.push(StanzaError::cancel(StanzaCondition::JidMalformed).reply(stanza));
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
            out.push(StanzaError::auth(StanzaCondition::Forbidden).reply(stanza));
            return;
        }
        if self.config.members_only {
            let needed = if self.config.allow_member_invites {
                Affiliation::Member
            } else {
                Affiliation::Admin
            };
            if aff < needed {
                out.push(StanzaError::auth(StanzaCondition::Forbidden).reply(stanza));
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

    pub(super) fn decline(&mut self, stanza: &Element, payload: &Element, out: &mut Outbox) {
        let Some(declinee) = payload
            .attr("to")
            .and_then(|t| Jid::parse(t).ok())
            .map(|j| j.to_string())
        else {
            out.push(StanzaError::cancel(StanzaCondition::JidMalformed).reply(stanza));
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

    pub(super) fn voice(
        &mut self,
        stanza: &Element,
        form: &Element,
        opts: &Options,
        out: &mut Outbox,
    ) {
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
