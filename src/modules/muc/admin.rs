//! Affiliation and role changes with Prosody's permission rules (reference §13.3), the
//! `muc#admin` queries (§13.8) and room destruction (§13.10).

use super::affiliation::{Affiliation, Role};
use super::broadcast::{status, Publish, MUC_USER};
use super::options::Options;
use super::outbox::Outbox;
use super::room::Room;
use super::{bare, resource};
use crate::modules::iq::result_for;
use crate::storage::lua_value::LuaTable;
use crate::xml::Element;
use crate::xmpp::error::{StanzaCondition, StanzaError};
use crate::xmpp::jid::{resourceprep, Jid};
use crate::xmpp::ns;

pub const MUC_ADMIN: &str = "http://jabber.org/protocol/muc#admin";

/// Why a change was refused: the stanza error to answer with (type and condition only).
pub type Refusal = StanzaError;

impl Room {
    /// `set_affiliation`: `actor` None = the system. `data` replaces the affiliation data.
    #[allow(clippy::too_many_arguments)]
    pub fn set_affiliation(
        &mut self,
        actor: Option<&str>,
        jid: &str,
        aff: Affiliation,
        reason: Option<&str>,
        data: Option<LuaTable>,
        opts: &Options,
        out: &mut Outbox,
    ) -> Result<(), Refusal> {
        let Ok(parsed) = Jid::parse(jid) else {
            return Err(StanzaError::modify(StanzaCondition::NotAcceptable));
        };
        let target = parsed.bare().to_string();
        let host_only = parsed.node().is_none();
        let current = self
            .affiliations
            .get(&target)
            .copied()
            .unwrap_or(Affiliation::None);
        let downgrade = current.rank() > aff.rank();
        if let Some(actor) = actor {
            let actor_aff = self.affiliation(&bare(actor), opts);
            if actor_aff == Affiliation::Owner {
                if bare(actor) == target && downgrade {
                    let other_owner = self
                        .affiliations
                        .iter()
                        .any(|(j, a)| *a == Affiliation::Owner && *j != target);
                    if !other_owner {
                        return Err(StanzaError::cancel(StanzaCondition::Conflict));
                    }
                }
            } else if matches!(aff, Affiliation::Owner | Affiliation::Admin)
                || actor_aff != Affiliation::Admin
                || matches!(current, Affiliation::Owner | Affiliation::Admin)
            {
                return Err(StanzaError::cancel(StanzaCondition::NotAllowed));
            }
        }
        if opts.admins_as_owners && opts.is_admin(&target) && aff != Affiliation::Owner {
            return Err(StanzaError::modify(StanzaCondition::NotAcceptable));
        }
        if aff == Affiliation::None {
            self.affiliations.remove(&target);
            self.affiliation_data.remove(&target);
        } else {
            self.affiliations.insert(target.clone(), aff);
            match data {
                Some(d) if d.is_empty() => {
                    self.affiliation_data.remove(&target);
                }
                Some(d) => {
                    self.affiliation_data.insert(target.clone(), d);
                }
                None => {}
            }
        }
        self.events.push(super::room::MucEvent {
            jid: Some(target.clone()),
            affiliation: Some(aff.as_str()),
            ..super::room::MucEvent::new("muc-set-affiliation")
        });
        let role = self.default_role_for(aff);
        let role_rank = role.map_or(0, Role::rank);
        let mut updated = Vec::new();
        for occ in &mut self.occupants {
            let matches = occ.bare_jid == target
                || (host_only
                    && aff == Affiliation::Outcast
                    && occ.bare_jid.split_once('@').map(|(_, d)| d) == Some(target.as_str()));
            if !matches {
                continue;
            }
            let old = occ.role;
            let new = role.unwrap_or(Role::None);
            if old != new && (downgrade || old.rank() < role_rank) {
                occ.role = new;
            }
            updated.push((occ.clone(), old));
        }
        let mut base = Vec::new();
        if role.is_none() {
            base.push(status(if aff == Affiliation::Outcast {
                301
            } else {
                321
            }));
        }
        let actor_nick = actor
            .and_then(|a| self.occupant_by_real(a))
            .map(|o| resource(&o.nick).to_owned());
        if updated.is_empty() {
            let mut item = Element::new("item", MUC_USER)
                .with_attr("affiliation", aff.as_str())
                .with_attr("jid", target.as_str());
            if let Some(r) = reason {
                item.push_child(Element::new("reason", MUC_USER).with_text(r));
            }
            let mut x = Element::new("x", MUC_USER);
            for b in &base {
                x.push_child(b.clone());
            }
            x.push_child(item);
            let msg = Element::new("message", ns::CLIENT)
                .with_attr("from", self.jid.as_str())
                .with_child(x);
            let semi = !self.config.whois_anyone;
            self.broadcast(&msg, |o| !semi || o.role == Role::Moderator, out);
        }
        for (occ, old) in updated {
            if occ.role == Role::None {
                self.remove_occupant(&occ.nick);
            }
            let publish = Publish {
                base: base.clone(),
                actor: actor.zip(actor_nick.as_deref()).map(|(j, n)| (n, j)),
                reason,
                prev_role: Some(old),
                ..Publish::default()
            };
            self.publicise(&occ, &publish, opts, out);
            let flipped = (old == Role::Moderator) != (occ.role == Role::Moderator);
            if occ.role != Role::None && !self.config.whois_anyone && flipped {
                for real in occ.real_jids() {
                    self.send_occupant_list(real, &occ.bare_jid, occ.role, opts, out);
                }
            }
        }
        Ok(())
    }

