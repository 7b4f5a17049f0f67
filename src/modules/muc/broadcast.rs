//! Occupant presence as the room tells it (`publicise_occupant_status`): one base
//! presence, a full item list (real JIDs) for recipients who may see JIDs, an anonymous
//! one for the rest, and the occupant's own copy with status 110.

use super::outbox::Outbox;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::affiliation::Role;
use super::occupant::Occupant;
use super::options::Options;
use super::room::Room;
use crate::xml::Element;
use crate::xmpp::ns;

pub const MUC: &str = "http://jabber.org/protocol/muc";
pub const MUC_USER: &str = "http://jabber.org/protocol/muc#user";
pub const OCCUPANT_ID: &str = "urn:xmpp:occupant-id:0";

/// `<status code='N'/>` in muc#user.
pub fn status(code: u16) -> Element {
    Element::new("status", MUC_USER).with_attr("code", code.to_string())
}

/// What a presence broadcast says besides the occupant's own state.
#[derive(Default)]
pub struct Publish<'a> {
    /// `<x>` children before the items, for every recipient (status codes, `<destroy/>`).
    pub base: Vec<Element>,
    /// `<x>` children before the items for the occupant's own sessions only.
    pub self_extra: Vec<Element>,
    /// The new nick (status 303).
    pub new_nick: Option<&'a str>,
    /// (actor nick, actor real JID).
    pub actor: Option<(&'a str, &'a str)>,
    pub reason: Option<&'a str>,
    /// The role before the change, when it changed.
    pub prev_role: Option<Role>,
    pub force_unavailable: bool,
}

