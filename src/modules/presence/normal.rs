//! A client's own available/unavailable presence (no `to`): reflection, broadcast to its
//! other resources and to contacts with subscription from/both, initial presence, and
//! the stored presence with its `<delay/>`.

use std::sync::Arc;

use super::presence;
use crate::core::router::post_stanza;
use crate::core::{Bus, Core, Event, Origin, SessionId};
use crate::modules::offline::stamp;
use crate::modules::offline::stanza_lua::deserialize;
use crate::modules::roster::manager;
use crate::storage::LuaValue;
use crate::xml::{Element, Node};
use crate::xmpp::ns;

/// Priority as Prosody reads it: `[+-]?digits` clamped to −128..127, anything else 0.
pub fn parse_priority(stanza: &Element) -> i8 {
    let Some(text) = stanza.get_child("priority", ns::CLIENT).map(Element::text) else {
        return 0;
    };
    let digits = text.strip_prefix(['+', '-']).unwrap_or(&text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    let negative = text.starts_with('-');
    // Long digit strings saturate rather than fail, like tonumber + clamp.
    let magnitude = digits.trim_start_matches('0');
    let value: i64 = if magnitude.len() > 4 {
        1000
    } else {
        magnitude.parse().unwrap_or(0)
    };
    let value = if negative { -value } else { value };
    value.clamp(-128, 127) as i8
}

pub fn handle(core: &mut Core, sid: SessionId, mut stanza: Element) {
    let Some(s) = core.sessions.get(&sid) else {
        return;
    };
    let (user, host, full, bare) = (
        s.username().to_owned(),
        s.host().to_owned(),
        s.full_jid().to_owned(),
        s.bare_jid().to_owned(),
    );
    let was_available = s.presence.is_some();
    if core
        .shared
        .config
        .host(&host)
        .boolean("ignore_presence_priority")
        .unwrap_or(false)
    {
        if let Some(p) = stanza.get_child_mut("priority", ns::CLIENT) {
            if p.text() != "0" {
                p.children = vec![Node::Text("0".into())];
            }
        }
    }
    let priority = parse_priority(&stanza);
    let origin = Origin::Session(sid);
    if core.full_sessions.get(full.as_str()) == Some(&sid) {
        core.send_to(sid, Arc::new(stanza.clone()));
    }
    let others: Vec<String> = manager::available(core, &bare)
        .into_iter()
        .filter(|id| *id != sid)
        .filter_map(|id| core.sessions.get(&id).map(|s| s.full_jid().to_owned()))
        .collect();
    for to in others {
        let mut p = stanza.clone();
        p.set_attr("to", to);
        post_stanza(core, origin.clone(), p, true);
    }
    let (subscribers, subscribed_to, pending, asked) = manager::with(core, &user, &host, |r| {
        let mut from = Vec::new();
        let mut to = Vec::new();
        let mut ask = Vec::new();
        for (jid, item) in &r.items {
            if item.subscription.has_from() {
                from.push(jid.clone());
            }
            if item.subscription.has_to() {
                to.push(jid.clone());
            }
            if item.ask {
                ask.push(jid.clone());
            }
        }
        let pending: Vec<(String, LuaValue)> = r
            .pending
            .iter()
            .map(|(j, v)| (j.clone(), v.clone()))
            .collect();
        (from, to, pending, ask)
    });
    for to in &subscribers {
        let mut p = stanza.clone();
        p.set_attr("to", to.as_str());
        post_stanza(core, origin.clone(), p, true);
    }
    let ptype = stanza.attr("type").map(str::to_owned);
    if ptype.is_none() && !was_available {
        let mut e = Event::for_session(sid);
        e.stanza = Some(stanza.clone());
        core.fire(&Bus::Host(host.clone()), "presence/initial", &mut e);
        if let Some(s) = core.sessions.get_mut(&sid) {
            s.presence = Some(Arc::new(stanza.clone()));
        }
        for to in &subscribed_to {
            let probe = presence(Some("probe"), &full, to);
            post_stanza(core, origin.clone(), probe, true);
        }
        let others: Vec<(SessionId, Arc<Element>)> = manager::available(core, &bare)
            .into_iter()
            .filter(|id| *id != sid)
            .filter_map(|id| Some((id, core.sessions.get(&id)?.presence.clone()?)))
            .collect();
        for (other, pres) in others {
            let mut p = (*pres).clone();
            p.set_attr("to", full.as_str());
            post_stanza(core, Origin::Session(other), p, true);
        }
        for (jid, request) in pending {
            let mut subscribe = match &request {
                LuaValue::Table(_) => {
                    deserialize(&request).unwrap_or_else(|| Element::new("presence", ns::CLIENT))
                }
                _ => Element::new("presence", ns::CLIENT),
            };
            subscribe.set_attr("type", "subscribe");
            subscribe.set_attr("from", jid);
            core.send_to(sid, Arc::new(subscribe));
        }
        for to in &asked {
            let mut request = Element::new("presence", ns::CLIENT)
                .with_attr("type", "subscribe")
                .with_attr("from", bare.as_str());
            request.set_attr("to", to.as_str());
            post_stanza(core, origin.clone(), request, true);
        }
        if priority >= 0 {
            let mut e = Event::for_session(sid);
            core.fire(
                &Bus::Host(host.clone()),
                "message/offline/broadcast",
                &mut e,
            );
        }
    }
    if ptype.as_deref() == Some("unavailable") {
        let directed = match core.sessions.get_mut(&sid) {
            Some(s) => {
                s.presence = None;
                s.priority = 0;
                std::mem::take(&mut s.directed)
            }
            None => Default::default(),
        };
        for to in directed {
            let mut p = stanza.clone();
            p.set_attr("to", to);
            post_stanza(core, origin.clone(), p, true);
        }
    } else if let Some(s) = core.sessions.get_mut(&sid) {
        stanza.push_child(
            Element::new("delay", ns::DELAY)
                .with_attr("from", host.as_str())
                .with_attr("stamp", stamp::datetime(now())),
        );
        // Kept for the session's life: every idle session holds one.
        stanza.shrink_to_fit();
        s.presence = Some(Arc::new(stanza));
        s.priority = priority;
    }
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_priority(p: &str) -> Element {
        Element::new("presence", ns::CLIENT)
            .with_child(Element::new("priority", ns::CLIENT).with_text(p))
    }

    #[test]
    fn priority_is_clamped_and_non_integers_are_zero() {
        assert_eq!(parse_priority(&with_priority("5")), 5);
        assert_eq!(parse_priority(&with_priority("+7")), 7);
        assert_eq!(parse_priority(&with_priority("-1")), -1);
        assert_eq!(parse_priority(&with_priority("300")), 127);
        assert_eq!(
            parse_priority(&with_priority("-99999999999999999999")),
            -128
        );
        assert_eq!(parse_priority(&with_priority("1.5")), 0);
        assert_eq!(parse_priority(&with_priority(" 3")), 0);
        assert_eq!(parse_priority(&Element::new("presence", ns::CLIENT)), 0);
    }
}
