//! mod_carbons (XEP-0280): resources that enabled carbons receive `<sent/>` copies of the
//! chat messages their other resources send and `<received/>` copies of the ones
//! delivered to another resource; `<private/>` and the `no-copy` hint opt out.

use std::rc::Rc;
use std::sync::Arc;

use crate::core::bind::top_resources;
use crate::core::{Bus, Core, Event, Origin, SessionId};
use crate::modules::iq::result_for;
use crate::modules::presence::bare_of;
use crate::xml::Element;
use crate::xmpp::ns;

pub const FORWARD: &str = "urn:xmpp:forward:0";
const HINTS: &str = "urn:xmpp:hints";
const MUC_USER: &str = "http://jabber.org/protocol/muc#user";

pub fn load(core: &mut Core, host: &str) {
    if let Some(h) = core.hosts.get_mut(host) {
        h.features.insert("urn:xmpp:carbons:rules:0".to_owned());
        h.features.insert(ns::CARBONS.to_owned());
    }
    let bus = Bus::Host(host.to_owned());
    for action in ["enable", "disable"] {
        let name = format!("iq-set/self/{}:{action}", ns::CARBONS);
        core.hook(
            &bus,
            &name,
            0.0,
            Rc::new(move |core, ev| {
                let Origin::Session(sid) = ev.origin else {
                    return None;
                };
                let stanza = ev.stanza.as_ref()?;
                let reply = result_for(stanza);
                if let Some(s) = core.sessions.get_mut(&sid) {
                    s.want_carbons = action == "enable";
                }
                core.reply(&ev.origin, reply);
                Some(true)
            }),
        );
    }
    for kind in ["host", "bare", "full"] {
        core.hook(
            &bus,
            &format!("pre-message/{kind}"),
            -0.5,
            Rc::new(|core, ev| {
                copy(core, ev, true);
                None
            }),
        );
    }
    for kind in ["bare", "full"] {
        core.hook(
            &bus,
            &format!("message/{kind}"),
            -0.5,
            Rc::new(|core, ev| {
                copy(core, ev, false);
                None
            }),
        );
    }
}

/// Why a message is (not) copied, per the XEP-0280 rules Prosody applies.
pub fn should_copy(stanza: &Element) -> bool {
    if stanza.get_child("private", ns::CARBONS).is_some()
        || stanza.get_child("no-copy", HINTS).is_some()
    {
        return false;
    }
    if stanza.attr("to").is_some() && stanza.get_child("x", MUC_USER).is_some() {
        return false;
    }
    match stanza.attr("type").unwrap_or("normal") {
        "chat" => return true,
        "normal" if stanza.get_child("body", ns::CLIENT).is_some() => return true,
        "error" if stanza.attr("from").is_some_and(|f| !f.contains('/')) => return true,
        _ => {}
    }
    // Prosody's hook asks for a `stanza-id` "by" the user without knowing the user, so
    // a stanza-id that names nobody is what matches.
    stanza.child_elements().any(|c| {
        c.ns == "urn:xmpp:jingle-message:0"
            || c.ns == "urn:xmpp:jingle-message:1"
            || (c.name == "stanza-id" && c.ns == "urn:xmpp:sid:0" && c.attr("by").is_none())
    })
}

