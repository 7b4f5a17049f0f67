//! mod_pep (reference §14.3): every account is a pubsub service owned by its bare JID,
//! on the shared engine in `modules::pubsub`. Pubsub IQs to a bare JID are answered
//! here; notifications go to node subscribers and to the full JIDs (and, for own
//! resources, bare JIDs) whose client asked `<node>+notify` through XEP-0115 caps
//! ([`interest`]); the account's disco#info/items get the PEP identity, features and
//! nodes through the `account-disco-*` events ([`disco`]).
//!
//! Services are kept on the core thread (loaded from Prosody's `pep` files on first
//! use, at most `pep_service_cache_size` of them); other modules reach one through
//! [`with_service`], which delivers whatever the call made the service announce.

pub mod caps;
mod disco;
mod interest;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::rc::Rc;

use crate::core::router::post_stanza;
use crate::core::{Bus, Core, Origin};
use crate::modules::pubsub::config::{ConfigMap, Value};
use crate::modules::pubsub::notify::{self, Style};
use crate::modules::pubsub::protocol::{self, PUBSUB_OWNER};
use crate::modules::pubsub::service::{
    Effect, Owner, Relations, Service, ServiceConfig, ServiceEvent, PUBSUB,
};
use crate::modules::pubsub::store::{Layout, MemoryStore, ProsodyStore};
use crate::modules::roster::manager;
use crate::xml::Element;

/// A listener of PEP service events (mod_bookmarks' XEP-0411 pushes): host, user, event.
pub type Listener = Rc<dyn Fn(&mut Core, &str, &str, &ServiceEvent)>;

/// mod_pep's state, shared by every host that loads it (keys are bare JIDs).
#[derive(Default)]
pub struct PepState {
    services: HashMap<String, Service>,
    /// owner bare JID -> recipient JID -> nodes it wants notifications of.
    pub(crate) recipients: HashMap<String, HashMap<String, Rc<BTreeSet<String>>>>,
    /// caps ver -> `+notify` nodes (shared by every user and session).
    pub(crate) hash_map: HashMap<String, Rc<BTreeSet<String>>>,
    listeners: Vec<Listener>,
    hosts: HashMap<String, HostOptions>,
}

#[derive(Clone)]
struct HostOptions {
    max_items: i64,
    service_cache_size: usize,
    info_cache_size: usize,
}

/// The `presence` access model against the owner's roster (contacts with `from`/`both`).
pub struct RosterRelations(HashSet<String>);

impl Relations for RosterRelations {
    fn presence_subscribed(&self, bare: &str) -> bool {
        self.0.contains(bare)
    }
}

impl RosterRelations {
    pub fn load(core: &mut Core, user: &str, host: &str) -> RosterRelations {
        RosterRelations(manager::with(core, user, host, |r| {
            r.items
                .iter()
                .filter(|(_, i)| i.subscription.has_from())
                .map(|(j, _)| j.clone())
                .collect()
        }))
    }
}

/// Loads mod_pep on `host` unless it is loaded (Prosody's `module:depends("pep")`).
pub fn depend(core: &mut Core, host: &str) {
    load(core, host);
    if let Some(h) = core.hosts.get_mut(host) {
        h.modules.insert("pep".to_owned());
    }
}

pub fn load(core: &mut Core, host: &str) {
    if core.state::<PepState>().hosts.contains_key(host) {
        return;
    }
    let config = core.shared.config.host(host);
    let opts = HostOptions {
        max_items: config
            .number("pep_max_items")
            .map(|n| n as i64)
            .unwrap_or(256),
        service_cache_size: config
            .number("pep_service_cache_size")
            .map(|n| n as usize)
            .unwrap_or(1000),
        info_cache_size: config
            .number("pep_info_cache_size")
            .map(|n| n as usize)
            .unwrap_or(10000),
    };
    core.state::<PepState>().hosts.insert(host.to_owned(), opts);
    let bus = Bus::Host(host.to_owned());
    for xmlns in [PUBSUB, PUBSUB_OWNER] {
        let h = host.to_owned();
        core.hook(
            &bus,
            &format!("iq/bare/{xmlns}:pubsub"),
            0.0,
            Rc::new(move |core, ev| {
                let stanza = ev.stanza.clone()?;
                let user = match stanza.attr("to") {
                    Some(to) => node_of(to)?,
                    None => core.origin_username(&ev.origin)?,
                };
                let origin = ev.origin.clone();
                let handled = with_service_replying(core, &h, &user, |s, rel| {
                    protocol::handle_iq(s, &stanza, rel)
                });
                match handled {
                    Some((reply, after)) => {
                        core.reply(&origin, reply);
                        after(core);
                        Some(true)
                    }
                    None => None,
                }
            }),
        );
    }
    interest::load(core, host);
    disco::load(core, host);
}

