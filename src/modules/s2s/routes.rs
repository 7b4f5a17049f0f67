//! The core thread's side of s2s (Prosody's `route/remote` and s2smanager): outgoing routes
//! per (local host, remote domain), the queue of a route that is coming up, bounces when it
//! fails, stanzas arriving from authenticated incoming streams, and the dialback
//! verifications in flight between an incoming stream and an outgoing one.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::events::{self, StreamView};
use super::S2sContext;
use crate::core::router::post_stanza;
use crate::core::session::CoreTask;
use crate::core::{Core, CoreMsg, Origin, Shared};
use crate::xml::Element;
use crate::xmpp::error::{StanzaCondition, StanzaError, StreamCondition, StreamError};
use crate::xmpp::jid::Jid;
use crate::xmpp::ns;

/// What the core (or the core on behalf of another stream) asks a connection task to do.
#[derive(Debug)]
pub enum Cmd {
    Stanza(Arc<Element>),
    /// A dialback element (`db:verify`) to send once the stream is open, authenticated or not.
    Dialback(Element),
    Close(Option<Element>),
    /// Incoming streams: the authoritative server's answer for `domain` arrived.
    DialbackOutcome {
        domain: String,
        local: String,
        valid: bool,
    },
}

pub type CmdTx = mpsc::UnboundedSender<Cmd>;

struct Route {
    id: u64,
    tx: CmdTx,
    authed: bool,
    queue: Vec<Element>,
    /// An incoming bidi stream (XEP-0288) serving as this route.
    bidi: bool,
    /// TLS on the stream (for the Lua session view).
    secure: bool,
}

/// s2s state on the core thread (`core.state::<Routes>()`).
#[derive(Default)]
pub struct Routes {
    ctx: Option<Arc<S2sContext>>,
    out: HashMap<(String, String), Route>,
    next_id: u64,
    /// Dialback checks in flight: (originating domain, our stream id) -> the incoming stream.
    verifying: HashMap<(String, String), CmdTx>,
    /// Incoming streams, to close at shutdown (pruned as they end).
    incoming: Vec<CmdTx>,
}

/// Runs `f` on the core thread (from a connection task).
pub fn on_core(shared: &Shared, f: impl FnOnce(&mut Core) + Send + 'static) {
    let _ = shared.core_tx.send(CoreMsg::Task(CoreTask(Box::new(f))));
}

/// Installs the running s2s service (called once the listeners are up).
pub fn install(core: &mut Core, ctx: Arc<S2sContext>) {
    core.state::<Routes>().ctx = Some(ctx);
}

fn domain_of(jid: &str) -> Option<String> {
    Jid::parse(jid).ok().map(|j| j.domain().to_owned())
}

/// `route/remote`: sends `stanza` to its remote domain over the route from its local host,
/// bringing the route up (and queueing) when needed. Gives the stanza back when s2s is not
/// running for that host, for the caller's "not enabled" answer.
pub fn route(core: &mut Core, origin: &Origin, stanza: Element) -> Option<Element> {
    let Some(ctx) = core.state::<Routes>().ctx.clone() else {
        return Some(stanza);
    };
    let origin_host = match origin {
        Origin::Session(id) => core.sessions.get(id).map(|s| s.host().to_owned()),
        Origin::Host(h) => Some(h.clone()),
    };
    // A component's (or a host module's) stanza leaves with its own domain.
    let from_host = stanza
        .attr("from")
        .and_then(domain_of)
        .filter(|d| core.is_local_host(d))
        .or(origin_host);
    let (Some(local), Some(remote)) = (from_host, stanza.attr("to").and_then(domain_of)) else {
        return None;
    };
    if !ctx.s2s_hosts.contains(&local) {
        return Some(stanza);
    }
    send_out(core, &ctx, &local, &remote, stanza);
    None
}

fn send_out(core: &mut Core, ctx: &Arc<S2sContext>, local: &str, remote: &str, stanza: Element) {
    let routes = core.state::<Routes>();
    let key = (local.to_owned(), remote.to_owned());
    if let Some(r) = routes.out.get_mut(&key) {
        if !r.authed {
            r.queue.push(stanza);
            return;
        }
        match r.tx.send(Cmd::Stanza(Arc::new(stanza))) {
            Ok(()) => return,
            Err(mpsc::error::SendError(Cmd::Stanza(s))) => {
                routes.out.remove(&key);
                let s = Arc::try_unwrap(s).unwrap_or_else(|s| (*s).clone());
                return send_out(core, ctx, local, remote, s);
            }
            Err(_) => return,
        }
    }
    let tx = new_route(core, ctx, local, remote);
    if let Some(r) = core.state::<Routes>().out.get_mut(&key) {
        r.queue.push(stanza);
    }
    drop(tx);
}

