//! mod_muc: multi-user chat (XEP-0045) as a native component module, behaving as
//! Prosody 0.12's `plugins/muc` does (reference §13). The room logic is sans-IO: a
//! handler is fed a stanza and `now` and pushes the stanzas to send; `service.rs` keeps
//! the rooms of one MUC host and the wiring in this file routes what they return.
//!
//! Lua plugins see rooms through lua.rs (events after the fact), lua_events.rs (events
//! that may stop or change what the room does) and lua_room.rs (room methods).

pub mod admin;
pub mod affiliation;
pub mod broadcast;
pub mod config_form;
pub mod disco;
pub mod history;
pub mod invite;
pub mod iq;
pub mod join;
pub mod lua;
pub mod lua_events;
pub mod lua_room;
pub mod mam;
pub mod mam_query;
pub mod message;
pub mod occupant;
pub mod options;
pub mod outbox;
pub mod register;
pub mod room;
pub mod service;
pub mod storage;

use std::collections::HashMap;
use std::rc::Rc;

use crate::core::router::post_stanza;
use crate::core::{Bus, Core, Event, Origin};
use crate::xml::Element;
use options::Options;
use outbox::Outbox;
use service::Service;

/// The MUC services of this process, by host.
#[derive(Default)]
pub struct MucState {
    pub services: HashMap<String, Service>,
    /// mod_muc_mam's options for hosts where it loaded before mod_muc.
    pub mam: HashMap<String, mam::MamOptions>,
}

/// The bare part of a JID string.
pub fn bare(jid: &str) -> String {
    jid.split_once('/').map_or(jid, |(b, _)| b).to_owned()
}

/// The resource (nick) part of a JID string.
pub fn resource(jid: &str) -> &str {
    jid.split_once('/').map_or("", |(_, r)| r)
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
    let mut opts = Options::from_config(core.options(), host);
    opts.mam = core.state::<MucState>().mam.remove(host);
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
    if lua_events::before(core, host, ev).is_some() || lua_veto(core, host, ev) {
        return Some(true);
    }
    if mam_query::handle(core, host, ev) {
        return Some(true);
    }
    let stanza = ev.stanza.as_ref()?;
    let mut out = Outbox::new();
    let store = core.shared.store.clone();
    let lua_stanzas = message_events_hooked(core, host);
    let handled = {
        let state = core.state::<MucState>();
        let service = state.services.get_mut(host)?;
        service.lua_stanzas = lua_stanzas;
        service.handle(stanza, now(), &store, &mut out)
    };
    lua_config_form(core, host, stanza, &mut out);
    let mut events = match core.state::<MucState>().services.get_mut(host) {
        Some(s) => std::mem::take(&mut s.events),
        None => Vec::new(),
    };
    mam::flush(core, host);
    for (room_jid, _) in events
        .iter()
        .filter(|(_, e)| e.name == "muc-room-destroyed")
    {
        mam::forget(core, host, room_jid);
    }
    events.retain(|(_, e)| {
        core.hosts
            .get(host)
            .is_some_and(|h| h.events.has_handlers(e.name))
    });
    let origin = ev.origin.clone();
    let mut events = events.into_iter().peekable();
    for (i, item) in out.into_items().into_iter().enumerate() {
        while let Some((room_jid, e)) = events.next_if(|(_, e)| e.at.is_some_and(|at| at <= i)) {
            notify(core, host, &room_jid, &origin, &e);
        }
        route(core, host, item);
    }
    for (room_jid, e) in events {
        notify(core, host, &room_jid, &origin, &e);
    }
    handled.then_some(true)
}

/// Whether a Lua handler wants the message events that carry a copy of each message.
pub fn message_events_hooked(core: &Core, host: &str) -> bool {
    core.hosts.get(host).is_some_and(|h| {
        h.events.has_handlers("muc-broadcast-message") || h.events.has_handlers("muc-add-history")
    })
}

fn notify(core: &mut Core, host: &str, room_jid: &str, origin: &Origin, e: &room::MucEvent) {
    let room = room_copy(core, host, room_jid).unwrap_or_else(|| room::Room::new(room_jid));
    lua::notify(core, host, &room, origin, e);
}

