//! Enforcement: stanzas from a blocked JID to the user are dropped (or bounced with
//! `service-unavailable`), and what the user sends to a blocked JID is refused with
//! `not-acceptable` + `<blocked xmlns='urn:xmpp:blocking:errors'/>`.

use std::rc::Rc;

use super::is_blocked;
use crate::core::{Bus, Core, Event, Origin};
use crate::xml::Element;
use crate::xmpp::error::{StanzaCondition, StanzaError};
use crate::xmpp::jid::Jid;

const ERRORS: &str = "urn:xmpp:blocking:errors";

pub fn hook(core: &mut Core, bus: &Bus) {
    for kind in ["bare", "full"] {
        core.hook(
            bus,
            &format!("presence/{kind}"),
            100.0,
            Rc::new(|core, ev| drop_inbound(core, ev).then_some(true)),
        );
        core.hook(
            bus,
            &format!("message/{kind}"),
            100.0,
            Rc::new(bounce_message),
        );
        core.hook(bus, &format!("iq/{kind}"), 100.0, Rc::new(bounce_iq));
    }
    for kind in ["bare", "full", "host"] {
        core.hook(
            bus,
            &format!("pre-message/{kind}"),
            100.0,
            Rc::new(bounce_outgoing),
        );
        core.hook(
            bus,
            &format!("pre-iq/{kind}"),
            100.0,
            Rc::new(bounce_outgoing),
        );
        // Outgoing presence to bare JIDs and hosts passes mod_presence's subscription
        // handling first, as in Prosody.
        let prio = if kind == "full" { 100.0 } else { -1.0 };
        core.hook(
            bus,
            &format!("pre-presence/{kind}"),
            prio,
            Rc::new(bounce_outgoing),
        );
    }
}

/// The recipient blocks the sender.
fn drop_inbound(core: &mut Core, ev: &Event) -> bool {
    let Some(stanza) = ev.stanza.as_ref() else {
        return false;
    };
    let (Some(to), Some(from)) = (stanza.attr("to"), stanza.attr("from")) else {
        return false;
    };
    let Ok(to) = Jid::parse(to) else { return false };
    let Some(user) = to.node() else { return false };
    let (user, host, from) = (user.to_owned(), to.domain().to_owned(), from.to_owned());
    is_blocked(core, &user, &host, &from)
}

fn bounce(core: &mut Core, ev: &Event) -> Option<bool> {
    if !drop_inbound(core, ev) {
        return None;
    }
    let stanza = ev.stanza.as_ref()?;
    core.reply(
        &ev.origin,
        StanzaError::cancel(StanzaCondition::ServiceUnavailable).reply(stanza),
    );
    Some(true)
}

fn bounce_iq(core: &mut Core, ev: &mut Event) -> Option<bool> {
    let t = ev.stanza.as_ref()?.attr("type");
    if matches!(t, Some("get" | "set")) {
        bounce(core, ev)
    } else {
        drop_inbound(core, ev).then_some(true)
    }
}

fn bounce_message(core: &mut Core, ev: &mut Event) -> Option<bool> {
    let stanza = ev.stanza.as_ref()?;
    match stanza.attr("type") {
        None | Some("chat" | "normal") => {
            // A message to an online full JID is dropped silently (Prosody issue #690).
            if stanza
                .attr("to")
                .is_some_and(|t| core.full_sessions.contains_key(t))
            {
                drop_inbound(core, ev).then_some(true)
            } else {
                bounce(core, ev)
            }
        }
        _ => drop_inbound(core, ev).then_some(true),
    }
}

/// The sender blocks the recipient.
fn drop_outgoing(core: &mut Core, ev: &Event) -> bool {
    let Some(stanza) = ev.stanza.as_ref() else {
        return false;
    };
    let Some(to) = stanza.attr("to") else {
        return false;
    };
    let user = match &ev.origin {
        Origin::Session(sid) => core
            .sessions
            .get(sid)
            .map(|s| (s.username().to_owned(), s.host().to_owned())),
        Origin::Host(_) => stanza
            .attr("from")
            .and_then(|f| Jid::parse(f).ok())
            .and_then(|j| Some((j.node()?.to_owned(), j.domain().to_owned()))),
    };
    let Some((user, host)) = user else {
        return false;
    };
    let to = to.to_owned();
    is_blocked(core, &user, &host, &to)
}

fn bounce_outgoing(core: &mut Core, ev: &mut Event) -> Option<bool> {
    let stanza = ev.stanza.as_ref()?;
    let t = stanza.attr("type");
    if t == Some("error") || (stanza.name == "iq" && t == Some("result")) {
        return drop_outgoing(core, ev).then_some(true);
    }
    if !drop_outgoing(core, ev) {
        return None;
    }
    let mut e = StanzaError::cancel(StanzaCondition::NotAcceptable)
        .with_text("You have blocked this JID")
        .reply(stanza);
    if let Some(err) = e.get_child_mut("error", crate::xmpp::ns::CLIENT) {
        err.push_child(Element::new("blocked", ERRORS));
    }
    core.reply(&ev.origin, e);
    Some(true)
}
