//! Service discovery (reference §13.2, §13.9): the service's identity and features and
//! its public rooms; a room's features and `muc#roominfo` form, in Prosody's order.

use super::config_form::{Field, DATA};
use super::options::Options;
use super::room::Room;
use crate::xml::Element;
use crate::xmpp::ns;

const ROOMINFO: &str = "http://jabber.org/protocol/muc#roominfo";

fn feature(var: &str) -> Element {
    Element::new("feature", ns::DISCO_INFO).with_attr("var", var)
}

/// The service's disco#info query.
pub fn service_info(opts: &Options) -> Element {
    let mut q = Element::new("query", ns::DISCO_INFO).with_child(
        Element::new("identity", ns::DISCO_INFO)
            .with_attr("category", "conference")
            .with_attr("type", "text")
            .with_attr("name", opts.name.as_str()),
    );
    q.push_child(feature("http://jabber.org/protocol/commands"));
    if opts.occupant_id {
        q.push_child(feature(super::broadcast::OCCUPANT_ID));
    }
    for f in [
        "http://jabber.org/protocol/muc",
        ns::DISCO_INFO,
        ns::DISCO_ITEMS,
        "http://jabber.org/protocol/muc#unique",
    ] {
        q.push_child(feature(f));
    }
    q
}

impl Room {
    /// A room's disco#info query (no node).
    pub fn disco_info(&self, opts: &Options) -> Element {
        let c = &self.config;
        let mut q = Element::new("query", ns::DISCO_INFO);
        q.push_child(feature("http://jabber.org/protocol/muc#request"));
        q.push_child(feature(if c.persistent {
            "muc_persistent"
        } else {
            "muc_temporary"
        }));
        q.push_child(feature(if c.moderated {
            "muc_moderated"
        } else {
            "muc_unmoderated"
        }));
        q.push_child(feature(if c.members_only {
            "muc_membersonly"
        } else {
            "muc_open"
        }));
        let secured = c.password.as_deref().is_some_and(|p| !p.is_empty());
        q.push_child(feature(if secured {
            "muc_passwordprotected"
        } else {
            "muc_unsecured"
        }));
        q.push_child(feature(ns::REGISTER));
        q.push_child(feature(if c.hidden { "muc_hidden" } else { "muc_public" }));
        q.push_child(feature("http://jabber.org/protocol/muc"));
        q.push_child(feature("http://jabber.org/protocol/muc#stable_id"));
        q.push_child(feature(
            "http://jabber.org/protocol/muc#self-ping-optimization",
        ));
        if opts.occupant_id {
            q.push_child(feature(super::broadcast::OCCUPANT_ID));
        }
        if opts.mam.is_some() {
            if self.archiving(opts) {
                q.push_child(feature(super::mam::NS));
                q.push_child(feature(super::mam::NS_EXTENDED));
            }
            q.push_child(feature(super::mam::SID));
        }
        let mut identity = Element::new("identity", ns::DISCO_INFO)
            .with_attr("category", "conference")
            .with_attr("type", "text");
        if let Some(n) = &c.name {
            identity.set_attr("name", n.as_str());
        }
        q.push_child(identity);
        q.push_child(feature(if c.whois_anyone {
            "muc_nonanonymous"
        } else {
            "muc_semianonymous"
        }));
        let mut x = Element::new("x", DATA).with_attr("type", "result");
        x.push_child(
            Field::new(Some("FORM_TYPE"), "hidden", None)
                .value(ROOMINFO)
                .done(),
        );
        x.push_child(
            Field::new(
                Some("{http://prosody.im/protocol/muc}roomconfig_allowmemberinvites"),
                "boolean",
                Some("Allow members to invite new members"),
            )
            .flag(Some(c.allow_member_invites))
            .done(),
        );
        x.push_child(
            Field::new(
                Some("muc#roomconfig_allowinvites"),
                "boolean",
                Some("Allow users to invite other users"),
            )
            .flag(Some(!c.members_only || c.allow_member_invites))
            .done(),
        );
        x.push_child(
            Field::new(
                Some("muc#roominfo_occupants"),
                "text-single",
                Some("Number of occupants"),
            )
            .value(&self.occupants.len().to_string())
            .done(),
        );
        let mut lang = Field::new(Some("muc#roominfo_lang"), "text-single", None);
        if let Some(l) = &c.language {
            lang = lang.value(l);
        }
        x.push_child(lang.done());
        x.push_child(
            Field::new(
                Some("muc#roominfo_description"),
                "text-single",
                Some("Description"),
            )
            .value(c.description.as_deref().unwrap_or(""))
            .done(),
        );
        x.push_child(
            Field::new(Some("muc#roomconfig_changesubject"), "boolean", None)
                .flag(c.changesubject.then_some(true))
                .done(),
        );
        let mut name = Field::new(
            Some("muc#roomconfig_roomname"),
            "text-single",
            Some("Title"),
        );
        if let Some(n) = &c.name {
            name = name.value(n);
        }
        x.push_child(name.done());
        q.push_child(x);
        q
    }
}