/// Sends carbons of the message in `ev`: `sent` for what a local client sends (`c2s`),
/// `received` for what is about to be delivered to a local client.
fn copy(core: &mut Core, ev: &mut Event, c2s: bool) {
    let Some(stanza) = ev.stanza.as_ref() else {
        return;
    };
    let Some(bare_from) = stanza.attr("from").and_then(bare_of) else {
        return;
    };
    let orig_to = stanza.attr("to").map(str::to_owned);
    let (bare_jid, target, top_priority) = if c2s {
        let target = match ev.origin {
            Origin::Session(sid) => Some(sid),
            Origin::Host(_) => None,
        };
        (bare_from, target, None)
    } else {
        let Some(bare_to) = orig_to.as_deref().and_then(bare_of) else {
            return;
        };
        let target = orig_to
            .as_deref()
            .and_then(|t| core.full_sessions.get(t))
            .copied();
        // Top resources get the message by normal routing; skip them.
        let top = if target.is_none() {
            top_resources(core, &bare_to)
                .first()
                .and_then(|id| core.sessions.get(id))
                .map(|s| s.priority)
        } else {
            None
        };
        (bare_to, target, top)
    };
    let Some(sessions) = core.bare_sessions.get(&bare_jid).cloned() else {
        return;
    };
    if !should_copy(stanza) {
        if !c2s && stanza.get_child("private", ns::CARBONS).is_some() {
            if let Some(st) = ev.stanza.as_mut() {
                st.children.retain(|n| match n {
                    crate::xml::Node::Element(e) => !(e.name == "private" && e.ns == ns::CARBONS),
                    _ => true,
                });
            }
        }
        return;
    }
    let recipients: Vec<(SessionId, String)> = sessions
        .iter()
        .filter(|id| Some(**id) != target)
        .filter_map(|id| core.sessions.get(id))
        .filter(|s| s.want_carbons)
        .filter(|s| {
            c2s || top_priority.is_none()
                || s.presence.is_none()
                || Some(s.priority) != top_priority
        })
        .map(|s| (s.id, s.full_jid().to_owned()))
        .collect();
    if recipients.is_empty() {
        return;
    }
    let mtype = stanza.attr("type").unwrap_or("normal").to_owned();
    let wrapper = Element::new(if c2s { "sent" } else { "received" }, ns::CARBONS)
        .with_child(Element::new("forwarded", FORWARD).with_child(stanza.clone()));
    for (sid, full) in recipients {
        let carbon = Element::new("message", ns::CLIENT)
            .with_attr("from", bare_jid.as_str())
            .with_attr("type", mtype.as_str())
            .with_attr("to", full)
            .with_child(wrapper.clone());
        core.send_to(sid, Arc::new(carbon));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(t: Option<&str>) -> Element {
        let mut m = Element::new("message", ns::CLIENT).with_attr("from", "a@h/r");
        if let Some(t) = t {
            m.set_attr("type", t);
        }
        m
    }

    #[test]
    fn copies_chat_and_normal_with_body_only() {
        assert!(should_copy(&msg(Some("chat"))));
        assert!(!should_copy(&msg(None)));
        assert!(should_copy(
            &msg(None).with_child(Element::new("body", ns::CLIENT))
        ));
        assert!(!should_copy(
            &msg(Some("headline")).with_child(Element::new("body", ns::CLIENT))
        ));
        assert!(!should_copy(&msg(Some("groupchat"))));
    }

    #[test]
    fn private_and_no_copy_opt_out() {
        assert!(!should_copy(
            &msg(Some("chat")).with_child(Element::new("private", ns::CARBONS))
        ));
        assert!(!should_copy(
            &msg(Some("chat")).with_child(Element::new("no-copy", HINTS))
        ));
    }

    #[test]
    fn bounces_from_bare_jids_are_copied() {
        let mut e = msg(Some("error"));
        e.set_attr("from", "b@h");
        assert!(should_copy(&e));
        assert!(!should_copy(&msg(Some("error"))));
    }

    #[test]
    fn jingle_messages_and_unattributed_stanza_ids_are_copied() {
        let j = Element::new("propose", "urn:xmpp:jingle-message:0");
        assert!(should_copy(&msg(None).with_child(j)));
        let sid = Element::new("stanza-id", "urn:xmpp:sid:0").with_attr("id", "1");
        assert!(should_copy(&msg(None).with_child(sid.clone())));
        assert!(!should_copy(
            &msg(None).with_child(sid.with_attr("by", "a@h"))
        ));
    }
}
