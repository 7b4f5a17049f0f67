//! mod_muc: multi-user chat (XEP-0045) as a native component module, behaving as
//! Prosody 0.12's `plugins/muc` does (reference §13). The room logic is sans-IO: a
//! handler is fed a stanza and `now` and pushes the stanzas to send; `service.rs` keeps
//! the rooms of one MUC host and the wiring in this file routes what they return.
//!
//! Not here: MUC archives (mod_muc_mam), the Lua room API (see docs/muc.md).

pub mod admin;
pub mod affiliation;
pub mod broadcast;
pub mod config_form;
pub mod disco;
pub mod history;
pub mod iq;
pub mod join;
pub mod message;
pub mod occupant;
pub mod options;
pub mod register;
pub mod room;
pub mod service;
pub mod storage;

use std::collections::HashMap;
use std::rc::Rc;

use crate::core::router::post_stanza;
use crate::core::{Bus, Core, Event, Origin};
use crate::xml::Element;
use crate::xmpp::error::stanza_error_reply;
use options::Options;
use service::Service;

/// The MUC services of this process, by host.
#[derive(Default)]
pub struct MucState {
    pub services: HashMap<String, Service>,
}

/// The bare part of a JID string.
pub fn bare(jid: &str) -> String {
    jid.split_once('/').map_or(jid, |(b, _)| b).to_owned()
}

/// The resource (nick) part of a JID string.
pub fn resource(jid: &str) -> &str {
    jid.split_once('/').map_or("", |(_, r)| r)
}

/// `st.error_reply(stanza, type, condition, text, by)`.
pub fn error_by(stanza: &Element, kind: &str, cond: &str, text: Option<&str>, by: &str) -> Element {
    let mut e = stanza_error_reply(stanza, kind, cond, text);
    if let Some(err) = e.get_child_mut("error", &stanza.ns) {
        err.set_attr("by", by);
    }
    e
}

pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

pub fn load(core: &mut Core, host: &str) {
    if !core.hosts.get(host).is_some_and(|h| h.is_component) {
        tracing::error!("mod_muc can only be loaded on a component (host {host})");
        return;
    }
    let opts = Options::from_config(core.options(), host);
    if let Some(h) = core.hosts.get_mut(host) {
        h.features.insert(broadcast::MUC.to_owned());
    }
    core.state::<MucState>()
        .services
        .insert(host.to_owned(), Service::new(opts));
    let bus = Bus::Host(host.to_owned());
    for event in [
        "presence/full",
        "presence/bare",
        "message/full",
        "message/bare",
        "iq/full",
        "iq/bare",
        "iq/host",
    ] {
        let h = host.to_owned();
        // Above mod_iq (0), so room IQs never reach its generic dispatch.
        core.hook(
            &bus,
            event,
            1.0,
            Rc::new(move |core, ev| dispatch(core, &h, ev)),
        );
    }
}

fn dispatch(core: &mut Core, host: &str, ev: &mut Event) -> Option<bool> {
    let stanza = ev.stanza.as_ref()?;
    let mut out = Vec::new();
    let store = core.shared.store.clone();
    let handled = {
        let state = core.state::<MucState>();
        let service = state.services.get_mut(host)?;
        service.handle(stanza, now(), &store, &mut out)
    };
    for st in out {
        send(core, host, st);
    }
    handled.then_some(true)
}

/// Routes one stanza from the MUC host.
pub fn send(core: &mut Core, host: &str, stanza: Element) {
    post_stanza(core, Origin::Host(host.to_owned()), stanza, false);
}
