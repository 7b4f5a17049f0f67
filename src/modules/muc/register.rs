//! Room registration (`jabber:iq:register` to a room, reference §13.11): reserving a
//! nick, which makes the registrant a member.

use super::affiliation::Affiliation;
use super::config_form::{values, Field, DATA};
use super::options::Options;
use super::outbox::Outbox;
use super::room::Room;
use super::{bare, resource};
use crate::modules::iq::result_for;
use crate::storage::lua_value::LuaTable;
use crate::xml::Element;
use crate::xmpp::error::{StanzaCondition, StanzaError};
use crate::xmpp::jid::resourceprep;
use crate::xmpp::ns;

const REGISTER_FORM: &str = "http://jabber.org/protocol/muc#register";
const ROOMNICK: &str = "muc#register_roomnick";

fn form(kind: &str) -> Element {
    let mut x = Element::new("x", DATA).with_attr("type", kind);
    x.push_child(
        Field::new(Some("FORM_TYPE"), "hidden", None)
            .value(REGISTER_FORM)
            .done(),
    );
    let mut nick = Field::new(Some(ROOMNICK), "text-single", Some("Nickname")).done();
    nick.push_child(Element::new("required", DATA));
    x.push_child(nick);
    x
}

impl Room {
    pub fn register(&mut self, stanza: &Element, opts: &Options, out: &mut Outbox) -> Element {
        let from = stanza.attr("from").unwrap_or_default();
        let who = bare(from);
        let aff = self.affiliation(&who, opts);
        if aff == Affiliation::Outcast {
            return StanzaError::auth(StanzaCondition::Forbidden).reply(stanza);
        }
        if aff == Affiliation::None && !opts.allow_unaffiliated_register {
            return StanzaError::auth(StanzaCondition::RegistrationRequired).reply(stanza);
        }
        let query = stanza.child_elements().next();
        if stanza.attr("type") == Some("get") {
            let mut q = Element::new("query", ns::REGISTER);
            match self.reserved_nick(&who) {
                Some(n) => {
                    q.push_child(Element::new("registered", ns::REGISTER));
                    q.push_child(Element::new("username", ns::REGISTER).with_text(n));
                }
                None => q.push_child(form("form")),
            }
            return result_for(stanza).with_child(q);
        }
        let query = query.expect("an IQ set has one child (checked by the router)");
        if query.get_child("remove", ns::REGISTER).is_some() {
            if aff == Affiliation::Member {
                let _ = self.set_affiliation(None, &who, Affiliation::None, None, None, opts, out);
            } else {
                self.affiliation_data.remove(&who);
            }
            return result_for(stanza);
        }
        let Some(x) = query.get_child("x", DATA) else {
            return StanzaError::modify(StanzaCondition::BadRequest)
                .with_text("Missing dataform")
                .reply(stanza);
        };
        let fields = values(x);
        let nick = fields
            .iter()
            .find(|(k, _)| k == ROOMNICK)
            .and_then(|(_, v)| v.first().cloned());
        let Some(nick) = nick
            .and_then(|n| resourceprep(&n).ok())
            .filter(|n| !n.is_empty())
        else {
            return StanzaError::modify(StanzaCondition::BadRequest)
                .with_text("Invalid Nickname")
                .reply(stanza);
        };
        let taken = self
            .occupant(&self.nick_jid(&nick))
            .is_some_and(|o| o.bare_jid != who)
            || self.nick_reserved_by(&nick).is_some_and(|j| j != who);
        if taken {
            return StanzaError::cancel(StanzaCondition::Conflict).reply(stanza);
        }
        let mut data = self
            .affiliation_data
            .get(&who)
            .cloned()
            .unwrap_or_else(LuaTable::new);
        data.set("reserved_nickname", nick.as_str());
        let keep = if aff >= Affiliation::Member {
            aff
        } else {
            Affiliation::Member
        };
        let _ = self.set_affiliation(None, &who, keep, None, Some(data), opts, out);
        let _ = resource;
        result_for(stanza)
    }
}
