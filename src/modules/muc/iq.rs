//! IQs to a room (disco, `muc#admin`, `muc#owner`, registration) and to an occupant:
//! XEP-0410 self-pings answered by the room, other IQs forwarded under an id that only
//! the room can map back (reference §13.6).

use super::outbox::Outbox;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::admin::MUC_ADMIN;
use super::bare;
use super::config_form::DATA;
use super::join::After;
use super::options::Options;
use super::room::Room;
use crate::modules::iq::result_for;
use crate::xml::Element;
use crate::xmpp::error::{StanzaCondition, StanzaError};
use crate::xmpp::ns;

pub const MUC_OWNER: &str = "http://jabber.org/protocol/muc#owner";

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

impl Room {
    /// The first 8 bytes of HMAC-SHA256(room salt, jid).
    fn jid_hash(&self, jid: &str) -> Vec<u8> {
        let salt = self.config.occupant_id_salt.as_deref().unwrap_or(&self.jid);
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(salt.as_bytes()) else {
            return Vec::new();
        };
        mac.update(jid.as_bytes());
        mac.finalize().into_bytes()[..8].to_vec()
    }

    pub fn handle_iq(
        &mut self,
        stanza: &Element,
        now: f64,
        opts: &Options,
        out: &mut Outbox,
    ) -> After {
        let itype = stanza.attr("type").unwrap_or("");
        if itype != "get" && itype != "set" {
            return After::Kept;
        }
        let Some(child) = stanza.child_elements().next() else {
            return After::Kept;
        };
        let from = stanza.attr("from").unwrap_or_default().to_owned();
        let reply = match (itype, child.name.as_str(), child.ns.as_str()) {
            ("get", "query", ns::DISCO_INFO) => match child.attr("node") {
                None | Some("") => result_for(stanza).with_child(self.disco_info(opts)),
                Some("x-roomuser-item") => {
                    let mut q =
                        Element::new("query", ns::DISCO_INFO).with_attr("node", "x-roomuser-item");
                    let mut id = Element::new("identity", ns::DISCO_INFO)
                        .with_attr("category", "conference")
                        .with_attr("type", "text");
                    if let Some(n) = self.reserved_nick(&bare(&from)) {
                        id.set_attr("name", n);
                    }
                    q.push_child(id);
                    result_for(stanza).with_child(q)
                }
                Some(n) => result_for(stanza)
                    .with_child(Element::new("query", ns::DISCO_INFO).with_attr("node", n)),
            },
            ("get", "query", ns::DISCO_ITEMS) => {
                result_for(stanza).with_child(Element::new("query", ns::DISCO_ITEMS))
            }
            ("get", "query", MUC_ADMIN) => self.admin_get(stanza, opts),
            ("set", "query", MUC_ADMIN) => self.admin_set(stanza, opts, out),
            ("get", "query", MUC_OWNER) => {
                if self.affiliation(&bare(&from), opts) != super::affiliation::Affiliation::Owner {
                    StanzaError::auth(StanzaCondition::Forbidden)
                        .with_text("Only owners can configure rooms")
                        .reply(stanza)
                } else {
                    result_for(stanza).with_child(
                        Element::new("query", MUC_OWNER).with_child(self.config_form(&from, opts)),
                    )
                }
            }
            ("set", "query", MUC_OWNER) => return self.owner_set(stanza, child, now, opts, out),
            (_, "query", ns::REGISTER) => self.register(stanza, opts, out),
            _ => StanzaError::cancel(StanzaCondition::ServiceUnavailable).reply(stanza),
        };
        out.push(reply);
        After::Kept
    }

    fn owner_set(
        &mut self,
        stanza: &Element,
        query: &Element,
        now: f64,
        opts: &Options,
        out: &mut Outbox,
    ) -> After {
        let from = stanza.attr("from").unwrap_or_default().to_owned();
        if self.affiliation(&bare(&from), opts) != super::affiliation::Affiliation::Owner {
            out.push(
                StanzaError::auth(StanzaCondition::Forbidden)
                    .with_text("Only owners can configure rooms")
                    .reply(stanza),
            );
            return After::Kept;
        }
        let Some(child) = query.child_elements().next() else {
            out.push(StanzaError::modify(StanzaCondition::BadRequest).reply(stanza));
            return After::Kept;
        };
        if child.name == "destroy" {
            let text = |n: &str| {
                child
                    .child_elements()
                    .find(|c| c.name == n)
                    .map(|c| c.text())
            };
            let newjid = child.attr("jid").map(str::to_owned);
            let reason = text("reason");
            let password = text("password");
            let mut told = Outbox::new();
            let after = self.destroy_room(newjid, reason, password, now, opts, &mut told);
            out.append(told);
            // The owner's answer comes after everyone's unavailable presence.
            out.push(result_for(stanza));
            return after;
        }
        if child.name == "x" && child.ns == DATA {
            match self.process_form(child, &from, opts, out) {
                Ok(msg) => {
                    out.push(result_for(stanza));
                    if let Some(msg) = msg {
                        self.broadcast(&msg, |_| true, out);
                    }
                }
                Err(error) => out.push(error.reply(stanza)),
            }
            if self.is_empty() && !self.config.persistent {
                return After::Emptied;
            }
            return After::Kept;
        }
        out.push(StanzaError::cancel(StanzaCondition::ServiceUnavailable).reply(stanza));
        After::Kept
    }