/// Creates the route and starts its connection task.
fn new_route(core: &mut Core, ctx: &Arc<S2sContext>, local: &str, remote: &str) -> CmdTx {
    let routes = core.state::<Routes>();
    routes.next_id += 1;
    let id = routes.next_id;
    let (tx, rx) = mpsc::unbounded_channel();
    routes.out.insert(
        (local.to_owned(), remote.to_owned()),
        Route {
            id,
            tx: tx.clone(),
            authed: false,
            queue: Vec::new(),
            bidi: false,
            secure: false,
        },
    );
    tracing::debug!("s2s: new outgoing route {local} -> {remote}");
    ctx.runtime.spawn(super::outgoing::run(
        ctx.clone(),
        local.to_owned(),
        remote.to_owned(),
        id,
        rx,
    ));
    tx
}

/// The outgoing route `id` is authenticated: flush its queue (`s2sout-established`).
pub fn established(
    core: &mut Core,
    local: &str,
    remote: &str,
    id: u64,
    secure: bool,
    mechanism: &'static str,
) {
    let routes = core.state::<Routes>();
    let Some(r) = routes.out.get_mut(&(local.to_owned(), remote.to_owned())) else {
        return;
    };
    if r.id != id {
        return;
    }
    r.authed = true;
    r.secure = secure;
    for s in std::mem::take(&mut r.queue) {
        let _ = r.tx.send(Cmd::Stanza(Arc::new(s)));
    }
    tracing::info!("s2s: outgoing {local} -> {remote} established");
    let view = StreamView {
        local: local.to_owned(),
        remote: remote.to_owned(),
        outgoing: true,
        secure,
        authed: true,
    };
    events::authenticated(core, &view, mechanism);
    events::set_s2sout(core, local, remote, Some(&view));
    events::established(core, &view);
}

/// `remote` authenticated on an incoming stream that asked for bidi (XEP-0288): unless a
/// route `local -> remote` is already up, that stream becomes it (Prosody registers it
/// in `hosts[local].s2sout[remote]`). Returns whether it did.
fn bidi_established(core: &mut Core, local: &str, remote: &str, secure: bool, tx: CmdTx) -> bool {
    let routes = core.state::<Routes>();
    let key = (local.to_owned(), remote.to_owned());
    if routes
        .out
        .get(&key)
        .is_some_and(|r| !r.tx.is_closed() && (r.authed || r.bidi))
    {
        return false;
    }
    routes.next_id += 1;
    let id = routes.next_id;
    // A route still coming up hands its queue over and is left to end on its own.
    let queue = routes.out.remove(&key).map(|r| r.queue).unwrap_or_default();
    for s in queue {
        let _ = tx.send(Cmd::Stanza(Arc::new(s)));
    }
    routes.out.insert(
        key,
        Route {
            id,
            tx,
            authed: true,
            queue: Vec::new(),
            bidi: true,
            secure,
        },
    );
    tracing::info!("s2s: incoming bidi stream {remote} -> {local} is the route back");
    true
}

/// `remote` authenticated on an incoming stream to `local` (with `mechanism`): the Lua
/// events, and on a bidi stream (`bidi` holds its sender) the route back.
pub fn incoming_authenticated(
    core: &mut Core,
    view: StreamView,
    mechanism: &'static str,
    bidi: Option<CmdTx>,
) {
    events::authenticated(core, &view, mechanism);
    let (local, remote) = (view.local.clone(), view.remote.clone());
    if let Some(tx) = bidi {
        if bidi_established(core, &local, &remote, view.secure, tx) {
            events::set_s2sout(core, &local, &remote, Some(&view));
        }
    }
    events::established(core, &view);
}

