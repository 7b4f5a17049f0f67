//! mod_presence: a client's own presence broadcast, directed presence, presence to the
//! host, and unavailable presence when a session goes (reference §4.5). Roster-based
//! subscriptions build on this in the roster module.

use std::rc::Rc;
use std::sync::Arc;

use crate::core::{Bus, Core, Event, Origin, SessionId};
use crate::modules::iq::result_for;
use crate::xml::Element;
use crate::xmpp::error::stanza_error_reply;
use crate::xmpp::ns;

pub fn load(core: &mut Core, host: &str) {
    let bus = Bus::Host(host.to_owned());
    core.hook(&bus, "presence/bare", -1.0, Rc::new(|core, ev| {
        let stanza = ev.stanza.as_ref()?;
        if ev.to_self && stanza.attr("to").is_none() {
            if let Origin::Session(sid) = ev.origin {
                own_broadcast(core, sid, ev);
                return Some(true);
            }
        }
        let to = stanza.attr("to")?.to_owned();
        let targets: Vec<SessionId> = core
            .bare_sessions
            .get(&to)
            .map(|l| {
                l.iter()
                    .copied()
                    .filter(|id| core.sessions.get(id).is_some_and(|s| s.presence.is_some()))
                    .collect()
            })
            .unwrap_or_default();
        let shared = Arc::new(stanza.clone());
        for sid in targets {
            core.send_to(sid, shared.clone());
        }
        Some(true)
    }));
    core.hook(&bus, "presence/full", -1.0, Rc::new(|core, ev| {
        let stanza = ev.stanza.as_ref()?;
        if let Some(&sid) = stanza.attr("to").and_then(|t| core.full_sessions.get(t)) {
            core.send_to(sid, Arc::new(stanza.clone()));
        }
        Some(true)
    }));
    core.hook(&bus, "presence/host", -1.0, Rc::new(|core, ev| {
        let stanza = ev.stanza.as_ref()?;
        let ptype = stanza.attr("type").unwrap_or("");
        let mut reply = result_for(stanza);
        reply.name = "presence".into();
        reply.remove_attr("id");
        reply.remove_attr("type");
        match ptype {
            "probe" => core.reply(&ev.origin, reply),
            "subscribe" => {
                let mut subscribed = reply.clone();
                subscribed.set_attr("type", "subscribed");
                core.reply(&ev.origin, subscribed);
                core.reply(&ev.origin, reply);
            }
            _ => {}
        }
        Some(true)
    }));
    core.hook(&bus, "resource-unbind", -1.0, Rc::new(|core, ev| {
        let sid = ev.session?;
        let s = core.sessions.get(&sid)?;
        s.presence.as_ref()?;
        let mut unavailable = Element::new("presence", ns::CLIENT)
            .with_attr("type", "unavailable")
            .with_attr("from", s.full_jid.as_str());
        if let Some(err) = &ev.error {
            unavailable.push_child(
                Element::new("status", ns::CLIENT).with_text(format!("Disconnected: {err}")),
            );
        }
        let bare = s.bare_jid.clone();
        broadcast_to_own(core, &bare, Some(sid), Arc::new(unavailable));
        if let Some(s) = core.sessions.get_mut(&sid) {
            s.presence = None;
        }
        None
    }));
}

fn broadcast_to_own(core: &Core, bare: &str, except: Option<SessionId>, stanza: Arc<Element>) {
    if let Some(list) = core.bare_sessions.get(bare) {
        for id in list {
            if Some(*id) != except {
                core.send_to(*id, stanza.clone());
            }
        }
    }
}

/// A client's presence with no `to`: update its state and tell its own resources.
fn own_broadcast(core: &mut Core, sid: SessionId, ev: &mut Event) {
    let Some(stanza) = ev.stanza.as_ref() else { return };
    let ptype = stanza.attr("type").unwrap_or("").to_owned();
    if !ptype.is_empty() && ptype != "unavailable" {
        let e = stanza_error_reply(stanza, "modify", "bad-request", Some("Invalid presence type"));
        core.reply(&ev.origin, e);
        return;
    }
    let Some(sess) = core.sessions.get(&sid) else { return };
    let bare = sess.bare_jid.clone();
    let initial = sess.presence.is_none() && ptype.is_empty();
    let priority = stanza
        .get_child("priority", ns::CLIENT)
        .and_then(|p| p.text().trim().parse::<i64>().ok())
        .map(|p| p.clamp(-128, 127) as i8)
        .unwrap_or(0);
    let shared = Arc::new(stanza.clone());
    if initial {
        // Replay the other resources' presence to the newcomer.
        let others: Vec<Arc<Element>> = core
            .bare_sessions
            .get(&bare)
            .map(|l| {
                l.iter()
                    .filter(|id| **id != sid)
                    .filter_map(|id| core.sessions.get(id).and_then(|s| s.presence.clone()))
                    .collect()
            })
            .unwrap_or_default();
        for p in others {
            core.send_to(sid, p);
        }
    }
    if let Some(s) = core.sessions.get_mut(&sid) {
        if ptype.is_empty() {
            s.presence = Some(shared.clone());
            s.priority = priority;
        } else {
            s.presence = None;
        }
    }
    let mut reflected = (*shared).clone();
    let full = core.sessions.get(&sid).map(|s| s.full_jid.clone()).unwrap_or_default();
    reflected.set_attr("from", full);
    broadcast_to_own(core, &bare, None, Arc::new(reflected));
    if initial {
        let mut e = Event::for_session(sid);
        e.stanza = Some((*shared).clone());
        let host = core.sessions.get(&sid).map(|s| s.host.clone()).unwrap_or_default();
        core.fire(&Bus::Host(host), "presence/initial", &mut e);
    }
}
