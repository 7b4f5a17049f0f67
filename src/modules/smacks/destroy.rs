//! What becomes of a session's unacknowledged stanzas when it is destroyed (§16.4), on
//! the core thread just before the session is unbound: each fires `delivery/failure`;
//! unhandled ones are bounced `cancel/recipient-unavailable` unless they are errors or
//! came from the session itself. The built-in handler keeps chat/normal messages: MAM
//! results are dropped, messages already archived for a client that queried its archive
//! are left to the archive, and the user's last session hands the rest to offline storage.

use std::sync::Arc;

use super::queue::Queued;
use crate::core::router::post_stanza;
use crate::core::{Bus, Core, Event, Origin, SessionId, Shared};
use crate::xml::Element;
use crate::xmpp::error::{StanzaCondition, StanzaError};
use crate::xmpp::ns;

const MAM: &str = "urn:xmpp:mam:2";
const STANZA_ID: &str = "urn:xmpp:sid:0";

/// Has the core handle `unacked` and then unbind `session` (`error`: the unavailable
/// presence's reason). A plain unbind when nothing is unacked.
pub fn unbind_with_unacked(
    shared: &Shared,
    session: SessionId,
    full_jid: Option<Arc<str>>,
    unacked: Vec<Queued>,
    error: Option<String>,
) {
    use crate::core::session::{CoreMsg, CoreTask};
    let msg = match full_jid {
        Some(full) if !unacked.is_empty() => CoreMsg::Task(CoreTask(Box::new(move |core| {
            handle_unacked(core, session, &full, unacked);
            crate::core::bind::unbind(core, session, error);
        }))),
        _ => CoreMsg::Unbind { session, error },
    };
    let _ = shared.core_tx.send(msg);
}

/// Each unacked stanza (with its `<delay/>`) through `delivery/failure`, bounced when no
/// handler took it.
pub fn handle_unacked(core: &mut Core, session: SessionId, full_jid: &str, unacked: Vec<Queued>) {
    let bare = full_jid.split('/').next().unwrap_or(full_jid).to_owned();
    let host = bare.split('@').nth(1).unwrap_or_default().to_owned();
    let bus = Bus::Host(host.clone());
    for item in unacked {
        let stanza = item.with_delay(&bare);
        let mut ev = Event::stanza(Origin::Session(session), stanza);
        ev.session = Some(session);
        let handled = core.fire(&bus, "delivery/failure", &mut ev).is_some();
        let Some(stanza) = ev.stanza else { continue };
        if handled || stanza.attr("type") == Some("error") || stanza.attr("from") == Some(full_jid)
        {
            continue;
        }
        let reply = StanzaError::cancel(StanzaCondition::RecipientUnavailable).reply(&stanza);
        post_stanza(core, Origin::Host(host.clone()), reply, false);
    }
}

/// The handler mod_smacks registers (§16.4).
pub fn builtin_delivery_failure(core: &mut Core, ev: &mut Event) -> Option<bool> {
    let session = ev.session?;
    let stanza = ev.stanza.as_ref()?;
    let kind = stanza.attr("type").unwrap_or("normal");
    if stanza.name != "message" || stanza.ns != ns::CLIENT || !matches!(kind, "chat" | "normal") {
        return None;
    }
    if stanza.get_child("result", MAM).is_some() {
        return Some(true);
    }
    let s = core.sessions.get(&session)?;
    let (host, bare) = (s.host().to_owned(), s.bare_jid().to_owned());
    // Already in the archive of a client that reads it (it queried MAM): it finds the
    // message there, so it is neither stored offline nor bounced.
    let archived = stanza
        .child_elements()
        .any(|c| c.name == "stanza-id" && c.ns == STANZA_ID && c.attr("by") == Some(bare.as_str()));
    if archived
        && core
            .state::<crate::modules::mam::MamState>()
            .queried
            .contains(&session)
    {
        return Some(true);
    }
    let only = core
        .bare_sessions
        .get(&bare)
        .is_some_and(|l| l.as_slice() == [session]);
    if !only {
        return None;
    }
    let mut offline = Event::stanza(Origin::Session(session), stanza.clone());
    offline.session = Some(session);
    core.fire(&Bus::Host(host), "message/offline/handle", &mut offline)
}

/// The session's stanzas as Lua sees the queue (copies with `<delay/>`).
pub fn queue_copies(unacked: &[Queued], bare: &str) -> Vec<Element> {
    unacked.iter().map(|q| q.with_delay(bare)).collect()
}
