//! mod_message: delivery of messages to local users by type (reference §4.5).

use std::rc::Rc;
use std::sync::Arc;

use crate::core::bind::top_resources;
use crate::core::events::Handler;
use crate::core::{Bus, Core, Event};
use crate::xmpp::error::{StanzaCondition, StanzaError};
use crate::xmpp::jid::Jid;

/// The `message/full` handler all hosts share, so that a module about to fire that
/// event only for it (a room's fan-out to its occupants) can tell nothing else is hooked.
#[derive(Default)]
pub struct FullDelivery(pub Option<Handler>);

pub fn load(core: &mut Core, host: &str) {
    let bus = Bus::Host(host.to_owned());
    let full = core
        .state::<FullDelivery>()
        .0
        .get_or_insert_with(|| Rc::new(to_full))
        .clone();
    core.hook(&bus, "message/full", -1.0, full);
    core.hook(&bus, "message/bare", -1.0, Rc::new(to_bare));
}

fn to_full(core: &mut Core, ev: &mut Event) -> Option<bool> {
    let stanza = ev.stanza.as_ref()?;
    let to = stanza.attr("to").unwrap_or("");
    if let Some(&sid) = core.full_sessions.get(to) {
        // The event stops here, so the stanza moves on instead of being copied.
        let stanza = ev.stanza.take()?;
        core.send_to(sid, Arc::new(stanza));
        return Some(true);
    }
    // Offline resource: handled as if sent to the bare JID.
    to_bare(core, ev)
}

fn target_bare(core: &Core, ev: &Event) -> Option<(String, String, String)> {
    let stanza = ev.stanza.as_ref()?;
    let to = match stanza.attr("to") {
        Some(to) => to,
        None => stanza.attr("from")?,
    };
    // A bound user's bare JID was built from prepared parts: split it, skip stringprep.
    if core.bare_sessions.contains_key(to) {
        let (node, domain) = to.split_once('@')?;
        return Some((to.to_owned(), node.to_owned(), domain.to_owned()));
    }
    let jid = Jid::parse(to).ok()?;
    let node = jid.node()?.to_owned();
    let domain = jid.domain().to_owned();
    Some((format!("{node}@{domain}"), node, domain))
}

fn to_bare(core: &mut Core, ev: &mut Event) -> Option<bool> {
    let (bare, node, domain) = target_bare(core, ev)?;
    let stanza = ev.stanza.as_ref()?;
    let mtype = stanza.attr("type").unwrap_or("normal").to_owned();
    match mtype.as_str() {
        "error" => return Some(true),
        "groupchat" => {
            if user_exists(core, &node, &domain) {
                let bus = Bus::Host(domain);
                if core.fire(&bus, "message/bare/groupchat", ev).is_some() {
                    return Some(true);
                }
            }
            let e =
                StanzaError::cancel(StanzaCondition::ServiceUnavailable).reply(ev.stanza.as_ref()?);
            core.reply(&ev.origin, e);
            return Some(true);
        }
        "headline" => {
            // Only when addressed to the bare JID itself: a message to oneself has lost
            // its `to` in routing, and Prosody drops it then too.
            if stanza.attr("to").is_some_and(|t| !t.contains('/')) {
                let shared = Arc::new(stanza.clone());
                for sid in available_non_negative(core, &bare) {
                    core.send_to(sid, shared.clone());
                }
            }
            return Some(true);
        }
        _ => {}
    }
    let tops = top_resources(core, &bare);
    if let [sid] = tops[..] {
        // The event stops here, so the stanza moves on instead of being copied.
        let stanza = ev.stanza.take()?;
        core.send_to(sid, Arc::new(stanza));
        return Some(true);
    }
    if !tops.is_empty() {
        let shared = Arc::new(stanza.clone());
        for sid in tops {
            core.send_to(sid, shared.clone());
        }
        return Some(true);
    }
    if user_exists(core, &node, &domain) {
        let mut offline = Event::stanza(ev.origin.clone(), stanza.clone());
        offline.to_self = ev.to_self;
        if core
            .fire(&Bus::Host(domain), "message/offline/handle", &mut offline)
            .is_some()
        {
            return Some(true);
        }
    }
    let e = StanzaError::cancel(StanzaCondition::ServiceUnavailable).reply(ev.stanza.as_ref()?);
    core.reply(&ev.origin, e);
    Some(true)
}

fn available_non_negative(core: &Core, bare: &str) -> Vec<u64> {
    core.bare_sessions
        .get(bare)
        .map(|l| {
            l.iter()
                .copied()
                .filter(|id| {
                    core.sessions
                        .get(id)
                        .is_some_and(|s| s.presence.is_some() && s.priority >= 0)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn user_exists(core: &Core, node: &str, domain: &str) -> bool {
    core.shared.accounts.exists(domain, node).unwrap_or(false)
}
