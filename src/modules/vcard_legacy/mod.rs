//! mod_vcard_legacy: vcard-temp (XEP-0054) served from and saved to PEP, as Prosody 0.12
//! does: the vCard becomes the `urn:xmpp:vcard4` node's item `current`, a `PHOTO` the
//! `urn:xmpp:avatar:data`/`metadata` items named by the image's SHA-1, published through
//! the account's PEP service (so contacts get the notifications). Presence from local
//! clients gets the XEP-0153 `vcard-temp:x:update` photo hash, and a vCard left in the
//! old `vcard` store is moved to PEP when its owner binds a resource
//! (`upgrade_legacy_vcards`, default true). Loads mod_pep, as Prosody's depends does.

pub mod convert;

use std::rc::Rc;

use crate::core::{Bus, Core};
use crate::modules::disco::account::AccountDisco;
use crate::modules::iq::result_for;
use crate::modules::pep::with_service;
use crate::modules::private::preserialize::deserialize;
use crate::modules::pubsub::config::{ConfigMap, Value};
use crate::modules::pubsub::error::PubsubError;
use crate::modules::pubsub::service::{Relations, Service, PUBSUB};
use crate::xml::Element;
use crate::xmpp::error::{StanzaCondition, StanzaError};
use crate::xmpp::jid::Jid;
use crate::xmpp::ns;
use convert::{
    to_vcard4, to_vcard_temp, Avatar, Sources, AVATAR_DATA, AVATAR_META, NICK, VCARD4_NODE,
};

pub fn load(core: &mut Core, host: &str) {
    crate::modules::pep::depend(core, host);
    let bus = Bus::Host(host.to_owned());
    let h = host.to_owned();
    core.hook(
        &bus,
        &format!("iq-get/bare/{}:vCard", ns::VCARD),
        0.0,
        Rc::new(move |core, ev| {
            let stanza = ev.stanza.as_ref()?.clone();
            let me = core.origin_username(&ev.origin);
            let owner = stanza
                .attr("to")
                .and_then(|t| Jid::parse(t).ok())
                .and_then(|j| j.node().map(str::to_owned))
                .or(me)?;
            let requester = stanza.attr("from").unwrap_or_default().to_owned();
            let vcard = with_service(core, &h, &owner, |s, rel| read_vcard(s, rel, &requester));
            core.reply(&ev.origin, result_for(&stanza).with_child(vcard));
            Some(true)
        }),
    );

    let h = host.to_owned();
    core.hook(
        &bus,
        &format!("iq-set/self/{}:vCard", ns::VCARD),
        0.0,
        Rc::new(move |core, ev| {
            let stanza = ev.stanza.as_ref()?.clone();
            let me = core.origin_username(&ev.origin)?;
            let actor = stanza.attr("from").unwrap_or_default().to_owned();
            let temp = stanza.child_elements().next()?.clone();
            let (vcard4, avatar) = to_vcard4(&temp);
            let result = with_service(core, &h, &me, |s, rel| {
                save(s, rel, Some(&actor), Some(&vcard4), Some(avatar))
            });
            let reply = match result {
                Ok(()) => result_for(&stanza),
                Err(PubsubError::Forbidden) => {
                    StanzaError::auth(StanzaCondition::Forbidden).reply(&stanza)
                }
                Err(PubsubError::Storage) => {
                    StanzaError::wait(StanzaCondition::InternalServerError).reply(&stanza)
                }
                Err(_) => StanzaError::modify(StanzaCondition::UndefinedCondition).reply(&stanza),
            };
            core.reply(&ev.origin, reply);
            Some(true)
        }),
    );

    for kind in ["full", "bare", "host"] {
        let h = host.to_owned();
        core.hook(
            &bus,
            &format!("pre-presence/{kind}"),
            1.0,
            Rc::new(move |core, ev| {
                let user = core.origin_username(&ev.origin)?;
                if ev.stanza.as_ref()?.attr("type").is_some() {
                    return None;
                }
                let hash =
                    crate::modules::pep::with_service_as_server(core, &h, &user, |s, rel| {
                        s.get_last_item(AVATAR_META, None, rel).ok().flatten()
                    })
                    .map(|i| i.id);
                inject_photo(ev.stanza.as_mut()?, hash.as_deref());
                None
            }),
        );
    }

    let upgrade = core
        .shared
        .config
        .host(host)
        .boolean("upgrade_legacy_vcards")
        .unwrap_or(true);
    if upgrade {
        let h = host.to_owned();
        core.hook(
            &bus,
            "resource-bind",
            0.0,
            Rc::new(move |core, ev| {
                let s = core.sessions.get(&ev.session?)?;
                let (user, gate) = (s.username().to_owned(), Some(s.tx.gate()));
                // The session's first answers wait for the PEP writes (core::hold).
                let migrated = crate::core::hold::handling(gate, || migrate(core, &h, &user));
                if let Err(e) = migrated {
                    tracing::info!("Failed to migrate vCard-temp to PEP for {user}@{h}: {e}");
                }
                None
            }),
        );
    }
    core.hook(
        &bus,
        "account-disco-info",
        0.0,
        Rc::new(|core, _| {
            let q = core.state::<AccountDisco>().query()?;
            q.push_child(
                Element::new("feature", ns::DISCO_INFO)
                    .with_attr("var", "urn:xmpp:pep-vcard-conversion:0"),
            );
            None
        }),
    );
    if let Some(h) = core.hosts.get_mut(host) {
        h.features.insert(ns::VCARD.to_owned());
    }
}

/// What mod_vcard_legacy publishes with: open access for nodes it creates, never a
/// precondition on existing ones.
fn node_defaults() -> ConfigMap {
    let mut c = ConfigMap::new();
    c.insert("access_model".into(), "open".into());
    c.insert("_defaults_only".into(), Value::Bool(true));
    c
}

