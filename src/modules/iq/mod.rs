//! mod_iq: IQ routing (reference §4.4). Full-JID IQs go to that resource; IQs to a bare
//! JID, to oneself or to the host fire `iq/<kind>/<xmlns>:<name>` and then
//! `iq-<type>/<kind>/<xmlns>:<name>` (results and errors: `iq-<type>/<kind>/<id>`).

use std::rc::Rc;
use std::sync::Arc;

use crate::core::{Bus, Core, Event};
use crate::xml::Element;
use crate::xmpp::error::{StanzaCondition, StanzaError};
use crate::xmpp::ns;

/// An empty `type='result'` reply to an IQ, addressed back to its sender.
pub fn result_for(iq: &Element) -> Element {
    let mut r = Element::new("iq", ns::CLIENT).with_attr("type", "result");
    if let Some(id) = iq.attr("id") {
        r.set_attr("id", id);
    }
    if let Some(from) = iq.attr("from") {
        r.set_attr("to", from);
    }
    if let Some(to) = iq.attr("to") {
        r.set_attr("from", to);
    }
    r
}

pub fn load(core: &mut Core, host: &str) {
    let bus = Bus::Host(host.to_owned());
    // On a component mod_iq leaves `iq/full` to the component (reference §12.1).
    let component = core.hosts.get(host).is_some_and(|h| h.is_component);
    if !component {
        load_full(core, &bus);
    }
    for kind in ["bare", "self", "host"] {
        let b = bus.clone();
        core.hook(
            &bus,
            &format!("iq/{kind}"),
            0.0,
            Rc::new(move |core, ev| sub_events(core, &b, kind, ev)),
        );
    }
}

fn load_full(core: &mut Core, bus: &Bus) {
    core.hook(
        bus,
        "iq/full",
        0.0,
        Rc::new(|core, ev| {
            let stanza = ev.stanza.as_ref()?;
            let to = stanza.attr("to").unwrap_or("");
            if let Some(&sid) = core.full_sessions.get(to) {
                core.send_to(sid, Arc::new(stanza.clone()));
            } else if matches!(stanza.attr("type"), Some("get" | "set")) {
                let e = StanzaError::cancel(StanzaCondition::ServiceUnavailable).reply(stanza);
                core.reply(&ev.origin, e);
            }
            Some(true)
        }),
    );
}

fn sub_events(core: &mut Core, bus: &Bus, kind: &str, ev: &mut Event) -> Option<bool> {
    let stanza = ev.stanza.as_ref()?;
    let itype = stanza.attr("type").unwrap_or("").to_owned();
    if itype == "get" || itype == "set" {
        let child = stanza.child_elements().next()?;
        let xmlns = if child.ns.is_empty() {
            ns::CLIENT
        } else {
            child.ns.as_str()
        };
        let tail = format!("{xmlns}:{}", child.name);
        if let Some(r) = core.fire(bus, &format!("iq/{kind}/{tail}"), ev) {
            return Some(r);
        }
        core.fire(bus, &format!("iq-{itype}/{kind}/{tail}"), ev)
    } else {
        let id = stanza.attr("id").unwrap_or("").to_owned();
        core.fire(bus, &format!("iq-{itype}/{kind}/{id}"), ev)
    }
}