/// The room a stanza is addressed to, copied for a Lua event (only when one is hooked).
fn room_copy(core: &mut Core, host: &str, to: &str) -> Option<room::Room> {
    let state = core.state::<MucState>();
    state.services.get(host)?.rooms.get(&bare(to)).cloned()
}

/// Lua `muc-occupant-pre-join` handlers see joins before the room does.
fn lua_veto(core: &mut Core, host: &str, ev: &Event) -> bool {
    let Some(stanza) = ev.stanza.as_ref() else {
        return false;
    };
    let to = stanza.attr("to").unwrap_or_default();
    let joining = stanza.name == "presence" && stanza.attr("type").is_none() && to.contains('/');
    if !joining
        || !core
            .hosts
            .get(host)
            .is_some_and(|h| h.events.has_handlers("muc-occupant-pre-join"))
    {
        return false;
    }
    let from = stanza.attr("from").unwrap_or_default();
    let (room, is_new) = match room_copy(core, host, to) {
        Some(r) => (r, false),
        None => (room::Room::new(&bare(to)), true),
    };
    if room.occupant_by_real(from).is_some() {
        return false;
    }
    lua::pre_join(core, host, &room, &ev.origin, stanza, is_new)
}

/// Lua `muc-config-form` handlers add fields to the form an owner gets.
fn lua_config_form(core: &mut Core, host: &str, stanza: &Element, out: &mut Outbox) {
    let is_form_get = stanza.name == "iq"
        && stanza.attr("type") == Some("get")
        && stanza.get_child("query", iq::MUC_OWNER).is_some();
    if !is_form_get
        || !core
            .hosts
            .get(host)
            .is_some_and(|h| h.events.has_handlers("muc-config-form"))
    {
        return;
    }
    let to = stanza.attr("to").unwrap_or_default();
    let Some(room) = room_copy(core, host, to) else {
        return;
    };
    let actor = stanza.attr("from").unwrap_or_default();
    for reply in out.iter_mut() {
        let form = reply
            .get_child_mut("query", iq::MUC_OWNER)
            .and_then(|q| q.get_child_mut("x", config_form::DATA));
        if let Some(form) = form {
            lua::config_form(core, host, &room, actor, form);
        }
    }
}

/// Routes one stanza from the MUC host.
pub fn send(core: &mut Core, host: &str, stanza: Element) {
    post_stanza(core, Origin::Host(host.to_owned()), stanza, false);
}

/// Routes one item of a room's output.
pub fn route(core: &mut Core, host: &str, item: outbox::Item) {
    match item {
        outbox::Item::Single(st) => send(core, host, st),
        outbox::Item::Broadcast(b) => fan_out(core, host, &b),
    }
}

/// A broadcast: an occupant bound here, on a host where nothing but the stock delivery
/// handler would see the stanza, gets the shared stanza straight into its queue; anyone
/// else gets a copy routed as usual (remote occupants, hosts with blocklists, plugins).
fn fan_out(core: &mut Core, host: &str, b: &outbox::Broadcast) {
    let stanza = b.stanza.stanza();
    let delivery = match (stanza.name.as_str(), stanza.attr("type")) {
        ("message", _) => core
            .state::<crate::modules::message::FullDelivery>()
            .0
            .clone()
            .map(|h| ("message/full", h)),
        ("presence", None | Some("unavailable")) => core
            .state::<crate::modules::presence::FullDelivery>()
            .0
            .clone()
            .map(|h| ("presence/full", h)),
        _ => None,
    };
    let mut direct_host: Option<(String, bool)> = None;
    for to in &b.to {
        let direct = delivery.as_ref().and_then(|(event, handler)| {
            let sid = *core.full_sessions.get(to.as_str())?;
            let user_host = core.sessions.get(&sid)?.host();
            // Users of one room are mostly of one host: its answer is kept.
            let ok = match &direct_host {
                Some((h, ok)) if h == user_host => *ok,
                _ => {
                    let ok = core
                        .hosts
                        .get(user_host)
                        .is_some_and(|h| h.events.only_handler_is(event, handler));
                    direct_host = Some((user_host.to_owned(), ok));
                    ok
                }
            };
            ok.then_some(sid)
        });
        match direct {
            Some(sid) => {
                core.send_shared(sid, &b.stanza);
            }
            None => send(core, host, b.stanza.addressed(to)),
        }
    }
}
