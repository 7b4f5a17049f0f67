//! mod_vcard4 (XEP-0292, reference §14.6): `<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'>`
//! IQs to a bare JID read the last item of the account's `urn:xmpp:vcard4` PEP node; a
//! set to oneself publishes it as item `current` with plain PEP defaults.

use std::rc::Rc;

use crate::core::{Bus, Core};
use crate::modules::disco::account::AccountDisco;
use crate::modules::iq::result_for;
use crate::modules::pep::with_service;
use crate::modules::pubsub::error::PubsubError;
use crate::modules::pubsub::service::PUBSUB;
use crate::xml::Element;
use crate::xmpp::error::{StanzaCondition, StanzaError};
use crate::xmpp::ns;

pub const VCARD4: &str = "urn:ietf:params:xml:ns:vcard-4.0";
const NODE: &str = "urn:xmpp:vcard4";

pub fn load(core: &mut Core, host: &str) {
    crate::modules::pep::depend(core, host);
    let bus = Bus::Host(host.to_owned());
    core.hook(
        &bus,
        "account-disco-info",
        0.0,
        Rc::new(|core, _| {
            let q = core.state::<AccountDisco>().query()?;
            q.push_child(Element::new("feature", ns::DISCO_INFO).with_attr("var", VCARD4));
            None
        }),
    );
    let h = host.to_owned();
    core.hook(
        &bus,
        &format!("iq-get/bare/{VCARD4}:vcard"),
        0.0,
        Rc::new(move |core, ev| {
            let stanza = ev.stanza.clone()?;
            let owner = match stanza.attr("to") {
                Some(to) => to.split_once('@')?.0.to_owned(),
                None => core.origin_username(&ev.origin)?,
            };
            let from = stanza.attr("from").unwrap_or_default().to_owned();
            let got = with_service(core, &h, &owner, |s, rel| {
                s.get_last_item(NODE, Some(&from), rel)
            });
            let reply = match got {
                Ok(Some(item)) => result_for(&stanza).with_child(item.payload),
                Ok(None) | Err(PubsubError::ItemNotFound) => {
                    StanzaError::cancel(StanzaCondition::ItemNotFound).reply(&stanza)
                }
                Err(PubsubError::Forbidden) => {
                    StanzaError::auth(StanzaCondition::Forbidden).reply(&stanza)
                }
                Err(_) => StanzaError::modify(StanzaCondition::UndefinedCondition).reply(&stanza),
            };
            core.reply(&ev.origin, reply);
            Some(true)
        }),
    );
    let h = host.to_owned();
    core.hook(
        &bus,
        &format!("iq-set/self/{VCARD4}:vcard"),
        0.0,
        Rc::new(move |core, ev| {
            let stanza = ev.stanza.clone()?;
            let me = core.origin_username(&ev.origin)?;
            let from = stanza.attr("from").unwrap_or_default().to_owned();
            let vcard = stanza.child_elements().next()?.clone();
            let item = Element::new("item", PUBSUB)
                .with_attr("id", "current")
                .with_child(vcard);
            let r = with_service(core, &h, &me, |s, rel| {
                s.publish(NODE, Some(&from), "current", Some(&item), None, rel)
            });
            let reply = match r {
                Ok(()) => result_for(&stanza),
                Err(PubsubError::Forbidden) => {
                    StanzaError::auth(StanzaCondition::Forbidden).reply(&stanza)
                }
                Err(e) => StanzaError::modify(StanzaCondition::UndefinedCondition)
                    .with_text(e.to_string())
                    .reply(&stanza),
            };
            core.reply(&ev.origin, reply);
            Some(true)
        }),
    );
}
