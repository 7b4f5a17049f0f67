//! mod_roster: `jabber:iq:roster` get (with roster versioning) and set, roster pushes to
//! interested resources (reference §9.5). The data model and Prosody's rostermanager
//! live in [`model`] and [`manager`]; presence subscriptions use the latter.

pub mod manager;
pub mod model;
pub mod save;

use std::rc::Rc;

use crate::core::{Bus, Core, Event, Origin};
use crate::modules::iq::result_for;
use crate::xml::Element;
use crate::xmpp::error::stanza_error_reply;
use crate::xmpp::jid::Jid;
use crate::xmpp::ns;

pub use model::{Roster, RosterItem, Subscription};

pub fn load(core: &mut Core, host: &str) {
    if let Some(h) = core.hosts.get_mut(host) {
        h.features.insert(ns::ROSTER.to_owned());
    }
    // Roster versioning (XEP-0237), offered on authenticated streams.
    core.shared.feature_hooks.add_static(
        host,
        "roster",
        crate::xml::Element::new("ver", ns::ROSTER_VER),
    );
    let bus = Bus::Host(host.to_owned());
    // Prosody loads the roster while binding; a cache miss later would also load it.
    core.hook(
        &bus,
        "resource-bind",
        100.0,
        Rc::new(|core, ev| {
            let (user, host) = session_user(core, ev)?;
            manager::load(core, &user, &host);
            None
        }),
    );
    core.hook(
        &bus,
        "iq/self/jabber:iq:roster:query",
        0.0,
        Rc::new(|core, ev| {
            let Origin::Session(sid) = ev.origin else {
                return None;
            };
            let stanza = ev.stanza.as_ref()?;
            let (user, host) = {
                let s = core.sessions.get(&sid)?;
                (s.username().to_owned(), s.host().to_owned())
            };
            if stanza.attr("type") == Some("get") {
                let reply = roster_get(core, &user, &host, stanza);
                core.reply(&ev.origin, reply);
                if let Some(s) = core.sessions.get_mut(&sid) {
                    s.interested = true;
                }
                return Some(true);
            }
            match set_outcome(core, sid, &user, &host, stanza) {
                Ok(contact) => {
                    // Acknowledged once durable; the core serves others meanwhile.
                    let (origin, stanza) = (ev.origin.clone(), stanza.clone());
                    let jid = format!("{user}@{host}");
                    save::when_saved(core, &jid, move |core, ok| {
                        if ok {
                            core.reply(&origin, result_for(&stanza));
                            manager::push(core, &user, &host, &contact);
                        } else {
                            let text = Some("Unable to save roster");
                            let reply =
                                stanza_error_reply(&stanza, "wait", "internal-server-error", text);
                            core.reply(&origin, reply);
                        }
                    });
                }
                Err((t, c, text)) => core.reply(&ev.origin, stanza_error_reply(stanza, t, c, text)),
            }
            Some(true)
        }),
    );
}

fn session_user(core: &Core, ev: &Event) -> Option<(String, String)> {
    let s = core.sessions.get(&ev.session?)?;
    Some((s.username().to_owned(), s.host().to_owned()))
}

fn roster_get(core: &mut Core, user: &str, host: &str, stanza: &Element) -> Element {
    let client_ver = stanza
        .child_elements()
        .next()
        .and_then(|q| q.attr("ver"))
        .and_then(|v| v.trim().parse::<f64>().ok());
    let mut reply = result_for(stanza);
    manager::with(core, user, host, |r| {
        let server_ver = r.client_version();
        if client_ver != Some(server_ver as f64) {
            let mut query =
                Element::new("query", ns::ROSTER).with_attr("ver", server_ver.to_string());
            for (jid, item) in &r.items {
                query.push_child(item.to_xml(jid));
            }
            reply.push_child(query);
        }
    });
    reply
}

type SetError = (&'static str, &'static str, Option<&'static str>);

/// Applies a roster set; the changed contact on success, the error to send otherwise.
fn set_outcome(
    core: &mut Core,
    sid: u64,
    user: &str,
    host: &str,
    stanza: &Element,
) -> Result<String, SetError> {
    let bad = ("modify", "bad-request", None);
    let query = stanza.child_elements().next().ok_or(bad)?;
    let mut items = query.child_elements();
    let item = match (items.next(), items.next()) {
        (Some(i), None) if i.name == "item" && i.ns == ns::ROSTER => i,
        _ => return Err(bad),
    };
    let raw = item.attr("jid").ok_or(bad)?;
    let jid = Jid::parse(raw).map_err(|_| bad)?;
    if jid.resource().is_some() {
        return Err(bad);
    }
    let contact = jid.to_string();
    if contact == format!("{user}@{host}") {
        return Err(("cancel", "not-allowed", None));
    }
    let existing = manager::with(core, user, host, |r| r.items.get(&contact).cloned());
    if item.attr("subscription") == Some("remove") {
        let Some(old) = existing else {
            return Err(("modify", "item-not-found", None));
        };
        crate::modules::presence::roster_item_removed(core, sid, &contact, &old);
        if !manager::remove_item(core, user, host, &contact) {
            return Err((
                "wait",
                "internal-server-error",
                Some("Unable to save roster"),
            ));
        }
        return Ok(contact);
    }
    let mut new = RosterItem {
        name: item
            .attr("name")
            .filter(|n| !n.is_empty())
            .map(str::to_owned),
        ..RosterItem::default()
    };
    if let Some(old) = existing {
        new.subscription = old.subscription;
        new.ask = old.ask;
        new.approved = old.approved;
    }
    for g in item
        .child_elements()
        .filter(|g| g.name == "group" && g.ns == ns::ROSTER)
    {
        if g.child_elements().next().is_none() {
            new.groups.insert(g.text());
        }
    }
    if !manager::add_item(core, user, host, &contact, new) {
        return Err((
            "wait",
            "internal-server-error",
            Some("Unable to save roster"),
        ));
    }
    Ok(contact)
}
