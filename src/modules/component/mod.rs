//! mod_component (reference §12.3): external components over XEP-0114. The core side
//! lives here — stanzas for a component domain go down its connection, or get Prosody's
//! offline answers — and the connection side in `listener.rs` (accepting, the stream in
//! `stream.rs`). A component connection is a [`HostLink`] on the core, not a c2s session.

pub mod listener;
pub mod stream;

use std::rc::Rc;
use std::sync::Arc;

use crate::core::{
    Bus, Core, Event, HookResult, HostLink, Origin, Outbound, OutboundTx, SessionId,
};
use crate::xml::Element;
use crate::xmpp::error::{StanzaCondition, StanzaError, StreamCondition, StreamError};
use crate::xmpp::ns;

/// The `component_module` value that makes a Component external.
pub const MODULE_NAME: &str = "component";
const NS_PROTOCOL: &str = "xmpp:prosody.im/protocol/component";

/// Loads mod_component on a Component host: everything addressed to it, at priority −1
/// (after the host's own modules), is written to the connected component.
pub fn load(core: &mut Core, host: &str) {
    if !core.hosts.get(host).is_some_and(|h| h.is_component) {
        tracing::error!("mod_component can only be loaded on a Component host, not {host}");
        return;
    }
    let bus = Bus::Host(host.to_owned());
    for kind in ["message", "presence", "iq"] {
        for to in ["full", "bare", "host"] {
            let h = host.to_owned();
            core.hook(
                &bus,
                &format!("{kind}/{to}"),
                -1.0,
                Rc::new(move |core, ev| to_component(core, &h, ev)),
            );
        }
    }
}

fn to_component(core: &mut Core, host: &str, ev: &mut Event) -> HookResult {
    if let Some(link) = core.host_links.get(host) {
        let stanza = ev.stanza.take()?;
        let _ = link.tx.send(Outbound::Stanza(Arc::new(stanza)));
        return Some(true);
    }
    let stanza = ev.stanza.as_ref()?;
    let stype = stanza.attr("type").unwrap_or("");
    if stype == "error" || stype == "result" {
        return Some(true);
    }
    let reply = offline_answer(core, host, stanza);
    core.reply(&ev.origin, reply);
    Some(true)
}

/// What a component domain answers while nothing is connected: its disco#info identity
/// when it has a `name`, else `wait/remote-server-timeout` "Component unavailable".
fn offline_answer(core: &Core, host: &str, stanza: &Element) -> Element {
    let name = core.options().host(host).string("name");
    let query = stanza.child_elements().next();
    let disco_info = stanza.name == "iq"
        && stanza.attr("type") == Some("get")
        && stanza.attr("to") == Some(host)
        && query.is_some_and(|q| {
            q.name == "query" && q.ns == ns::DISCO_INFO && q.attr("node").is_none_or(str::is_empty)
        });
    if let (true, Some(name)) = (disco_info, name) {
        let q = Element::new("query", ns::DISCO_INFO)
            .with_child(
                Element::new("identity", ns::DISCO_INFO)
                    .with_attr("category", "component")
                    .with_attr("type", "generic")
                    .with_attr("name", name),
            )
            .with_child(Element::new("feature", ns::DISCO_INFO).with_attr("var", ns::DISCO_INFO));
        return crate::modules::iq::result_for(stanza).with_child(q);
    }
    let mut e = StanzaError::wait(StanzaCondition::RemoteServerTimeout)
        .with_text("Component unavailable")
        .reply(stanza);
    if let Some(err) = e.get_child_mut("error", &stanza.ns) {
        err.set_attr("by", host);
        err.push_child(Element::new("not-connected", NS_PROTOCOL));
    }
    e
}

/// Attaches a connection that completed the handshake as `host`
/// (`component_conflict_resolve`: `kick_new`, the default, refuses it; `kick_old`
/// closes the connected one). Fires `component-authenticated`.
pub fn attach(
    core: &mut Core,
    host: &str,
    session: SessionId,
    tx: OutboundTx,
) -> Result<(), Element> {
    if let Some(old) = core.host_links.get(host) {
        let policy = core
            .options()
            .host(host)
            .string("component_conflict_resolve")
            .unwrap_or_else(|| "kick_new".into());
        if policy == "kick_old" {
            let e = StreamError::new(StreamCondition::Conflict)
                .with_text("Replaced by a new connection")
                .element();
            let _ = old.tx.send(Outbound::Close(Some(Box::new(e))));
        } else {
            tracing::error!("Second component attempted to connect to {host}, denying connection");
            return Err(StreamError::new(StreamCondition::Conflict)
                .with_text("Component already connected")
                .element());
        }
    }
    core.host_links
        .insert(host.to_owned(), HostLink { session, tx });
    tracing::info!("External component {host} successfully authenticated");
    let mut ev = Event::global();
    ev.origin = Origin::Host(host.to_owned());
    core.fire(
        &Bus::Host(host.to_owned()),
        "component-authenticated",
        &mut ev,
    );
    crate::lua::flush_filtered(core);
    Ok(())
}

/// The connection of `session` is gone: the domain is offline again (unless a newer
/// connection replaced it). Fires `component-disconnected`.
pub fn detach(core: &mut Core, host: &str, session: SessionId, reason: Option<String>) {
    if core
        .host_links
        .get(host)
        .is_none_or(|l| l.session != session)
    {
        return;
    }
    core.host_links.remove(host);
    tracing::info!(
        "External component {host} disconnected: {}",
        reason.as_deref().unwrap_or("closed")
    );
    let mut ev = Event::global();
    ev.origin = Origin::Host(host.to_owned());
    ev.error = reason;
    core.fire(
        &Bus::Host(host.to_owned()),
        "component-disconnected",
        &mut ev,
    );
    crate::lua::flush_filtered(core);
}

/// A stanza the component sent (already checked by the stream): routed like a local
/// host's own stanza, without pre-events (reference §12.2).
pub fn inbound(core: &mut Core, host: &str, session: SessionId, stanza: Element) {
    if core
        .host_links
        .get(host)
        .is_none_or(|l| l.session != session)
    {
        return;
    }
    crate::core::router::post_stanza(core, Origin::Host(host.to_owned()), stanza, false);
    crate::lua::flush_filtered(core);
}