/// An incoming stream ended (`view` names it once its domains are known): the routes it
/// served as a bidi stream go with it, and the stanzas handed to it too late
/// (`leftovers`, as (local, remote, stanza)) are routed again.
pub fn incoming_closed(
    core: &mut Core,
    tx: &CmdTx,
    view: Option<StreamView>,
    leftovers: Vec<(String, String, Element)>,
) {
    let routes = core.state::<Routes>();
    let mut gone = Vec::new();
    routes.out.retain(|k, r| {
        let ours = r.bidi && r.tx.same_channel(tx);
        if ours {
            gone.push(k.clone());
        }
        !ours
    });
    for (local, remote) in gone {
        events::set_s2sout(core, &local, &remote, None);
    }
    if let Some(view) = &view {
        events::destroyed(core, view, None);
    }
    let Some(ctx) = core.state::<Routes>().ctx.clone() else {
        return;
    };
    for (local, remote, s) in leftovers {
        send_out(core, &ctx, &local, &remote, s);
    }
}

/// The outgoing route `id` ended; what was still queued is bounced to its senders.
/// `leftovers` were handed to the task after its stream ended: they are routed again.
pub fn closed(
    core: &mut Core,
    local: &str,
    remote: &str,
    id: u64,
    reason: &str,
    had_stream: bool,
    leftovers: Vec<Element>,
) {
    let key = (local.to_owned(), remote.to_owned());
    let routes = core.state::<Routes>();
    let route = match routes.out.get(&key) {
        Some(r) if r.id == id => routes.out.remove(&key),
        _ => None,
    };
    if let Some(ctx) = routes.ctx.clone() {
        for s in leftovers {
            send_out(core, &ctx, local, remote, s);
        }
    }
    let Some(route) = route else {
        return;
    };
    let view = StreamView {
        local: local.to_owned(),
        remote: remote.to_owned(),
        outgoing: true,
        secure: route.secure,
        authed: route.authed,
    };
    if route.authed {
        events::set_s2sout(core, local, remote, None);
    }
    events::destroyed(core, &view, Some(reason));
    if !route.queue.is_empty() {
        tracing::info!(
            "s2s: bouncing {} queued stanzas for {remote}: {reason}",
            route.queue.len()
        );
    }
    for stanza in route.queue {
        if let Some(e) = bounce(&stanza, local, reason, had_stream) {
            post_stanza(core, Origin::Host(local.to_owned()), e, false);
        }
    }
}

/// The error a queued stanza of a failed route is answered with (reference §17.6).
pub fn bounce(stanza: &Element, local: &str, reason: &str, had_stream: bool) -> Option<Element> {
    let stype = stanza.attr("type").unwrap_or("");
    if stype == "error" || stype == "result" || stanza.ns != ns::CLIENT {
        return None;
    }
    if !matches!(stanza.name.as_str(), "message" | "presence" | "iq") {
        return None;
    }
    let error = if had_stream {
        StanzaError::wait(StanzaCondition::RemoteServerTimeout)
    } else {
        StanzaError::cancel(StanzaCondition::RemoteServerNotFound)
    };
    let error = error
        .with_text(format!("Server-to-server connection failed: {reason}"))
        .with_by(local);
    Some(error.reply(stanza))
}

/// A stanza from an authenticated incoming stream, already checked to be from the
/// stream's domain and to a host we serve. No `pre-*` events: those are for local senders.
pub fn inbound(core: &mut Core, local: String, stanza: Element) {
    post_stanza(core, Origin::Host(local), stanza, false);
}

/// An incoming stream asks us to check a dialback key with `remote`'s authoritative server
/// (over our outgoing route `local -> remote`, authenticated or not).
pub fn verify_key(
    core: &mut Core,
    local: String,
    remote: String,
    stream_id: String,
    key: String,
    incoming: CmdTx,
) {
    let Some(ctx) = core.state::<Routes>().ctx.clone() else {
        return;
    };
    let el = super::dialback::verify_request(&local, &remote, &stream_id, &key);
    core.state::<Routes>()
        .verifying
        .insert((remote.clone(), stream_id), incoming);
    let routes = core.state::<Routes>();
    let existing = routes
        .out
        .get(&(local.clone(), remote.clone()))
        .map(|r| (r.tx.clone(), r.bidi));
    let tx = match existing {
        // Not over an incoming bidi stream: `db:verify` goes to the authoritative server
        // on a stream of our own.
        Some((tx, false)) if !tx.is_closed() => tx,
        _ => new_route(core, &ctx, &local, &remote),
    };
    let _ = tx.send(Cmd::Dialback(el));
}

