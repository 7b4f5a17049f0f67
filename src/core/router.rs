//! Stanza routing with Prosody's semantics (reference §4.2–4.6): validation of what a
//! bound client sent, `from` stamping, `to` prep, the `pre-*` and `<kind>/<to_type>`
//! events, and the answers for stanzas nobody handled.

use std::sync::Arc;

use super::{Bus, Core, Event, Origin, SessionId};
use crate::xml::Element;
use crate::xmpp::error::{stanza_error_reply, stream_error};
use crate::xmpp::jid::Jid;
use crate::xmpp::ns;

/// Entry point for every element a bound client session sent: its Lua `stanzas/in`
/// filters (if any) run first; stanzas for filtered sessions go out at the end.
pub fn process_stanza(core: &mut Core, session: SessionId, stanza: Element) {
    if let Some(stanza) = crate::lua::filters::inbound(core, session, stanza) {
        process_filtered(core, session, stanza);
    }
    crate::lua::flush_filtered(core);
}

fn process_filtered(core: &mut Core, session: SessionId, mut stanza: Element) {
    let Some(sess) = core.sessions.get(&session) else {
        return;
    };
    let full_jid = sess.full_jid.clone();
    let host = sess.host.clone();
    let origin = Origin::Session(session);

    let routable =
        stanza.ns == ns::CLIENT && matches!(stanza.name.as_str(), "message" | "presence" | "iq");
    if !routable {
        // Namespaced stream-level elements (and stray top-level names) go to
        // `stanza/<xmlns>:<name>`; nobody handling them ends the stream.
        let name = if stanza.ns.is_empty() {
            format!("stanza/{}", stanza.name)
        } else {
            format!("stanza/{}:{}", stanza.ns, stanza.name)
        };
        let mut ev = Event::stanza(origin, stanza);
        if core.fire(&Bus::Host(host), &name, &mut ev).is_none() {
            core.close_session(
                session,
                Some(stream_error("unsupported-stanza-type", None, None)),
            );
        }
        return;
    }

    let stype = stanza.attr("type").unwrap_or("").to_owned();
    if stype == "error" && stanza.child_elements().next().is_none() {
        return;
    }
    if stanza.name == "iq" {
        if !matches!(stype.as_str(), "get" | "set" | "result" | "error") {
            let e = stanza_error_reply(&stanza, "modify", "bad-request", Some("Invalid IQ type"));
            core.reply(&origin, e);
            return;
        }
        if stanza.attr("id").is_none() {
            let e = stanza_error_reply(
                &stanza,
                "modify",
                "bad-request",
                Some("Missing required 'id' attribute"),
            );
            core.reply(&origin, e);
            return;
        }
        if (stype == "get" || stype == "set") && stanza.child_elements().count() != 1 {
            let e = stanza_error_reply(
                &stanza,
                "modify",
                "bad-request",
                Some("Incorrect number of children for IQ stanza"),
            );
            core.reply(&origin, e);
            return;
        }
    }
    stanza.set_attr("from", full_jid);

    if let Some(to) = stanza.attr("to").map(str::to_owned) {
        match Jid::parse(&to) {
            Ok(j) => {
                let prepped = j.to_string();
                if prepped != to {
                    stanza.set_attr("to", prepped);
                }
            }
            Err(_) => {
                if stype != "error" && stype != "result" {
                    let text = format!("The destination address is invalid: {to}");
                    let e = stanza_error_reply(&stanza, "modify", "jid-malformed", Some(&text));
                    core.reply(&origin, e);
                }
                return;
            }
        }
    }
    post_stanza(core, origin, stanza, true);
}

/// Prosody's `core_post_stanza`: works out the target and fires the routing events.
pub fn post_stanza(core: &mut Core, origin: Origin, mut stanza: Element, preevents: bool) {
    let origin_host = match &origin {
        Origin::Session(id) => match core.sessions.get(id) {
            Some(s) => s.host.clone(),
            None => return,
        },
        Origin::Host(h) => h.clone(),
    };
    let origin_bare = match &origin {
        Origin::Session(id) => core.sessions.get(id).map(|s| s.bare_jid.clone()),
        Origin::Host(_) => None,
    };

    let mut to_self = false;
    let (to_type, target_host) = match stanza.attr("to").map(str::to_owned) {
        None => {
            to_self = true;
            ("/bare", origin_host.clone())
        }
        Some(to) => {
            if origin_bare.as_deref() == Some(to.as_str()) {
                stanza.remove_attr("to");
                to_self = true;
            }
            match Jid::parse(&to) {
                Ok(j) => {
                    let kind = match (j.node(), j.resource()) {
                        (Some(_), Some(_)) => "/full",
                        (Some(_), None) => "/bare",
                        (None, _) => "/host",
                    };
                    (kind, j.domain().to_owned())
                }
                Err(_) => return,
            }
        }
    };
    let name = stanza.name.clone();

    if preevents {
        let bus = Bus::Host(origin_host.clone());
        let pre_name = format!("pre-{name}{to_type}");
        let any_pre = core
            .hosts
            .get(&origin_host)
            .map(|h| h.events.has_handlers("pre-stanza") || h.events.has_handlers(&pre_name))
            .unwrap_or(false);
        if any_pre {
            let mut ev = Event::stanza(origin.clone(), stanza);
            ev.to_self = to_self;
            if core.fire(&bus, "pre-stanza", &mut ev).is_some() {
                return;
            }
            if core.fire(&bus, &pre_name, &mut ev) == Some(true) {
                return;
            }
            stanza = ev
                .stanza
                .take()
                .expect("handlers leave the stanza in place");
        }
    }

    if !core.is_local_host(&target_host) {
        route_remote(core, &origin, stanza);
        return;
    }
    let bus = Bus::Host(target_host);
    let mut ev = Event::stanza(origin.clone(), stanza);
    ev.to_self = to_self;
    let event_name = format!("{name}{to_type}");
    if core.fire(&bus, &event_name, &mut ev).is_some() {
        return;
    }
    if to_self && core.fire(&bus, &format!("{name}/self"), &mut ev).is_some() {
        return;
    }
    if let Some(stanza) = ev.stanza.take() {
        unhandled(core, &origin, &stanza);
    }
}

/// §4.6: nobody handled a routable stanza.
pub fn unhandled(core: &mut Core, origin: &Origin, stanza: &Element) {
    let stype = stanza.attr("type").unwrap_or("");
    if stype == "error" || (stanza.name == "iq" && stype == "result") {
        return;
    }
    let e = stanza_error_reply(stanza, "cancel", "service-unavailable", None);
    core.reply(origin, e);
}

/// No federation yet: remote domains get Prosody's answer when s2s is not loaded.
fn route_remote(core: &mut Core, origin: &Origin, stanza: Element) {
    let stype = stanza.attr("type").unwrap_or("");
    if stype == "error" || stype == "result" {
        return;
    }
    let e = stanza_error_reply(
        &stanza,
        "cancel",
        "not-allowed",
        Some("Communication with remote domains is not enabled"),
    );
    core.reply(origin, e);
}

/// Delivers a stanza to one session, sharing the tree.
pub fn deliver(core: &Core, session: SessionId, stanza: Arc<Element>) -> bool {
    core.send_to(session, stanza)
}
