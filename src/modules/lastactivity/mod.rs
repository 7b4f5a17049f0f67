//! mod_lastactivity: XEP-0012 `jabber:iq:last` sent to an account's bare JID answers how
//! long ago that account last went offline, with its last status text. Like Prosody 0.12
//! the record lives in memory only (Prosody keeps it across module reloads, not across
//! restarts); the answer goes to the account itself and to contacts that have a
//! subscription to it (`from`/`both` in the account's `roster` store), others get
//! `forbidden`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::core::{Bus, Core};
use crate::modules::iq::result_for;
use crate::storage::lua_value::LuaValue;
use crate::storage::Storage;
use crate::xml::Element;
use crate::xmpp::error::{StanzaCondition, StanzaError};
use crate::xmpp::jid::Jid;
use crate::xmpp::ns;

/// When (Unix seconds) and with which status an account last went offline.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Last {
    when: i64,
    status: Option<String>,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Prosody's `rostermanager.is_contact_subscribed`: whether `contact` (a bare JID) has a
/// subscription to `username`'s presence, from the stored roster.
pub fn is_contact_subscribed(store: &Storage, host: &str, username: &str, contact: &str) -> bool {
    let Ok(Some(LuaValue::Table(roster))) = store.get(host, Some(username), "roster") else {
        return false;
    };
    roster
        .field(contact)
        .and_then(LuaValue::as_table)
        .and_then(|item| item.field("subscription"))
        .and_then(LuaValue::as_str)
        .is_some_and(|s| s == "from" || s == "both")
}

pub fn load(core: &mut Core, host: &str) {
    let bus = Bus::Host(host.to_owned());
    let map: Rc<RefCell<HashMap<String, Last>>> = Rc::default();

    let m = map.clone();
    core.hook(
        &bus,
        "pre-presence/bare",
        10.0,
        Rc::new(move |core, ev| {
            let stanza = ev.stanza.as_ref()?;
            if stanza.attr("to").is_none() && stanza.attr("type") == Some("unavailable") {
                let user = core.origin_username(&ev.origin)?;
                let status = stanza.get_child("status", ns::CLIENT).map(|s| s.text());
                m.borrow_mut().insert(
                    user,
                    Last {
                        when: now(),
                        status,
                    },
                );
            }
            None
        }),
    );

    // A connection that ends while available sends Prosody's "Disconnected: .." presence
    // through the same path; ours comes straight to resource-unbind.
    let m = map.clone();
    core.hook(
        &bus,
        "resource-unbind",
        10.0,
        Rc::new(move |core, ev| {
            let sess = core.sessions.get(&ev.session?)?;
            if sess.presence.is_some() {
                let status = ev.error.as_ref().map(|e| format!("Disconnected: {e}"));
                m.borrow_mut().insert(
                    sess.username().to_owned(),
                    Last {
                        when: now(),
                        status,
                    },
                );
            }
            None
        }),
    );

    let host_name = host.to_owned();
    core.hook(
        &bus,
        &format!("iq-get/bare/{}:query", ns::LAST),
        0.0,
        Rc::new(move |core, ev| {
            let stanza = ev.stanza.as_ref()?;
            let me = core.origin_username(&ev.origin)?;
            let to = stanza.attr("to").and_then(|t| Jid::parse(t).ok());
            let username = to
                .as_ref()
                .and_then(|j| j.node().map(str::to_owned))
                .unwrap_or(me);
            let from_bare = stanza
                .attr("from")
                .and_then(|f| Jid::parse(f).ok())
                .map(|j| j.bare().to_string())
                .unwrap_or_default();
            let (request, origin, map) = (stanza.clone(), ev.origin.clone(), map.clone());
            let (h, u) = (host_name.clone(), username.clone());
            let key = crate::storage::executor::key(&host_name, Some(&username), "roster");
            let answer = move |core: &mut Core, allowed: bool| {
                let reply = if allowed {
                    let last = map.borrow().get(&username).cloned();
                    last_reply(
                        &request,
                        last.as_ref().map(|l| (now() - l.when, l.status.as_deref())),
                    )
                } else {
                    StanzaError::auth(StanzaCondition::Forbidden).reply(&request)
                };
                core.reply(&origin, reply);
            };
            if to.is_none() {
                answer(core, true);
                return Some(true);
            }
            // The subscription is read from the stored roster, on the storage executor
            // (after any roster save queued before it).
            crate::storage::call::spawn(
                core,
                key,
                move |st| is_contact_subscribed(st, &h, &u, &from_bare),
                answer,
            );
            Some(true)
        }),
    );
    if let Some(h) = core.hosts.get_mut(host) {
        h.features.insert(ns::LAST.to_owned());
    }
}

/// The answer: `seconds` ago with the status text, or `0` and no text when unknown.
fn last_reply(stanza: &Element, last: Option<(i64, Option<&str>)>) -> Element {
    let (secs, text) = last.unwrap_or((0, None));
    let mut q = Element::new("query", ns::LAST).with_attr("seconds", secs.max(0).to_string());
    if let Some(t) = text.filter(|t| !t.is_empty()) {
        q = q.with_text(t);
    }
    result_for(stanza).with_child(q)
}