/// The authoritative server answered a `db:verify` on an outgoing stream.
pub fn verify_answer(
    core: &mut Core,
    remote: String,
    local: String,
    stream_id: String,
    valid: bool,
) {
    let Some(incoming) = core
        .state::<Routes>()
        .verifying
        .remove(&(remote.clone(), stream_id))
    else {
        return;
    };
    let _ = incoming.send(Cmd::DialbackOutcome {
        domain: remote,
        local,
        valid,
    });
}

/// `Core::reply` for an origin that is a host: a reply addressed to a remote domain (an
/// answer to a stanza that came over s2s) is routed out on the next core turn.
pub fn reply_remote(core: &Core, stanza: Element) {
    let installed = core
        .module_state
        .get(&std::any::TypeId::of::<Routes>())
        .and_then(|b| b.downcast_ref::<Routes>())
        .is_some_and(|r| r.ctx.is_some());
    let Some(to) = stanza.attr("to").and_then(domain_of) else {
        return;
    };
    if !installed || core.is_local_host(&to) {
        return;
    }
    let Some(from) = stanza.attr("from").and_then(domain_of) else {
        return;
    };
    on_core(&core.shared, move |core| {
        crate::core::router::route_remote(core, &Origin::Host(from), stanza)
    });
}

/// The outgoing routes as (local host, remote domain, authenticated), sorted (for the
/// admin console and tests).
pub fn outgoing_routes(core: &mut Core) -> Vec<(String, String, bool)> {
    let mut out: Vec<(String, String, bool)> = core
        .state::<Routes>()
        .out
        .iter()
        .map(|((l, r), route)| (l.clone(), r.clone(), route.authed))
        .collect();
    out.sort();
    out
}

/// The routes that are incoming bidi streams, as (local host, remote domain), sorted.
pub fn bidi_routes(core: &mut Core) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = core
        .state::<Routes>()
        .out
        .iter()
        .filter(|(_, r)| r.bidi)
        .map(|((l, r), _)| (l.clone(), r.clone()))
        .collect();
    out.sort();
    out
}

/// An incoming stream started (closed with the others at shutdown).
pub fn register_incoming(core: &mut Core, tx: CmdTx) {
    let incoming = &mut core.state::<Routes>().incoming;
    incoming.retain(|t| !t.is_closed());
    incoming.push(tx);
}

/// Closes every s2s stream with `system-shutdown` (the core's shutdown).
pub fn shutdown(core: &mut Core) {
    let routes = core.state::<Routes>();
    for tx in routes.incoming.drain(..) {
        let _ = tx.send(Cmd::Close(Some(
            StreamError::new(StreamCondition::SystemShutdown).element(),
        )));
    }
    for r in routes.out.values() {
        let _ = r.tx.send(Cmd::Close(Some(
            StreamError::new(StreamCondition::SystemShutdown).element(),
        )));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> Element {
        Element::new("message", ns::CLIENT)
            .with_attr("from", "a@a.test/r")
            .with_attr("to", "b@b.test")
            .with_attr("id", "m1")
            .with_child(Element::new("body", ns::CLIENT).with_text("hi"))
    }

    #[test]
    fn a_route_that_never_opened_a_stream_bounces_remote_server_not_found() {
        let e = bounce(&message(), "a.test", "connection refused", false).expect("bounced");
        assert_eq!(e.attr("to"), Some("a@a.test/r"));
        assert_eq!(e.attr("type"), Some("error"));
        let err = e.get_child("error", ns::CLIENT).expect("error");
        assert_eq!(err.attr("type"), Some("cancel"));
        assert_eq!(err.attr("by"), Some("a.test"));
        assert!(err
            .get_child("remote-server-not-found", ns::STANZAS)
            .is_some());
        assert!(e
            .to_xml()
            .contains("Server-to-server connection failed: connection refused"));
    }

    #[test]
    fn a_route_whose_peer_opened_a_stream_bounces_remote_server_timeout() {
        let e = bounce(&message(), "a.test", "x", true).expect("bounced");
        let err = e.get_child("error", ns::CLIENT).expect("error");
        assert_eq!(err.attr("type"), Some("wait"));
        assert!(err
            .get_child("remote-server-timeout", ns::STANZAS)
            .is_some());
    }

    #[test]
    fn errors_and_results_are_never_bounced() {
        let mut m = message();
        m.set_attr("type", "error");
        assert!(bounce(&m, "a.test", "x", false).is_none());
        let iq = Element::new("iq", ns::CLIENT).with_attr("type", "result");
        assert!(bounce(&iq, "a.test", "x", false).is_none());
    }
}