/// `user-deleted` (reference §14.3): a deleted account's cached service deletes every
/// node as the server (subscribers get the delete notifications) and is forgotten with
/// its recipients. As in Prosody, a service not in memory is left alone: the account's
/// stores are purged right after.
pub fn delete_user(core: &mut Core, host: &str, user: &str) {
    let owner = format!("{user}@{host}");
    let state = core.state::<PepState>();
    if !state.hosts.contains_key(host) {
        return;
    }
    if !state.services.contains_key(&owner) {
        state.recipients.remove(&owner);
        return;
    }
    with_service(core, host, user, |s, rel| {
        let nodes: Vec<String> = s.nodes.keys().cloned().collect();
        for n in nodes {
            let _ = s.delete(&n, None, rel);
        }
    });
    let state = core.state::<PepState>();
    state.services.remove(&owner);
    state.recipients.remove(&owner);
}

/// How many caps hashes `host` remembers (`pep_info_cache_size`).
pub(crate) fn info_cache_size(core: &mut Core, host: &str) -> usize {
    core.state::<PepState>()
        .hosts
        .get(host)
        .map_or(10000, |o| o.info_cache_size)
}

/// Registers a listener of every PEP service's events.
pub fn add_listener(core: &mut Core, listener: Listener) {
    core.state::<PepState>().listeners.push(listener);
}

fn node_of(jid: &str) -> Option<String> {
    crate::xmpp::jid::Jid::parse(jid)
        .ok()
        .and_then(|j| j.node().map(str::to_owned))
}

fn pep_defaults() -> ConfigMap {
    let mut d = ConfigMap::new();
    d.insert("max_items".into(), Value::Int(1));
    d.insert("persist_items".into(), Value::Bool(true));
    d.insert("access_model".into(), "presence".into());
    d.insert(
        "send_last_published_item".into(),
        "on_sub_and_presence".into(),
    );
    d
}

fn new_service(core: &Core, host: &str, user: &str, max_items: i64) -> Service {
    let owner = format!("{user}@{host}");
    let exists = core.bare_sessions.contains_key(&owner)
        || core.shared.accounts.exists(host, user).unwrap_or(false);
    if !exists {
        let mut defaults = pep_defaults();
        defaults.insert("persist_items".into(), Value::Bool(false));
        let config = ServiceConfig {
            jid: owner,
            owner: Owner::Nobody,
            node_defaults: defaults,
            max_items: 256,
            autocreate_on_publish: false,
            autocreate_on_subscribe: false,
            expose_publisher: false,
            access_models: &["presence", "whitelist", "open"],
        };
        return Service::new(config, Box::new(MemoryStore));
    }
    let config = ServiceConfig {
        jid: owner.clone(),
        owner: Owner::Account(owner),
        node_defaults: pep_defaults(),
        max_items,
        autocreate_on_publish: true,
        autocreate_on_subscribe: false,
        expose_publisher: false,
        access_models: &["presence", "whitelist", "open"],
    };
    let store = ProsodyStore::new(
        &core.shared,
        host,
        Layout::Pep {
            user: user.to_owned(),
        },
    );
    let mut s = Service::new(config, Box::new(store));
    s.load();
    s
}

fn take_service(core: &mut Core, host: &str, user: &str) -> Service {
    let owner = format!("{user}@{host}");
    if let Some(s) = core.state::<PepState>().services.remove(&owner) {
        return s;
    }
    let max = core
        .state::<PepState>()
        .hosts
        .get(host)
        .map_or(256, |o| o.max_items);
    new_service(core, host, user, max)
}

fn put_back(core: &mut Core, host: &str, service: Service) {
    let state = core.state::<PepState>();
    let cap = state
        .hosts
        .get(host)
        .map_or(1000, |o| o.service_cache_size)
        .max(1);
    if state.services.len() >= cap {
        // Services are reloaded from storage on the next use; any one whose writes
        // are done may go.
        let idle = state
            .services
            .iter()
            .find(|(_, s)| !s.store.busy())
            .map(|(k, _)| k.clone());
        if let Some(k) = idle {
            state.services.remove(&k);
        }
    }
    if !matches!(service.config.owner, Owner::Nobody) {
        state.services.insert(service.config.jid.clone(), service);
    }
}

/// What a service call left to send: notifications before the reply, last items after.
pub struct Deliveries {
    host: String,
    user: String,
    before: Vec<Element>,
    after: Vec<Element>,
    events: Vec<ServiceEvent>,
}

impl Deliveries {
    fn send(core: &mut Core, host: &str, list: Vec<Element>) {
        for m in list {
            post_stanza(core, Origin::Host(host.to_owned()), m, false);
        }
    }
}

