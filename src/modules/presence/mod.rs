//! mod_presence (reference §4.5): a client's own presence broadcast to its resources and
//! to subscribed contacts, initial presence (probes, pending requests, offline messages),
//! directed presence, the RFC 6121 subscription handshake in both directions on the
//! roster, presence to the host, and unavailable presence when a session goes.

mod normal;
mod subscriptions;

use std::rc::Rc;
use std::sync::Arc;

use crate::core::router::{post_stanza, process_stanza};
use crate::core::{Bus, Core, Event, Origin, SessionId};
use crate::modules::roster::{manager, RosterItem};
use crate::xml::Element;
use crate::xmpp::error::{StanzaCondition, StanzaError};
use crate::xmpp::jid::Jid;
use crate::xmpp::ns;

/// The `presence/full` handler all hosts share (see `message::FullDelivery`): a
/// non-subscription presence to a bound full JID is only delivered.
#[derive(Default)]
pub struct FullDelivery(pub Option<crate::core::events::Handler>);

fn to_full(core: &mut Core, ev: &mut crate::core::Event) -> Option<bool> {
    let stanza = ev.stanza.as_ref()?;
    if stanza.attr("type").is_some_and(is_subscription_type) {
        subscriptions::inbound(core, ev);
        return Some(true);
    }
    if let Some(&sid) = stanza.attr("to").and_then(|t| core.full_sessions.get(t)) {
        core.send_to(sid, Arc::new(stanza.clone()));
    }
    Some(true)
}

pub fn load(core: &mut Core, host: &str) {
    core.shared
        .feature_hooks
        .add_static(host, "presence", pre_approval_feature());
    let bus = Bus::Host(host.to_owned());
    for kind in ["full", "bare", "host"] {
        core.hook(
            &bus,
            &format!("pre-presence/{kind}"),
            0.0,
            Rc::new(outbound),
        );
    }
    core.hook(
        &bus,
        "presence/bare",
        -1.0,
        Rc::new(|core, ev| {
            let stanza = ev.stanza.as_ref()?;
            let ptype = stanza.attr("type").map(str::to_owned);
            match (stanza.attr("to").map(str::to_owned), ptype.as_deref()) {
                (Some(_), Some(t)) if is_subscription_type(t) => {
                    subscriptions::inbound(core, ev);
                }
                (Some(to), _) => {
                    let shared = Arc::new(stanza.clone());
                    for sid in manager::available(core, &to) {
                        core.send_to(sid, shared.clone());
                    }
                }
                (None, None | Some("unavailable")) => {
                    if let Origin::Session(sid) = ev.origin {
                        let stanza = ev.stanza.take()?;
                        normal::handle(core, sid, stanza);
                    }
                }
                (None, Some(_)) => {
                    let e = StanzaError::modify(StanzaCondition::BadRequest)
                        .with_text("Invalid presence type")
                        .reply(stanza);
                    core.reply(&ev.origin, e);
                }
            }
            Some(true)
        }),
    );
    let full = core
        .state::<FullDelivery>()
        .0
        .get_or_insert_with(|| Rc::new(to_full))
        .clone();
    core.hook(&bus, "presence/full", -1.0, full);
    core.hook(
        &bus,
        "presence/host",
        -1.0,
        Rc::new(|core, ev| {
            let stanza = ev.stanza.as_ref()?;
            let Some(from_bare) = stanza.attr("from").and_then(bare_of) else {
                return Some(true);
            };
            let host = stanza.attr("to").unwrap_or_default().to_owned();
            let id = stanza.attr("id").map(str::to_owned);
            let answer = |ptype: Option<&str>| {
                let mut p = presence(ptype, &host, &from_bare);
                if let Some(id) = &id {
                    p.set_attr("id", id.as_str());
                }
                p
            };
            match stanza.attr("type") {
                Some("probe") => post_stanza(core, Origin::Host(host.clone()), answer(None), true),
                Some("subscribe") => {
                    post_stanza(
                        core,
                        Origin::Host(host.clone()),
                        answer(Some("subscribed")),
                        true,
                    );
                    post_stanza(core, Origin::Host(host.clone()), answer(None), true);
                }
                _ => {}
            }
            Some(true)
        }),
    );
    core.hook(
        &bus,
        "resource-unbind",
        -1.0,
        Rc::new(|core, ev| {
            let sid = ev.session?;
            let s = core.sessions.get(&sid)?;
            let mut unavailable =
                Element::new("presence", ns::CLIENT).with_attr("type", "unavailable");
            if let Some(err) = &ev.error {
                unavailable.push_child(
                    Element::new("status", ns::CLIENT).with_text(format!("Disconnected: {err}")),
                );
            }
            if s.presence.is_some() {
                // As if the client had sent it: reaches contacts and directed recipients.
                process_stanza(core, sid, unavailable);
            } else if !s.directed.is_empty() {
                let full = s.full_jid().to_owned();
                let directed = std::mem::take(&mut core.sessions.get_mut(&sid)?.directed);
                unavailable.set_attr("from", full);
                for to in directed {
                    let mut p = unavailable.clone();
                    p.set_attr("to", to);
                    post_stanza(core, Origin::Session(sid), p, true);
                }
            }
            None
        }),
    );
}

