//! mod_vcard_legacy: vcard-temp (XEP-0054) served from and saved to PEP, as Prosody 0.12
//! does: the vCard becomes the `urn:xmpp:vcard4` node's item `current`, a `PHOTO` the
//! `urn:xmpp:avatar:data`/`metadata` items named by the image's SHA-1, all in Prosody's
//! own PEP files (see [`pep`]). Presence from local clients gets the XEP-0153
//! `vcard-temp:x:update` photo hash, and a vCard left in the old `vcard` store is moved to
//! PEP when its owner binds a resource (`upgrade_legacy_vcards`, default true).
//!
//! Only the storage side of PEP is here: Lilt has no pubsub module yet, so no
//! notifications are sent on publish.

pub mod convert;
pub mod pep;

use std::rc::Rc;

use crate::core::{Bus, Core};
use crate::modules::iq::result_for;
use crate::modules::lastactivity::is_contact_subscribed;
use crate::modules::private::preserialize::deserialize;
use crate::storage::{Storage, StorageError};
use crate::xml::Element;
use crate::xmpp::error::stanza_error_reply;
use crate::xmpp::jid::Jid;
use crate::xmpp::ns;
use convert::{
    to_vcard4, to_vcard_temp, Avatar, Sources, AVATAR_DATA, AVATAR_META, NICK, VCARD4_NODE,
};
use pep::Pep;

pub fn load(core: &mut Core, host: &str) {
    let bus = Bus::Host(host.to_owned());
    let h = host.to_owned();
    core.hook(
        &bus,
        &format!("iq-get/bare/{}:vCard", ns::VCARD),
        0.0,
        Rc::new(move |core, ev| {
            let stanza = ev.stanza.as_ref()?;
            let me = core.origin_username(&ev.origin)?;
            let owner = stanza
                .attr("to")
                .and_then(|t| Jid::parse(t).ok())
                .and_then(|j| j.node().map(str::to_owned))
                .unwrap_or_else(|| me.clone());
            let requester = format!("{me}@{h}");
            let vcard = read_vcard(&core.shared.store, &h, &owner, &requester);
            core.reply(&ev.origin, result_for(stanza).with_child(vcard));
            Some(true)
        }),
    );

    let h = host.to_owned();
    core.hook(
        &bus,
        &format!("iq-set/self/{}:vCard", ns::VCARD),
        0.0,
        Rc::new(move |core, ev| {
            let stanza = ev.stanza.as_ref()?;
            let me = core.origin_username(&ev.origin)?;
            let temp = stanza.child_elements().next()?;
            let pep = Pep {
                store: &core.shared.store,
                host: &h,
                user: &me,
            };
            let (vcard4, avatar) = to_vcard4(temp);
            let reply = match save(&pep, Some(&vcard4), Some(avatar)) {
                Ok(()) => result_for(stanza),
                Err(_) => stanza_error_reply(stanza, "wait", "internal-server-error", None),
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
                let stanza = ev.stanza.as_mut()?;
                if stanza.attr("type").is_some() {
                    return None;
                }
                let hash = Pep {
                    store: &core.shared.store,
                    host: &h,
                    user: &user,
                }
                .last_item(AVATAR_META)
                .map(|(id, _)| id);
                inject_photo(stanza, hash.as_deref());
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
                let user = core.sessions.get(&ev.session?)?.username().to_owned();
                if let Err(e) = migrate(&core.shared.store, &h, &user) {
                    tracing::info!("Failed to migrate vCard-temp to PEP for {user}@{h}: {e}");
                }
                None
            }),
        );
    }
    if let Some(h) = core.hosts.get_mut(host) {
        h.features.insert(ns::VCARD.to_owned());
    }
}

/// Whether `requester` (a bare JID) may read `node` of `owner`.
fn may_read(pep: &Pep<'_>, node: &str, requester: &str) -> bool {
    if requester == format!("{}@{}", pep.user, pep.host) {
        return true;
    }
    match pep.access_model(node).as_deref() {
        Some("open") => true,
        Some("presence") => is_contact_subscribed(pep.store, pep.host, pep.user, requester),
        _ => false,
    }
}

/// The vcard-temp view of `owner`'s PEP data as `requester` may see it.
pub fn read_vcard(store: &Storage, host: &str, owner: &str, requester: &str) -> Element {
    let pep = Pep {
        store,
        host,
        user: owner,
    };
    let get = |node: &str| {
        may_read(&pep, node, requester)
            .then(|| pep.last_item(node))
            .flatten()
    };
    let vcard4 = get(VCARD4_NODE);
    let nick = if vcard4.is_none() { get(NICK) } else { None };
    let meta = get(AVATAR_META);
    let data = meta.as_ref().and_then(|(id, m)| {
        let info = m.get_child("info", AVATAR_META)?;
        if info.attr("url").is_some() || !may_read(&pep, AVATAR_DATA, requester) {
            return None;
        }
        pep.item(AVATAR_DATA, info.attr("id").unwrap_or(id))
    });
    to_vcard_temp(&Sources {
        vcard4: vcard4.as_ref().map(|(_, e)| e),
        nick: nick
            .as_ref()
            .and_then(|(_, e)| e.get_child("nick", NICK).or(Some(e))),
        avatar_meta: meta.as_ref().map(|(_, e)| e),
        avatar_data: data.as_ref(),
    })
}

/// Prosody's save_to_pep: the avatar nodes are replaced whenever `avatar` is given (a
/// vCard without photo clears them), then the vCard4 item `current` is published.
fn save(
    pep: &Pep<'_>,
    vcard4: Option<&Element>,
    avatar: Option<Option<Avatar>>,
) -> Result<(), StorageError> {
    if let Some(avatar) = avatar {
        if pep.purge(AVATAR_META)? {
            pep.purge(AVATAR_DATA)?;
        }
        if let Some(a) = avatar {
            pep.publish(AVATAR_DATA, &a.hash, &a.data)?;
            pep.publish(AVATAR_META, &a.hash, &a.meta)?;
        }
    }
    if let Some(v) = vcard4 {
        pep.publish(VCARD4_NODE, "current", v)?;
    }
    Ok(())
}

/// Moves a vCard left in the `vcard` store (mod_vcard's) to PEP unless PEP already has
/// that data, then empties the old store.
pub fn migrate(store: &Storage, host: &str, user: &str) -> Result<(), StorageError> {
    let Some(old) = store.get(host, Some(user), crate::modules::vcard::STORE)? else {
        return Ok(());
    };
    let pep = Pep { store, host, user };
    if let Some(temp) = deserialize(&old) {
        let (v4, avatar) = to_vcard4(&temp);
        let vcard4 = pep.last_item(VCARD4_NODE).is_none().then_some(v4);
        let has_avatar =
            pep.last_item(AVATAR_META).is_some() || pep.last_item(AVATAR_DATA).is_some();
        let avatar = (!has_avatar).then_some(avatar);
        if vcard4.is_some() || avatar.is_some() {
            save(&pep, vcard4.as_ref(), avatar)?;
        }
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
