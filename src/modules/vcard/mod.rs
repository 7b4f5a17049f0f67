//! mod_vcard: XEP-0054 vcard-temp kept as stanzas in the `vcard` store, one file per
//! account (the host's own vCard in the host-level file). Anyone may read a vCard, only
//! the owner may set it. Prosody drops this module when `vcard_legacy` is enabled too;
//! the config's module set already does that.

use std::rc::Rc;

use crate::core::{Bus, Core};
use crate::modules::iq::result_for;
use crate::modules::private::preserialize::{deserialize, preserialize, Xmlns};
use crate::storage::{call, executor, Storage};
use crate::xml::Element;
use crate::xmpp::error::{StanzaCondition, StanzaError};
use crate::xmpp::jid::Jid;
use crate::xmpp::ns;

/// The store name Prosody uses.
pub const STORE: &str = "vcard";

pub fn load(core: &mut Core, host: &str) {
    let bus = Bus::Host(host.to_owned());
    for kind in ["bare", "host"] {
        let host_name = host.to_owned();
        core.hook(
            &bus,
            &format!("iq/{kind}/{}:vCard", ns::VCARD),
            0.0,
            Rc::new(move |core, ev| {
                let stanza = ev.stanza.as_ref()?.clone();
                let me = core.origin_username(&ev.origin)?;
                // On the storage executor, in order with other work on the vCard it reads
                // or writes; the asker's answers wait for it (a set is answered durable).
                let owner = owner(&stanza, &me);
                let key = executor::key(&host_name, owner.as_deref(), STORE);
                let (host, origin) = (host_name.clone(), ev.origin.clone());
                call::spawn_held(
                    core,
                    &ev.origin,
                    key,
                    move |st| handle(st, &host, &me, &stanza),
                    move |core, reply| core.reply(&origin, reply),
                );
                Some(true)
            }),
        );
    }
    if let Some(h) = core.hosts.get_mut(host) {
        h.features.insert(ns::VCARD.to_owned());
    }
}

/// Whose vCard a request reads or writes (`None`: the host's own).
fn owner(stanza: &Element, me: &str) -> Option<String> {
    match stanza.attr("to") {
        Some(t) => Jid::parse(t).ok().and_then(|j| j.node().map(str::to_owned)),
        None => Some(me.to_owned()),
    }
}

/// Answers a vCard IQ (on the storage executor).
fn handle(store: &Storage, host: &str, me: &str, stanza: &Element) -> Element {
    let to = stanza.attr("to");
    if stanza.attr("type") == Some("get") {
        // To the host: its own (host-level) vCard.
        let user = owner(stanza, me);
        let found = store.get(host, user.as_deref(), STORE).ok().flatten();
        return match found.as_ref().and_then(deserialize) {
            Some(vcard) => result_for(stanza).with_child(vcard),
            None => StanzaError::cancel(StanzaCondition::ItemNotFound).reply(stanza),
        };
    }
    if to.is_some() {
        return StanzaError::auth(StanzaCondition::Forbidden).reply(stanza);
    }
    let Some(vcard) = stanza.child_elements().next() else {
        return StanzaError::modify(StanzaCondition::BadRequest).reply(stanza);
    };
    match store.set(
        host,
        Some(me),
        STORE,
        Some(&preserialize(vcard, Xmlns::Every)),
    ) {
        Ok(()) => result_for(stanza),
        Err(_) => StanzaError::wait(StanzaCondition::InternalServerError).reply(stanza),
    }
}