fn last(s: &Service, rel: &dyn Relations, node: &str, requester: &str) -> Option<Element> {
    s.get_last_item(node, Some(requester), rel)
        .ok()
        .flatten()
        .map(|i| i.payload)
}

/// The vcard-temp view of the service's PEP data as `requester` may see it.
pub fn read_vcard(s: &Service, rel: &dyn Relations, requester: &str) -> Element {
    let vcard4 = last(s, rel, VCARD4_NODE, requester);
    let nick = if vcard4.is_none() {
        last(s, rel, NICK, requester)
    } else {
        None
    };
    let meta_item = s
        .get_last_item(AVATAR_META, Some(requester), rel)
        .ok()
        .flatten();
    let data = meta_item.as_ref().and_then(|m| {
        let info = m.payload.get_child("info", AVATAR_META)?;
        if info.attr("url").is_some() {
            return None;
        }
        let id = info.attr("id").unwrap_or(&m.id).to_owned();
        s.get_items(AVATAR_DATA, Some(requester), Some(&[id]), None, rel)
            .ok()?
            .into_iter()
            .next()
            .map(|i| i.payload)
    });
    to_vcard_temp(&Sources {
        vcard4: vcard4.as_ref(),
        nick: nick
            .as_ref()
            .and_then(|e| e.get_child("nick", NICK).or(Some(e))),
        avatar_meta: meta_item.as_ref().map(|i| &i.payload),
        avatar_data: data.as_ref(),
    })
}

fn item(id: &str, payload: &Element) -> Element {
    Element::new("item", PUBSUB)
        .with_attr("id", id)
        .with_child(payload.clone())
}

/// Prosody's save_to_pep: the avatar nodes are replaced whenever `avatar` is given (a
/// vCard without photo clears them), then the vCard4 item `current` is published.
fn save(
    s: &mut Service,
    rel: &dyn Relations,
    actor: Option<&str>,
    vcard4: Option<&Element>,
    avatar: Option<Option<Avatar>>,
) -> Result<(), PubsubError> {
    if let Some(avatar) = avatar {
        if s.purge(AVATAR_META, actor, true, rel).is_ok() {
            let _ = s.purge(AVATAR_DATA, actor, true, rel);
        }
        if let Some(a) = avatar {
            s.publish(
                AVATAR_DATA,
                actor,
                &a.hash,
                Some(&item(&a.hash, &a.data)),
                Some(node_defaults()),
                rel,
            )?;
            s.publish(
                AVATAR_META,
                actor,
                &a.hash,
                Some(&item(&a.hash, &a.meta)),
                Some(node_defaults()),
                rel,
            )?;
        }
    }
    if let Some(v) = vcard4 {
        s.publish(
            VCARD4_NODE,
            actor,
            "current",
            Some(&item("current", v)),
            Some(node_defaults()),
            rel,
        )?;
    }
    Ok(())
}

/// Moves a vCard left in the `vcard` store (mod_vcard's) to PEP unless PEP already has
/// that data, then empties the old store.
pub fn migrate(
    core: &mut Core,
    host: &str,
    user: &str,
) -> Result<(), crate::storage::StorageError> {
    let store = core.shared.store.clone();
    let Some(old) = store.get(host, Some(user), crate::modules::vcard::STORE)? else {
        return Ok(());
    };
    if let Some(temp) = deserialize(&old) {
        let (v4, avatar) = to_vcard4(&temp);
        with_service(core, host, user, |s, rel| {
            let has = |s: &Service, n: &str| s.get_last_item(n, None, rel).ok().flatten().is_some();
            let vcard4 = (!has(s, VCARD4_NODE)).then_some(v4);
            let has_avatar = has(s, AVATAR_META) || has(s, AVATAR_DATA);
            let avatar = (!has_avatar).then_some(avatar);
            if vcard4.is_some() || avatar.is_some() {
                let _ = save(s, rel, None, vcard4.as_ref(), avatar);
            }
        });
    }
    store.set(host, Some(user), crate::modules::vcard::STORE, None)
}

/// XEP-0153: `<x xmlns='vcard-temp:x:update'><photo>hash</photo></x>`, leaving a client's
/// own photo element alone.
fn inject_photo(stanza: &mut Element, hash: Option<&str>) {
    const UPDATE: &str = "vcard-temp:x:update";
    let photo = || {
        let p = Element::new("photo", UPDATE);
        match hash {
            Some(h) => p.with_text(h),
            None => p,
        }
    };
    match stanza.get_child_mut("x", UPDATE) {
        Some(x) if x.get_child("photo", UPDATE).is_some() => {}
        Some(x) => x.push_child(photo()),
        None => stanza.push_child(Element::new("x", UPDATE).with_child(photo())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_gets_the_avatar_hash_unless_the_client_set_a_photo() {
        let mut p = Element::new("presence", ns::CLIENT);
        inject_photo(&mut p, Some("abc"));
        assert_eq!(
            p.to_xml(),
            "<presence xmlns='jabber:client'><x xmlns='vcard-temp:x:update'><photo>abc</photo></x></presence>"
        );
        let mut own = Element::new("presence", ns::CLIENT).with_child(
            Element::new("x", "vcard-temp:x:update")
                .with_child(Element::new("photo", "vcard-temp:x:update").with_text("mine")),
        );
        inject_photo(&mut own, Some("abc"));
        assert!(own.to_xml().contains("<photo>mine</photo>") && !own.to_xml().contains("abc"));
        let mut none = Element::new("presence", ns::CLIENT);
        inject_photo(&mut none, None);
        assert!(none.to_xml().contains("<photo/>"), "{}", none.to_xml());
    }
}