    /// `room:destroy(newjid, reason, password)`: everyone is told, `muc-room-destroyed`
    /// fires, and a persistent room leaves a tombstone when `muc_tombstones` is on.
    pub fn destroy_room(
        &mut self,
        newjid: Option<String>,
        reason: Option<String>,
        password: Option<String>,
        now: f64,
        opts: &Options,
        out: &mut Outbox,
    ) -> After {
        self.destroy(
            newjid.as_deref(),
            reason.as_deref(),
            password.as_deref(),
            opts,
            out,
        );
        self.events
            .push(super::room::MucEvent::new("muc-room-destroyed"));
        self.archive_tail.clear();
        if self.config.persistent && opts.tombstones {
            self.make_tombstone(now, reason, newjid, opts);
            return After::Kept;
        }
        self.config.persistent = false;
        After::Emptied
    }

    /// What is left of a destroyed persistent room (`muc_tombstones`).
    fn make_tombstone(
        &mut self,
        now: f64,
        reason: Option<String>,
        newjid: Option<String>,
        opts: &Options,
    ) {
        let salt = self.config.occupant_id_salt.take();
        self.config = super::room::RoomConfig {
            hidden: true,
            persistent: true,
            destroyed: true,
            locked: Some((now + opts.tombstone_expiry).floor()),
            reason,
            newjid,
            ..Default::default()
        };
        let _ = salt;
        self.affiliations.clear();
        self.affiliation_data.clear();
        self.history.clear();
    }

    /// An IQ to `room/nick`.
    pub fn handle_iq_to_occupant(&self, stanza: &Element, out: &mut Outbox) {
        let from = stanza.attr("from").unwrap_or_default();
        let to = stanza.attr("to").unwrap_or_default();
        let itype = stanza.attr("type").unwrap_or("");
        let target = self.occupant(to);
        if itype == "error" || itype == "result" {
            let Some(target) = target else { return };
            let Some((orig_from, orig_id, hash)) = decode_id(stanza.attr("id").unwrap_or(""))
            else {
                return;
            };
            if !(from == orig_from || from == bare(&orig_from)) {
                return;
            }
            let Some(sender_nick) = self.occupant_by_real(&orig_from).map(|o| o.nick.clone())
            else {
                return;
            };
            let Some(session) = target.real_jids().find(|j| self.jid_hash(j) == hash) else {
                return;
            };
            let mut s = stanza.clone();
            s.set_attr("from", sender_nick);
            s.set_attr("to", session);
            s.set_attr("id", orig_id);
            out.push(s);
            return;
        }
        let Some(me) = self.occupant_by_real(from) else {
            out.push(
                StanzaError::cancel(StanzaCondition::NotAcceptable)
                    .with_text("You are not currently connected to this chat")
                    .with_by(&self.jid)
                    .reply(stanza),
            );
            return;
        };
        let Some(target) = target else {
            out.push(
                StanzaError::cancel(StanzaCondition::ItemNotFound)
                    .with_text("Recipient not in room")
                    .with_by(&self.jid)
                    .reply(stanza),
            );
            return;
        };
        if to == me.nick && itype == "get" && stanza.get_child("ping", ns::PING).is_some() {
            out.push(result_for(stanza));
            return;
        }
        let mut raw = target.primary.clone().into_bytes();
        raw.push(0);
        raw.extend_from_slice(stanza.attr("id").unwrap_or("").as_bytes());
        raw.push(0);
        raw.extend_from_slice(&self.jid_hash(from));
        let mut s = stanza.clone();
        s.set_attr("id", b64().encode(raw));
        s.set_attr("from", me.nick.as_str());
        let payload_ns = stanza
            .child_elements()
            .next()
            .map(|c| c.ns.as_str())
            .unwrap_or("");
        let to_bare = matches!(
            payload_ns,
            "vcard-temp" | "http://jabber.org/protocol/pubsub" | "urn:ietf:params:xml:ns:vcard-4.0"
        );
        s.set_attr(
            "to",
            if to_bare {
                target.bare_jid.clone()
            } else {
                target.primary.clone()
            },
        );
        out.push(s);
    }
}

/// (sender full JID, original id, target session hash) from a forwarded IQ's id.
fn decode_id(id: &str) -> Option<(String, String, Vec<u8>)> {
    let raw = b64().decode(id).ok()?;
    let mut parts = raw.splitn(3, |b| *b == 0);
    let from = String::from_utf8(parts.next()?.to_vec()).ok()?;
    let orig = String::from_utf8(parts.next()?.to_vec()).ok()?;
    let hash = parts.next()?.to_vec();
    (!from.is_empty() && !hash.is_empty()).then_some((from, orig, hash))
}