/// Feature advertised after authentication (see `c2s::stream`).
pub fn pre_approval_feature() -> Element {
    Element::new("sub", ns::PRE_APPROVAL)
}

fn is_subscription_type(t: &str) -> bool {
    t != "unavailable" && t != "error"
}

/// `pre-presence/*`: what a local client (or the host) sends out.
fn outbound(core: &mut Core, ev: &mut Event) -> Option<bool> {
    let stanza = ev.stanza.as_ref()?;
    let to = stanza.attr("to")?.to_owned();
    let ptype = stanza.attr("type").map(str::to_owned);
    if ptype.as_deref().is_some_and(is_subscription_type) {
        return subscriptions::outbound(core, ev);
    }
    // Directed presence: tracked when the recipient is not a subscriber.
    let Origin::Session(sid) = ev.origin else {
        return None;
    };
    let (user, host) = {
        let s = core.sessions.get(&sid)?;
        (s.username().to_owned(), s.host().to_owned())
    };
    let to_bare = bare_of(&to)?;
    if manager::is_contact_subscribed(core, &user, &host, &to_bare) {
        return None;
    }
    let s = core.sessions.get_mut(&sid)?;
    if ptype.is_some() {
        s.directed.remove(&to);
    } else {
        s.directed.insert(to);
    }
    None
}

/// Sends each available resource's presence (or `override_` from it) to `to`; returns
/// how many were sent (Prosody's `send_presence_of_available_resources`).
pub fn send_presence_of_available_resources(
    core: &mut Core,
    user_bare: &str,
    to: &str,
    override_: Option<&Element>,
) -> usize {
    let sessions: Vec<(SessionId, String, Arc<Element>)> = manager::available(core, user_bare)
        .into_iter()
        .filter_map(|id| {
            let s = core.sessions.get(&id)?;
            Some((id, s.full_jid().to_owned(), s.presence.clone()?))
        })
        .collect();
    let count = sessions.len();
    for (sid, full, pres) in sessions {
        let mut p = match override_ {
            Some(o) => {
                let mut o = o.clone();
                o.set_attr("from", full);
                o
            }
            None => (*pres).clone(),
        };
        p.set_attr("to", to);
        post_stanza(core, Origin::Session(sid), p, true);
    }
    count
}

/// `roster-item-removed`: cancel both directions of the subscription with the contact.
pub fn roster_item_removed(core: &mut Core, sid: SessionId, contact: &str, item: &RosterItem) {
    let Some(s) = core.sessions.get(&sid) else {
        return;
    };
    let (user, host, full, bare) = (
        s.username().to_owned(),
        s.host().to_owned(),
        s.full_jid().to_owned(),
        s.bare_jid().to_owned(),
    );
    let pending = manager::is_contact_pending_in(core, &user, &host, contact);
    if item.subscription.has_from() || pending {
        let p = presence(Some("unsubscribed"), &full, contact);
        post_stanza(core, Origin::Session(sid), p, false);
    }
    if item.subscription.has_to() || item.ask {
        let unavailable = presence(Some("unavailable"), "", "");
        send_presence_of_available_resources(core, &bare, contact, Some(&strip(unavailable)));
        let p = presence(Some("unsubscribe"), &full, contact);
        post_stanza(core, Origin::Session(sid), p, false);
    }
}

/// Removes empty `from`/`to` placeholders.
fn strip(mut p: Element) -> Element {
    p.attrs.retain(|(_, v)| !v.is_empty());
    p
}

/// `<presence type? from to/>`.
pub fn presence(ptype: Option<&str>, from: &str, to: &str) -> Element {
    let mut p = Element::new("presence", ns::CLIENT);
    if let Some(t) = ptype {
        p.set_attr("type", t);
    }
    p.set_attr("from", from);
    p.set_attr("to", to);
    p
}

/// The bare form of a JID string (a domain stays a domain).
pub fn bare_of(jid: &str) -> Option<String> {
    Jid::parse(jid).ok().map(|j| j.bare().to_string())
}

/// (node, domain) of a bare JID with a node.
fn split(bare: &str) -> Option<(String, String)> {
    let j = Jid::parse(bare).ok()?;
    Some((j.node()?.to_owned(), j.domain().to_owned()))
}