impl Room {
    /// base64(HMAC-SHA256(key = bare real JID, message = the room's salt)).
    pub fn occupant_id(&self, bare: &str) -> Option<String> {
        let salt = self.config.occupant_id_salt.as_deref()?;
        let mut mac = Hmac::<Sha256>::new_from_slice(bare.as_bytes()).ok()?;
        mac.update(salt.as_bytes());
        Some(base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
    }

    /// Removes client-sent occupant-ids and adds the room's (when enabled).
    pub fn stamp_occupant_id(&self, stanza: &mut Element, bare: &str, opts: &Options) {
        stanza.children.retain(|n| match n {
            crate::xml::Node::Element(e) => !(e.name == "occupant-id" && e.ns == OCCUPANT_ID),
            _ => true,
        });
        if !opts.occupant_id {
            return;
        }
        if let Some(id) = self.occupant_id(bare) {
            stanza
                .push_child(Element::new("occupant-id", OCCUPANT_ID).with_attr("id", id.as_str()));
        }
    }

    /// The `<item/>`s describing `occ`: one per session with real JIDs when `full`.
    fn items(
        &self,
        occ: &Occupant,
        full: bool,
        p: &Publish,
        show_actor_jid: bool,
        opts: &Options,
    ) -> Vec<Element> {
        let aff = self.affiliation(&occ.bare_jid, opts);
        let make = |real: Option<&str>| {
            let mut item = Element::new("item", MUC_USER)
                .with_attr("affiliation", aff.as_str())
                .with_attr("role", occ.role.as_str());
            if let Some(n) = p.new_nick {
                item.set_attr("nick", n);
            }
            if let Some(j) = real {
                item.set_attr("jid", j);
            }
            if let Some((nick, jid)) = p.actor {
                let mut a = Element::new("actor", MUC_USER);
                if show_actor_jid {
                    a.set_attr("jid", jid);
                }
                a.set_attr("nick", nick);
                item.push_child(a);
            }
            if let Some(r) = p.reason {
                item.push_child(Element::new("reason", MUC_USER).with_text(r));
            }
            item
        };
        if full {
            occ.real_jids().map(|j| make(Some(j))).collect()
        } else {
            vec![make(None)]
        }
    }

    fn base_presence(&self, occ: &Occupant, p: &Publish) -> Element {
        match occ.primary_presence() {
            Some(pr)
                if !p.force_unavailable
                    && (occ.role != Role::None || pr.attr("type") == Some("unavailable")) =>
            {
                pr.clone()
            }
            _ => Element::new("presence", ns::CLIENT)
                .with_attr("from", occ.nick.as_str())
                .with_attr("type", "unavailable"),
        }
    }

    fn presence_with(
        &self,
        base: &Element,
        children: &[Element],
        items: Vec<Element>,
        tail: Option<Element>,
    ) -> Element {
        let mut x = Element::new("x", MUC_USER);
        for c in children {
            x.push_child(c.clone());
        }
        for i in items {
            x.push_child(i);
        }
        if let Some(t) = tail {
            x.push_child(t);
        }
        base.clone().with_child(x)
    }

    /// Tells the room (and the occupant's own sessions, with 110) about `occ`.
    pub fn publicise(&self, occ: &Occupant, p: &Publish, opts: &Options, out: &mut Outbox) {
        let mut base = self.base_presence(occ, p);
        self.stamp_occupant_id(&mut base, &occ.bare_jid, opts);
        let visible = self.config.broadcasts(occ.role) || p.force_unavailable;
        let was_visible = p.prev_role.is_some_and(|r| self.config.broadcasts(r));
        // Everyone who may see real JIDs gets one shared presence, the others another.
        let mut full_to = Vec::new();
        let mut anon_to = Vec::new();
        for other in &self.occupants {
            if other.nick == occ.nick {
                continue;
            }
            let stanza = if visible {
                let full = other.bare_jid == occ.bare_jid || self.sees_jids(other.role);
                let to = if full { &mut full_to } else { &mut anon_to };
                to.extend(other.real_jids());
                continue;
            } else if was_visible {
                // Hidden from now on: others see it go.
                let mut gone = base.clone();
                gone.set_attr("type", "unavailable");
                let full = self.sees_jids(other.role);
                let items = self.items(occ, full, p, full, opts);
                self.presence_with(&gone, &p.base, items, None)
            } else {
                continue;
            };
            self.send_to_occupant(other, &stanza, out);
        }
        for (full, to) in [(true, full_to), (false, anon_to)] {
            if !to.is_empty() {
                let items = self.items(occ, full, p, full, opts);
                out.broadcast(&self.presence_with(&base, &p.base, items, None), to);
            }
        }
        let mut children = p.base.clone();
        children.extend(p.self_extra.iter().cloned());
        let items = self.items(occ, true, p, false, opts);
        if occ.role == Role::None {
            // Gone: every session gets the room's (unavailable) presence.
            let own = self.presence_with(&base, &children, items, Some(status(110)));
            self.send_to_occupant(occ, &own, out);
        } else {
            // Still in: each session's own presence is the template.
            for (real, pr) in &occ.sessions {
                let mut own = self.presence_with(pr, &children, items.clone(), Some(status(110)));
                own.set_attr("to", real.as_str());
                out.push(own);
            }
        }
    }

    /// Sends the session `to` the presence of every other occupant (before its own, on
    /// join), then absent affiliated users when role `none` is broadcast.
    pub fn send_occupant_list(
        &self,
        to: &str,
        to_bare: &str,
        to_role: Role,
        opts: &Options,
        out: &mut Outbox,
    ) {
        let aff = self.affiliation(to_bare, opts);
        let anonymous = !(self.sees_jids(to_role) || aff >= super::affiliation::Affiliation::Admin);
        for occ in &self.occupants {
            if occ.has_session(to) {
                continue;
            }
            if occ.bare_jid != to_bare && !self.config.broadcasts(occ.role) {
                continue;
            }
            let Some(base) = occ.primary_presence() else {
                continue;
            };
            let see = !anonymous || occ.bare_jid == to_bare;
            let items = self.items(occ, see, &Publish::default(), see, opts);
            let mut stanza = self.presence_with(base, &[], items, None);
            stanza.set_attr("to", to);
            out.push(stanza);
        }
        if self.config.broadcasts(Role::None) {
            for (jid, a) in &self.affiliations {
                if self.occupant_by_bare(jid).is_some() {
                    continue;
                }
                let nick = self.reserved_nick(jid);
                if nick.is_none() && anonymous {
                    continue;
                }
                let from = nick.map_or(self.jid.clone(), |n| self.nick_jid(n));
                let mut item = Element::new("item", MUC_USER)
                    .with_attr("affiliation", a.as_str())
                    .with_attr("role", "none");
                if let Some(n) = nick {
                    item.set_attr("nick", n);
                }
                if !anonymous {
                    item.set_attr("jid", jid.as_str());
                }
                out.push(
                    Element::new("presence", ns::CLIENT)
                        .with_attr("to", to)
                        .with_attr("from", from)
                        .with_attr("type", "unavailable")
                        .with_child(Element::new("x", MUC_USER).with_child(item)),
                );
            }
        }
    }
}