    /// `may_set_role` with the stock rules.
    fn may_set_role(
        &self,
        actor: &str,
        target_bare: &str,
        target_role: Role,
        role: Role,
        opts: &Options,
    ) -> Result<(), Refusal> {
        let actor_aff = self.affiliation(&bare(actor), opts);
        let target_aff = self.affiliation(target_bare, opts);
        if actor_aff < target_aff {
            return Err(StanzaError::cancel(StanzaCondition::NotAllowed));
        }
        if (target_role == Role::Moderator || role == Role::Moderator)
            && !matches!(actor_aff, Affiliation::Owner | Affiliation::Admin)
        {
            return Err(StanzaError::cancel(StanzaCondition::NotAllowed));
        }
        match self.occupant_by_real(actor) {
            Some(o) if o.role == Role::Moderator => Ok(()),
            _ => Err(StanzaError::cancel(StanzaCondition::NotAllowed)),
        }
    }

    /// `set_role` of the occupant `nick_jid`; role none kicks (307).
    pub fn set_role(
        &mut self,
        actor: Option<&str>,
        nick_jid: &str,
        role: Role,
        reason: Option<&str>,
        opts: &Options,
        out: &mut Outbox,
    ) -> Result<(), Refusal> {
        let Some(mut occ) = self.occupant(nick_jid).cloned() else {
            return Err(StanzaError::modify(StanzaCondition::ItemNotFound));
        };
        if let Some(a) = actor {
            self.may_set_role(a, &occ.bare_jid, occ.role, role, opts)?;
        }
        let actor_nick = actor
            .and_then(|a| self.occupant_by_real(a))
            .map(|o| resource(&o.nick).to_owned());
        let prev = occ.role;
        occ.role = role;
        if role == Role::None {
            self.remove_occupant(&occ.nick);
        } else {
            self.store(occ.clone());
        }
        let publish = Publish {
            base: if role == Role::None {
                vec![status(307)]
            } else {
                Vec::new()
            },
            actor: actor.zip(actor_nick.as_deref()).map(|(j, n)| (n, j)),
            reason,
            prev_role: Some(prev),
            ..Publish::default()
        };
        self.publicise(&occ, &publish, opts, out);
        Ok(())
    }

    /// `muc#admin` set: the first `<item/>` only.
    pub fn admin_set(&mut self, stanza: &Element, opts: &Options, out: &mut Outbox) -> Element {
        let query = stanza.child_elements().next();
        let Some(item) = query.and_then(|q| q.child_elements().next()) else {
            return StanzaError::cancel(StanzaCondition::BadRequest).reply(stanza);
        };
        let mut jid = None;
        if let Some(j) = item.attr("jid") {
            match Jid::parse(j) {
                Err(_) => return StanzaError::modify(StanzaCondition::JidMalformed).reply(stanza),
                Ok(p) if p.resource().is_some() => {
                    return StanzaError::modify(StanzaCondition::JidMalformed)
                        .with_text("Bare JID expected, got full JID")
                        .reply(stanza)
                }
                Ok(p) => jid = Some(p.to_string()),
            }
        }
        let mut nick = None;
        if let Some(n) = item.attr("nick") {
            match resourceprep(n) {
                Ok(n) => nick = Some(n),
                Err(_) => {
                    return StanzaError::modify(StanzaCondition::JidMalformed)
                        .with_text("invalid nickname")
                        .reply(stanza)
                }
            }
        }
        if jid.is_none() {
            if let Some(n) = &nick {
                jid = self.occupant(&self.nick_jid(n)).map(|o| o.bare_jid.clone());
            }
        } else if item.attr("role").is_some() && nick.is_none() {
            let j = jid.clone().unwrap_or_default();
            nick = self
                .occupant_by_bare(&j)
                .map(|o| resource(&o.nick).to_owned());
        }
        let actor = stanza.attr("from").unwrap_or_default().to_owned();
        let reason = item.get_child("reason", MUC_ADMIN).map(|r| r.text());
        let result = match (item.attr("affiliation"), item.attr("role"), &jid, &nick) {
            (Some(a), None, Some(j), _) => match Affiliation::parse(a) {
                None => Err(StanzaError::modify(StanzaCondition::NotAcceptable)),
                Some(aff) => {
                    let mut data = None;
                    if let Some(n) = &nick {
                        let nj = self.nick_jid(n);
                        if self.occupant(&nj).is_some_and(|o| o.bare_jid != *j) {
                            let _ = self.set_role(
                                None,
                                &nj,
                                Role::None,
                                Some("This nickname is reserved"),
                                opts,
                                out,
                            );
                        }
                        let mut t = LuaTable::new();
                        t.set("reserved_nickname", n.as_str());
                        data = Some(t);
                    }
                    self.set_affiliation(Some(&actor), j, aff, reason.as_deref(), data, opts, out)
                }
            },
            (None, Some(r), _, Some(n)) => match Role::parse(r) {
                None => Err(StanzaError::modify(StanzaCondition::NotAcceptable)),
                Some(role) => {
                    let nj = self.nick_jid(n);
                    self.set_role(Some(&actor), &nj, role, reason.as_deref(), opts, out)
                }
            },
            _ => Err(StanzaError::cancel(StanzaCondition::BadRequest)),
        };
        match result {
            Ok(()) => result_for(stanza),
            Err(error) => error.reply(stanza),
        }
    }