fn plan(
    core: &mut Core,
    service: &Service,
    rel: &dyn Relations,
    host: &str,
    user: &str,
) -> Deliveries {
    let owner = service.config.jid.clone();
    let mut d = Deliveries {
        host: host.to_owned(),
        user: user.to_owned(),
        before: Vec::new(),
        after: Vec::new(),
        events: Vec::new(),
    };
    let effects: Vec<Effect> = service.outbox.clone();
    let interested: Vec<(String, Rc<BTreeSet<String>>)> = core
        .state::<PepState>()
        .recipients
        .get(&owner)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    for e in effects {
        match e {
            Effect::Event(ev) => d.events.push(ev),
            Effect::Broadcast(b) => {
                let mut to: Vec<String> = b.recipients.iter().map(|(j, _)| j.clone()).collect();
                let from_service = b.config.is_some();
                if from_service {
                    for (jid, nodes) in &interested {
                        if nodes.contains(&b.node)
                            && service.may(Some(&b.node), Some(jid), "subscribe", rel)
                            && !to.contains(jid)
                        {
                            to.push(jid.clone());
                        }
                    }
                }
                let msg = notify::message(&b, &owner, Style::Pep);
                let list = if from_service {
                    &mut d.before
                } else {
                    &mut d.after
                };
                for jid in to {
                    let mut m = msg.clone();
                    m.set_attr("to", jid);
                    list.push(m);
                }
            }
        }
    }
    d
}

fn finish(core: &mut Core, d: &mut Deliveries) {
    let listeners = core.state::<PepState>().listeners.clone();
    for ev in std::mem::take(&mut d.events) {
        for l in &listeners {
            l(core, &d.host, &d.user, &ev);
        }
        crate::modules::pubsub::lua::fire(core, &d.host, Some(&d.user), &ev);
    }
}

/// Runs `f` on `user@host`'s PEP service and sends what it announced.
pub fn with_service<R>(
    core: &mut Core,
    host: &str,
    user: &str,
    f: impl FnOnce(&mut Service, &dyn Relations) -> R,
) -> R {
    let rel = RosterRelations::load(core, user, host);
    let mut service = take_service(core, host, user);
    let r = f(&mut service, &rel);
    let mut d = plan(core, &service, &rel, host, user);
    service.outbox.clear();
    put_back(core, host, service);
    Deliveries::send(core, host, std::mem::take(&mut d.before));
    Deliveries::send(core, host, std::mem::take(&mut d.after));
    finish(core, &mut d);
    r
}

/// Reads `user@host`'s service as the server itself (no access checks, so no roster is
/// loaded): for hot paths such as the avatar hash stamped on every presence.
pub fn with_service_as_server<R>(
    core: &mut Core,
    host: &str,
    user: &str,
    f: impl FnOnce(&Service, &dyn Relations) -> R,
) -> R {
    let service = take_service(core, host, user);
    let r = f(&service, &crate::modules::pubsub::service::NoRelations);
    put_back(core, host, service);
    r
}

type After = Box<dyn FnOnce(&mut Core)>;

/// Like [`with_service`] for an IQ: notifications go out before the reply, last items
/// (sent after a subscribe) after it, as in Prosody; the caller sends the reply and
/// then runs the returned closure.
fn with_service_replying(
    core: &mut Core,
    host: &str,
    user: &str,
    f: impl FnOnce(&mut Service, &dyn Relations) -> Option<Element>,
) -> Option<(Element, After)> {
    let rel = RosterRelations::load(core, user, host);
    let mut service = take_service(core, host, user);
    let r = f(&mut service, &rel);
    let mut d = plan(core, &service, &rel, host, user);
    service.outbox.clear();
    put_back(core, host, service);
    Deliveries::send(core, host, std::mem::take(&mut d.before));
    let reply = r?;
    let after: After = Box::new(move |core: &mut Core| {
        let host = d.host.clone();
        Deliveries::send(core, &host, std::mem::take(&mut d.after));
        finish(core, &mut d);
    });
    Some((reply, after))
}

/// The newest item of `node` as `requester` may see it (vCard/avatar readers).
pub fn last_item(
    core: &mut Core,
    host: &str,
    owner: &str,
    node: &str,
    requester: &str,
) -> Result<Option<crate::modules::pubsub::service::Item>, crate::modules::pubsub::error::PubsubError>
{
    with_service(core, host, owner, |s, rel| {
        s.get_last_item(node, Some(requester), rel)
    })
}

/// Delivers one prepared message (used by caps interest for last items).
pub(crate) fn route(core: &mut Core, host: &str, m: Element) {
    post_stanza(core, Origin::Host(host.to_owned()), m, false);
}
