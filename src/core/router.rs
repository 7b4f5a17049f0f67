//! Stanza routing with Prosody's semantics (reference §4.2–4.6): validation of what a
//! bound client sent, `from` stamping, `to` prep, the `pre-*` and `<kind>/<to_type>`
//! events, and the answers for stanzas nobody handled.

use std::sync::Arc;

use super::{Bus, Core, Event, Origin, SessionId};
use crate::xml::{CompactString, Element};
use crate::xmpp::error::{StanzaCondition, StanzaError, StreamCondition, StreamError};
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
    let full_jid = sess.full_jid().to_owned();
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
        let host = sess.host().to_owned();
        let mut ev = Event::stanza(origin, stanza);
        if core.fire(&Bus::Host(host), &name, &mut ev).is_none() {
            core.close_session(
                session,
                Some(StreamError::new(StreamCondition::UnsupportedStanzaType).element()),
            );
        }
        return;
    }

    // Inline strings (host, bare JID and type fit in 24 bytes): no allocation each.
    let stype = CompactString::new(stanza.attr("type").unwrap_or(""));
    if stype == "error" && stanza.child_elements().next().is_none() {
        return;
    }
    if stanza.name == "iq" {
        if !matches!(stype.as_str(), "get" | "set" | "result" | "error") {
            let e = StanzaError::modify(StanzaCondition::BadRequest)
                .with_text("Invalid IQ type")
                .reply(&stanza);
            core.reply(&origin, e);
            return;
        }
        if stanza.attr("id").is_none() {
            let e = StanzaError::modify(StanzaCondition::BadRequest)
                .with_text("Missing required 'id' attribute")
                .reply(&stanza);
            core.reply(&origin, e);
            return;
        }
        if (stype == "get" || stype == "set") && stanza.child_elements().count() != 1 {
            let e = StanzaError::modify(StanzaCondition::BadRequest)
                .with_text("Incorrect number of children for IQ stanza")
                .reply(&stanza);
            core.reply(&origin, e);
            return;
        }
    }
    stanza.set_attr("from", full_jid);

    // A `to` that is a bound session's JID is already prepared (bind builds those keys
    // from prepared parts): the common case skips stringprep.
    let known = stanza.attr("to").is_some_and(|to| is_bound_jid(core, to));
    if let Some(to) = stanza.attr("to").filter(|_| !known).map(str::to_owned) {
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
                    let e = StanzaError::modify(StanzaCondition::JidMalformed)
                        .with_text(text)
                        .reply(&stanza);
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
            Some(s) => CompactString::new(s.host()),
            None => return,
        },
        Origin::Host(h) => CompactString::new(h),
    };
    let origin_bare = match &origin {
        Origin::Session(id) => core
            .sessions
            .get(id)
            .map(|s| CompactString::new(s.bare_jid())),
        Origin::Host(_) => None,
    };

    let to_self;
    let (to_type, target_host) = match stanza.attr("to") {
        None => {
            to_self = true;
            ("/bare", origin_host.to_string())
        }
        Some(to) => {
            let Some(target) = classify(core, to) else {
                return;
            };
            to_self = origin_bare.as_deref() == Some(to);
            target
        }
    };
    if to_self {
        stanza.remove_attr("to");
    }
    let name = stanza.name.clone();

    if preevents {
        let bus = Bus::Host(origin_host.to_string());
        let pre_name = pre_event_name(&name, to_type);
        let any_pre = core
            .hosts
            .get(origin_host.as_str())
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

    post_routed(core, origin, stanza, to_type, target_host, to_self);
}

