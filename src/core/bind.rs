//! Resource binding on the core thread: conflict resolution (`conflict_resolve`),
//! registration of the full and bare JID, and the matching unbind (reference §9.4).

use rand::Rng;

use super::session::{BindError, BindRequest};
use super::{Bus, Core, Event, Session, SessionId};
use crate::xmpp::error::{StanzaCondition, StreamCondition, StreamError};

/// Prosody's `util.id.short()`: 12 URL-safe random characters.
pub fn short_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = rand::thread_rng();
    (0..12)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Binds a resource and registers the session; answers on the request's channel.
pub fn bind(core: &mut Core, req: BindRequest) {
    // Exact capacity: `bare_sessions` keeps this key while the user is online, and
    // `format!` grows by doubling.
    let mut bare = String::with_capacity(req.username.len() + 1 + req.host.len());
    bare.push_str(&req.username);
    bare.push('@');
    bare.push_str(&req.host);
    let policy = core
        .shared
        .policies
        .get(&req.host)
        .map(|p| p.conflict_resolve.clone())
        .unwrap_or_default();
    let mut resource = if req.resource.is_empty() {
        short_id()
    } else {
        req.resource.clone()
    };
    let mut full = format!("{bare}/{resource}");
    if let Some(&old) = core.full_sessions.get(full.as_str()) {
        match policy.as_str() {
            "kick_new" | "refuse" => {
                let _ = req
                    .reply
                    .send(Err(BindError::cancel(StanzaCondition::Conflict)
                        .with_text("Resource already exists")));
                return;
            }
            "increment" => {
                let mut n = 1;
                while core
                    .full_sessions
                    .contains_key(format!("{full}#{n}").as_str())
                {
                    n += 1;
                }
                resource = format!("{resource}#{n}");
                full = format!("{bare}/{resource}");
            }
            "random" => {
                resource = short_id();
                full = format!("{bare}/{resource}");
            }
            _ => {
                core.close_session(
                    old,
                    Some(
                        StreamError::new(StreamCondition::Conflict)
                            .with_text("Replaced by new connection")
                            .element(),
                    ),
                );
                unbind(core, old, Some("Replaced by new connection".into()));
            }
        }
    }
    let mut session = Session::new(req.session, &req.username, &req.host, &resource, req.tx);
    session.ip = req.ip;
    session.secure = req.secure;
    session.transport = req.transport;
    let key = session.full_jid_arc().clone();
    debug_assert_eq!(*key, *full);
    core.sessions.insert(req.session, Box::new(session));
    core.full_sessions.insert(key.clone(), req.session);
    // Grown one slot at a time: most users hold one session, and a first `push` would
    // reserve four.
    let list = core.bare_sessions.entry(bare).or_default();
    list.reserve_exact(1);
    list.push(req.session);
    if req.reply.send(Ok(key)).is_err() {
        // The connection went away while we were binding.
        unbind(core, req.session, None);
        return;
    }
    let mut ev = Event::for_session(req.session);
    core.fire(&Bus::Host(req.host), "resource-bind", &mut ev);
}

/// Removes a bound session: takes it out of the full and bare JID maps, fires
/// `resource-unbind` (presence broadcasts unavailable) and forgets it. As in Prosody's
/// `destroy_session`, handlers see a session no longer reachable by routing.
pub fn unbind(core: &mut Core, id: SessionId, error: Option<String>) {
    let Some((host, full, bare)) = core.sessions.get(&id).map(|s| {
        (
            s.host().to_owned(),
            s.full_jid_arc().clone(),
            s.bare_jid().to_owned(),
        )
    }) else {
        return;
    };
    if core.full_sessions.get(&*full) == Some(&id) {
        core.full_sessions.remove(&*full);
    }
    if let Some(list) = core.bare_sessions.get_mut(&bare) {
        list.retain(|x| *x != id);
        if list.is_empty() {
            core.bare_sessions.remove(&bare);
        }
    }
    let mut ev = Event::for_session(id);
    ev.error = error;
    core.fire(&Bus::Host(host), "resource-unbind", &mut ev);
    core.sessions.remove(&id);
}

/// Sessions of a bare JID that are available with priority ≥ 0, highest priority only
/// ("top resources").
pub fn top_resources(core: &Core, bare: &str) -> Vec<SessionId> {
    let Some(list) = core.bare_sessions.get(bare) else {
        return Vec::new();
    };
    let mut best: Option<i8> = None;
    let mut out = Vec::new();
    for id in list {
        let Some(s) = core.sessions.get(id) else {
            continue;
        };
        if s.presence.is_none() || s.priority < 0 {
            continue;
        }
        match best {
            Some(b) if s.priority < b => {}
            Some(b) if s.priority == b => out.push(*id),
            _ => {
                best = Some(s.priority);
                out.clear();
                out.push(*id);
            }
        }
    }
    out
}