    /// `muc#admin` get: affiliation lists and role lists.
    pub fn admin_get(&self, stanza: &Element, opts: &Options) -> Element {
        let from = stanza.attr("from").unwrap_or_default();
        let own = self.affiliation(&bare(from), opts);
        let item = stanza
            .child_elements()
            .next()
            .and_then(|q| q.child_elements().next());
        let aff = item.and_then(|i| i.attr("affiliation"));
        let role = item.and_then(|i| i.attr("role"));
        match (aff.map(Affiliation::parse), role.map(Role::parse)) {
            (Some(Some(want)), None) => {
                let allowed = (own >= Affiliation::Admin && own >= want)
                    || (self.config.members_only
                        && self.config.whois_anyone
                        && own >= Affiliation::Member);
                if !allowed {
                    return StanzaError::auth(StanzaCondition::Forbidden).reply(stanza);
                }
                let mut q = Element::new("query", MUC_ADMIN);
                let list: Vec<&String> = if want == Affiliation::None {
                    Vec::new()
                } else {
                    self.affiliations
                        .iter()
                        .filter(|(_, a)| **a == want)
                        .map(|(j, _)| j)
                        .collect()
                };
                for j in list {
                    let mut it = Element::new("item", MUC_ADMIN)
                        .with_attr("affiliation", want.as_str())
                        .with_attr("jid", j.as_str());
                    if let Some(n) = self.reserved_nick(j) {
                        it.set_attr("nick", n);
                    }
                    q.push_child(it);
                }
                result_for(stanza).with_child(q)
            }
            (None, Some(Some(want))) => {
                let mine = self
                    .occupant_by_real(from)
                    .map(|o| o.role)
                    .or_else(|| self.default_role_for(own))
                    .unwrap_or(Role::None);
                if mine != Role::Moderator {
                    return StanzaError::auth(StanzaCondition::Forbidden).reply(stanza);
                }
                let mut q = Element::new("query", MUC_ADMIN);
                for occ in self
                    .occupants
                    .iter()
                    .filter(|o| o.role == want && want != Role::None)
                {
                    let a = self.affiliation(&occ.bare_jid, opts);
                    for real in occ.real_jids() {
                        q.push_child(
                            Element::new("item", MUC_ADMIN)
                                .with_attr("affiliation", a.as_str())
                                .with_attr("role", occ.role.as_str())
                                .with_attr("jid", real)
                                .with_attr("nick", resource(&occ.nick)),
                        );
                    }
                }
                result_for(stanza).with_child(q)
            }
            _ => StanzaError::cancel(StanzaCondition::BadRequest).reply(stanza),
        }
    }

    /// `destroy`: everyone gets an unavailable presence with `<destroy/>`.
    pub fn destroy(
        &mut self,
        newjid: Option<&str>,
        reason: Option<&str>,
        password: Option<&str>,
        opts: &Options,
        out: &mut Outbox,
    ) {
        let mut d = Element::new("destroy", MUC_USER);
        if let Some(j) = newjid {
            d.set_attr("jid", j);
        }
        if let Some(r) = reason {
            d.push_child(Element::new("reason", MUC_USER).with_text(r));
        }
        if let Some(p) = password {
            d.push_child(Element::new("password", MUC_USER).with_text(p));
        }
        // Everyone is out before anyone is told: each hears only of itself.
        let occupants = std::mem::take(&mut self.occupants);
        for occ in &occupants {
            self.events
                .push(super::room::MucEvent::occupant("muc-occupant-left", occ));
        }
        for mut occ in occupants {
            let prev = occ.role;
            occ.role = Role::None;
            let publish = Publish {
                base: vec![d.clone()],
                prev_role: Some(prev),
                ..Publish::default()
            };
            self.publicise(&occ, &publish, opts, out);
        }
    }
}