/// What follows the `pre-*` events: the stanza goes to a remote domain, or fires
/// `<kind><to_type>` on its local host (a handler that held a stanza during `pre-*`
/// continues it here; see [`post_after_pre`]).
fn post_routed(
    core: &mut Core,
    origin: Origin,
    stanza: Element,
    to_type: &'static str,
    target_host: String,
    to_self: bool,
) {
    let name = stanza.name.clone();
    if !core.is_local_host(&target_host) {
        route_remote(core, &origin, stanza);
        return;
    }
    let bus = Bus::Host(target_host);
    let mut ev = Event::stanza(origin.clone(), stanza);
    ev.to_self = to_self;
    let event_name = event_name(&name, to_type);
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

/// Routes a stanza whose `pre-*` event a handler held and has finished (its `to` is as
/// `post_stanza` left it: removed when addressed to the sender's own bare JID).
/// `origin_host` is the sender's host (its session may have gone meanwhile: the message
/// it sent is still delivered).
pub fn post_after_pre(
    core: &mut Core,
    origin: Origin,
    origin_host: String,
    stanza: Element,
    to_self: bool,
) {
    let (to_type, target_host) = match stanza.attr("to") {
        None => ("/bare", origin_host),
        Some(to) => match classify(core, to) {
            Some(t) => t,
            None => return,
        },
    };
    post_routed(core, origin, stanza, to_type, target_host, to_self);
}

/// True when `jid` is the full or bare JID of a bound session (so it is prepared).
fn is_bound_jid(core: &Core, jid: &str) -> bool {
    core.full_sessions.contains_key(jid) || core.bare_sessions.contains_key(jid)
}

/// The kind of address (`/full`, `/bare`, `/host`) and its domain, `None` when invalid.
/// Bound sessions' JIDs are split without preparing them again.
fn classify(core: &Core, to: &str) -> Option<(&'static str, String)> {
    if is_bound_jid(core, to) {
        let (node_domain, resource) = match to.split_once('/') {
            Some((nd, _)) => (nd, true),
            None => (to, false),
        };
        let domain = node_domain.split_once('@').map_or(node_domain, |(_, d)| d);
        let kind = if resource { "/full" } else { "/bare" };
        return Some((kind, domain.to_owned()));
    }
    let j = Jid::parse(to).ok()?;
    let kind = match (j.node(), j.resource()) {
        (Some(_), Some(_)) => "/full",
        (Some(_), None) => "/bare",
        (None, _) => "/host",
    };
    Some((kind, j.domain().to_owned()))
}

/// `pre-<name><to_type>` without formatting for the routable kinds.
fn pre_event_name(name: &str, to_type: &'static str) -> std::borrow::Cow<'static, str> {
    let fixed = match (name, to_type) {
        ("message", "/full") => "pre-message/full",
        ("message", "/bare") => "pre-message/bare",
        ("message", "/host") => "pre-message/host",
        ("presence", "/full") => "pre-presence/full",
        ("presence", "/bare") => "pre-presence/bare",
        ("presence", "/host") => "pre-presence/host",
        ("iq", "/full") => "pre-iq/full",
        ("iq", "/bare") => "pre-iq/bare",
        ("iq", "/host") => "pre-iq/host",
        _ => return std::borrow::Cow::Owned(format!("pre-{name}{to_type}")),
    };
    std::borrow::Cow::Borrowed(fixed)
}

/// `<name><to_type>` without formatting for the routable kinds.
fn event_name(name: &str, to_type: &'static str) -> std::borrow::Cow<'static, str> {
    let fixed = match (name, to_type) {
        ("message", "/full") => "message/full",
        ("message", "/bare") => "message/bare",
        ("message", "/host") => "message/host",
        ("presence", "/full") => "presence/full",
        ("presence", "/bare") => "presence/bare",
        ("presence", "/host") => "presence/host",
        ("iq", "/full") => "iq/full",
        ("iq", "/bare") => "iq/bare",
        ("iq", "/host") => "iq/host",
        _ => return std::borrow::Cow::Owned(format!("{name}{to_type}")),
    };
    std::borrow::Cow::Borrowed(fixed)
}

/// §4.6: nobody handled a routable stanza.
pub fn unhandled(core: &mut Core, origin: &Origin, stanza: &Element) {
    let stype = stanza.attr("type").unwrap_or("");
    if stype == "error" || (stanza.name == "iq" && stype == "result") {
        return;
    }
    // Prosody logs what no handler took; the line names the sender's session.
    tracing::info!(
        from = stanza.attr("from").unwrap_or(""),
        to = stanza.attr("to").unwrap_or(""),
        "Unhandled {} stanza of type {stype:?}; replying service-unavailable",
        stanza.name
    );
    let e = StanzaError::cancel(StanzaCondition::ServiceUnavailable).reply(stanza);
    core.reply(origin, e);
}

/// `route/remote`: mod_s2s takes the stanza when it runs for the sending host; otherwise
/// remote domains get Prosody's answer when s2s is not loaded.
pub fn route_remote(core: &mut Core, origin: &Origin, stanza: Element) {
    let Some(stanza) = crate::modules::s2s::route(core, origin, stanza) else {
        return;
    };
    let stype = stanza.attr("type").unwrap_or("");
    if stype == "error" || stype == "result" {
        return;
    }
    let e = StanzaError::cancel(StanzaCondition::NotAllowed)
        .with_text("Communication with remote domains is not enabled")
        .reply(&stanza);
    core.reply(origin, e);
}

/// Delivers a stanza to one session, sharing the tree.
pub fn deliver(core: &Core, session: SessionId, stanza: Arc<Element>) -> bool {
    core.send_to(session, stanza)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_event_names_match_the_formatted_ones() {
        for name in ["message", "presence", "iq", "stanza"] {
            for to_type in ["/full", "/bare", "/host"] {
                assert_eq!(event_name(name, to_type), format!("{name}{to_type}"));
                assert_eq!(
                    pre_event_name(name, to_type),
                    format!("pre-{name}{to_type}")
                );
            }
        }
    }

    #[test]
    fn a_bound_jid_is_classified_like_a_parsed_one() {
        let text = "VirtualHost \"example.test\"\n";
        let path = std::path::Path::new("/nonexistent/prosody.cfg.lua");
        let config = crate::config::Config::load_str(path, text).expect("config parses");
        let mut core = Core::new(crate::core::server::build(config).0);
        core.full_sessions.insert("a@example.test/r".into(), 1);
        core.bare_sessions.insert("a@example.test".into(), vec![1]);
        for to in [
            "a@example.test/r",
            "a@example.test",
            "b@Example.test/R",
            "example.test",
        ] {
            let parsed = Jid::parse(to).expect("valid");
            let kind = match (parsed.node(), parsed.resource()) {
                (Some(_), Some(_)) => "/full",
                (Some(_), None) => "/bare",
                (None, _) => "/host",
            };
            assert_eq!(
                classify(&core, to),
                Some((kind, parsed.domain().to_owned())),
                "{to}"
            );
        }
        assert_eq!(classify(&core, "@example.test"), None);
    }
}
