//! mod_register: account management for logged-in users (Prosody's
//! mod_user_account_management) — `jabber:iq:register` to oneself (or, with
//! `registration_compat`, to the host) reads the registration, changes the password, or
//! removes the account, which ends all of its sessions. Registration before login is in
//! [`ibr`].

pub mod ibr;

use std::rc::Rc;

use crate::core::{Bus, Core, Origin};
use crate::modules::iq::result_for;
use crate::storage::{call, executor};
use crate::xml::Element;
use crate::xmpp::error::{StanzaCondition, StanzaError, StreamCondition, StreamError};
use crate::xmpp::jid::nodeprep;
use crate::xmpp::ns;

pub fn load(core: &mut Core, host: &str) {
    let bus = Bus::Host(host.to_owned());
    let compat = core
        .shared
        .config
        .host(host)
        .boolean("registration_compat")
        .unwrap_or(true);
    let mut kinds = vec!["self"];
    if compat {
        kinds.push("host");
    }
    for kind in kinds {
        core.hook(
            &bus,
            &format!("iq/{kind}/{}:query", ns::REGISTER),
            0.0,
            Rc::new(move |core, ev| {
                let stanza = ev.stanza.as_ref()?;
                let Origin::Session(sid) = ev.origin else {
                    return None;
                };
                let sess = core.sessions.get(&sid)?;
                if kind == "host" && stanza.attr("to") != Some(sess.host()) {
                    return None;
                }
                let (user, host) = (sess.username().to_owned(), sess.host().to_owned());
                handle(core, &ev.origin, &user, &host, stanza);
                Some(true)
            }),
        );
    }
    if let Some(h) = core.hosts.get_mut(host) {
        h.features.insert(ns::REGISTER.to_owned());
    }
}

fn handle(core: &mut Core, origin: &Origin, user: &str, host: &str, stanza: &Element) {
    let r = ns::REGISTER;
    let Some(query) = stanza.get_child("query", r) else {
        return;
    };
    if stanza.attr("type") == Some("get") {
        let q = Element::new("query", r)
            .with_child(Element::new("registered", r))
            .with_child(Element::new("username", r).with_text(user))
            .with_child(Element::new("password", r));
        core.reply(origin, result_for(stanza).with_child(q));
        return;
    }
    if query
        .child_elements()
        .next()
        .is_some_and(|c| c.name == "remove")
    {
        remove(core, origin, user, host, stanza);
        return;
    }
    let username = query.get_child("username", r).map(Element::text);
    let password = query.get_child("password", r).map(Element::text);
    let reply = match (username, password) {
        (Some(u), Some(p)) if nodeprep(&u).ok().as_deref() == Some(user) => {
            // On the storage executor; answered (and the session's later answers sent)
            // once the new password is durable.
            let (shared, h, u, request) = (
                core.shared.clone(),
                host.to_owned(),
                user.to_owned(),
                stanza.clone(),
            );
            let o = origin.clone();
            call::spawn_held(
                core,
                origin,
                executor::key(host, Some(user), "accounts"),
                move |_| shared.accounts.set_password(&h, &u, &p).is_ok(),
                move |core, ok| {
                    let reply = match ok {
                        true => result_for(&request),
                        false => {
                            StanzaError::wait(StanzaCondition::InternalServerError).reply(&request)
                        }
                    };
                    core.reply(&o, reply);
                },
            );
            return;
        }
        _ => StanzaError::modify(StanzaCondition::BadRequest).reply(stanza),
    };
    core.reply(origin, reply);
}

/// `<remove/>`: deletes the account, then (as Prosody's usermanager) fires `user-deleted`
/// and purges its stores, each on the storage executor with the session's answers held;
/// the answer goes out before the streams close.
fn remove(core: &mut Core, origin: &Origin, user: &str, host: &str, stanza: &Element) {
    let (shared, h, u) = (core.shared.clone(), host.to_owned(), user.to_owned());
    let (origin, request) = (origin.clone(), stanza.clone());
    let (host, user) = (host.to_owned(), user.to_owned());
    call::spawn_held(
        core,
        &origin.clone(),
        executor::key(&host, Some(&user), "accounts"),
        move |_| shared.accounts.delete(&h, &u).map_err(|e| e.to_string()),
        move |core, result| {
            if let Err(e) = result {
                tracing::error!("Could not delete the account {user}@{host}: {e}");
                let e = StanzaError::cancel(StanzaCondition::ServiceUnavailable)
                    .with_text(crate::storage::error::SAVE_FAILED)
                    .reply(&request);
                return core.reply(&origin, e);
            }
            tracing::info!("User removed their account: {user}@{host}");
            crate::lua::events::user_deleted(core, &host, &user);
            crate::modules::pep::delete_user(core, &host, &user);
            let (h, u) = (host.clone(), user.clone());
            call::spawn_held(
                core,
                &origin.clone(),
                executor::key(&host, Some(&user), "accounts"),
                move |st| st.purge(&h, &u),
                move |core, purged| {
                    if let Err(e) = purged {
                        tracing::warn!("Could not remove all data of {user}@{host}: {e}");
                    }
                    removed(core, &origin, &user, &host, &request);
                },
            );
        },
    );
}

/// The account is gone: the answer, then its streams are closed.
fn removed(core: &mut Core, origin: &Origin, user: &str, host: &str, stanza: &Element) {
    core.reply(origin, result_for(stanza));
    if let Origin::Session(sid) = origin {
        crate::lua::events::user_deregistered(core, host, user, *sid);
    }
    let bare = format!("{user}@{host}");
    let sessions = core.bare_sessions.get(&bare).cloned().unwrap_or_default();
    for id in sessions {
        core.close_session(
            id,
            Some(
                StreamError::new(StreamCondition::NotAuthorized)
                    .with_text("Account deleted")
                    .element(),
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn purge_removes_the_users_files_in_every_store_and_nobody_elses() {
        let dir = tempfile::tempdir().expect("tempdir");
        let host = dir.path().join("example%2etest");
        for store in ["roster", "vcard", "pep_urn%3axmpp%3avcard4"] {
            std::fs::create_dir_all(host.join(store)).expect("mkdir");
        }
        std::fs::write(host.join("roster/al%2ece.dat"), "return {};").expect("write");
        std::fs::write(host.join("vcard/al%2ece.dat"), "return {};").expect("write");
        std::fs::write(host.join("pep_urn%3axmpp%3avcard4/al%2ece.list"), "").expect("write");
        std::fs::write(host.join("roster/bob.dat"), "return {};").expect("write");
        std::fs::write(host.join("accounts.dat"), "return {};").expect("write");
        crate::storage::Storage::internal(dir.path().to_path_buf())
            .purge("example.test", "al.ce")
            .expect("purge");
        assert!(!host.join("roster/al%2ece.dat").exists());
        assert!(!host.join("vcard/al%2ece.dat").exists());
        assert!(!host.join("pep_urn%3axmpp%3avcard4/al%2ece.list").exists());
        assert!(host.join("roster/bob.dat").exists());
        assert!(host.join("accounts.dat").exists());
    }
}
