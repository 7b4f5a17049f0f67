//! The core: hosts, bound sessions, the router and the event bus, all owned by one
//! thread. Connection tasks talk to it through [`CoreMsg`] and receive [`Outbound`]
//! messages; nothing here does IO.

pub mod admin;
pub mod bind;
pub mod events;
pub mod hold;
pub mod outbound;
pub mod router;
pub mod server;
pub mod session;
pub mod shared;
pub mod timers;

use std::any::{Any, TypeId};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

pub use events::{Bus, EventBus, HookId, HookResult};
pub use server::run;
pub use session::{
    BindError, BindRequest, CoreMsg, Outbound, OutboundTx, Session, SessionId,
    StreamFeaturesRequest, StreamInfo,
};
pub use shared::Shared;

use crate::xml::Element;

/// Where a stanza came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Session(SessionId),
    /// The host itself (a module sending on the host's behalf).
    Host(String),
}

/// The payload handed to every handler. Stanza events carry `stanza`; session events
/// (`resource-bind`, `resource-unbind`, ...) carry `session`.
pub struct Event {
    pub origin: Origin,
    pub stanza: Option<Element>,
    pub to_self: bool,
    pub session: Option<SessionId>,
    pub error: Option<String>,
    /// `stream-features` only: the (not yet bound) stream the features are for; the
    /// `<stream:features>` element travels in `stanza`.
    pub stream: Option<Box<StreamInfo>>,
}

impl Event {
    pub fn stanza(origin: Origin, stanza: Element) -> Self {
        Event {
            origin,
            stanza: Some(stanza),
            to_self: false,
            session: None,
            error: None,
            stream: None,
        }
    }

    /// A server-wide event with no stanza (`server-started`, `config-reloaded`).
    pub fn global() -> Self {
        Event {
            origin: Origin::Host("*".into()),
            stanza: None,
            to_self: false,
            session: None,
            error: None,
            stream: None,
        }
    }

    pub fn for_session(session: SessionId) -> Self {
        Event {
            origin: Origin::Session(session),
            stanza: None,
            to_self: false,
            session: Some(session),
            error: None,
            stream: None,
        }
    }
}

/// A host served by this process (a VirtualHost or a Component).
pub struct Host {
    pub name: String,
    pub is_component: bool,
    pub events: EventBus,
    /// Modules loaded on the host, native ones included.
    pub modules: BTreeSet<String>,
    /// disco#info features added by modules (`module:add_feature`).
    pub features: BTreeSet<String>,
    /// disco#info identities: (category, type, name).
    pub identities: Vec<(String, String, String)>,
    /// disco#info extension forms (XEP-0128, `module:add_extension`).
    pub extensions: Vec<Element>,
}

/// A host whose stanzas travel over one connection: an external component (XEP-0114).
/// What is addressed to the host goes down it, and so do replies to what it sent.
pub struct HostLink {
    pub session: SessionId,
    pub tx: OutboundTx,
}

/// State owned by the core thread.
pub struct Core {
    pub shared: Arc<Shared>,
    pub hosts: HashMap<String, Host>,
    pub global_events: EventBus,
    /// Boxed: the table is sized for growth (up to twice the sessions it holds), and a
    /// `Session` inline in every slot made the empty half cost as much as the used one.
    pub sessions: HashMap<SessionId, Box<Session>>,
    /// full JID -> session; the key is the session's own JID string, shared.
    pub full_sessions: HashMap<Arc<str>, SessionId>,
    /// bare JID -> its bound sessions.
    pub bare_sessions: HashMap<String, Vec<SessionId>>,
    pub start_time: std::time::SystemTime,
    /// Module state owned by the core thread, one value per type (see [`Core::state`]).
    pub module_state: HashMap<TypeId, Box<dyn Any>>,
    /// The Lua module host, started when the first Lua plugin loads.
    pub lua: Option<crate::lua::LuaHost>,
    /// The config as last re-read by a reload (SIGHUP, `config:reload()`), which plugins'
    /// `module:get_option` sees, as in Prosody; `None` until the first reload.
    pub reloaded_config: Option<Arc<crate::config::Config>>,
    /// Hosts served over a connection (external components), by domain.
    pub host_links: HashMap<String, HostLink>,
    /// Native modules' timers, run by the core loop ([`timers::run_due`]).
    pub timers: timers::Timers,
}

impl Core {
    pub fn new(shared: Arc<Shared>) -> Self {
        Core {
            shared,
            hosts: HashMap::new(),
            global_events: EventBus::new(),
            sessions: HashMap::new(),
            full_sessions: HashMap::new(),
            bare_sessions: HashMap::new(),
            start_time: std::time::SystemTime::now(),
            module_state: HashMap::new(),
            lua: None,
            reloaded_config: None,
            host_links: HashMap::new(),
            timers: timers::Timers::default(),
        }
    }

    /// The config options are read from at run time: the last reloaded one, else the one
    /// the server started with.
    pub fn options(&self) -> &crate::config::Config {
        self.reloaded_config
            .as_deref()
            .unwrap_or(&self.shared.config)
    }

    /// Takes a reloaded config (Prosody's `config-reloaded`): option reads see it from now
    /// on, and handlers of `config-reloaded` on the global bus run.
    pub fn config_reloaded(&mut self, config: Arc<crate::config::Config>) {
        self.reloaded_config = Some(config);
        self.fire(&Bus::Global, "config-reloaded", &mut Event::global());
        crate::lua::flush_filtered(self);
    }

    /// The core-thread state of type `T` (a module's caches), created on first use.
    pub fn state<T: Default + 'static>(&mut self) -> &mut T {
        self.module_state
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Box::new(T::default()))
            .downcast_mut::<T>()
            .expect("module_state is keyed by the value's own TypeId")
    }

    /// Registers a native handler on a host's bus (or the global bus) and returns its id
    /// for [`Core::unhook`]. A handler for a host that is not served is dropped (its id
    /// removes nothing).
    pub fn hook(
        &mut self,
        bus: &Bus,
        event: &str,
        priority: f64,
        handler: events::Handler,
    ) -> HookId {
        let seq = match bus {
            Bus::Global => Some(self.global_events.add_handler(event, priority, handler)),
            Bus::Host(h) => self.hosts.get_mut(h).map(|host| {
                let seq = host.events.add_handler(event, priority, handler);
                if event == "stream-features" {
                    self.shared.feature_hooks.set(h, true);
                }
                seq
            }),
        };
        HookId {
            bus: bus.clone(),
            event: event.to_owned(),
            seq,
        }
    }

    /// Removes the handler [`Core::hook`] registered as `id` (Prosody's `module:unhook`);
    /// removing one that is already gone does nothing.
    pub fn unhook(&mut self, id: &HookId) {
        let Some(seq) = id.seq else { return };
        match &id.bus {
            Bus::Global => self.global_events.remove_handler(&id.event, seq),
            Bus::Host(h) => {
                if let Some(host) = self.hosts.get_mut(h) {
                    host.events.remove_handler(&id.event, seq);
                    // Streams stop asking the core for features once nothing adds any.
                    if id.event == "stream-features" && !host.events.has_handlers(&id.event) {
                        self.shared.feature_hooks.set(h, false);
                    }
                }
            }
        }
    }

    pub fn fire(&mut self, bus: &Bus, name: &str, event: &mut Event) -> HookResult {
        events::fire(self, bus, name, event)
    }

    pub fn is_local_host(&self, host: &str) -> bool {
        self.hosts.contains_key(host)
    }

    /// The account name of the bound session a stanza came from (None for the host).
    pub fn origin_username(&self, origin: &Origin) -> Option<String> {
        match origin {
            Origin::Session(id) => self.sessions.get(id).map(|s| s.username().to_owned()),
            Origin::Host(_) => None,
        }
    }

    /// Sends a stanza to one bound session. A session with a Lua `stanzas/out` filter
    /// gets it once the filter ran (when the current event ends).
    pub fn send_to(&self, session: SessionId, stanza: Arc<Element>) -> bool {
        if let Some(h) = &self.lua {
            if h.filters.filters_out(session) {
                return h.filters.defer(session, stanza);
            }
        }
        match self.sessions.get(&session) {
            Some(s) => s.send(stanza),
            None => false,
        }
    }

    /// Delivers a stanza shared by many sessions to one of them, with its `to` (a
    /// session with Lua `stanzas/out` filters gets an element of its own).
    pub fn send_shared(&self, session: SessionId, stanza: &Arc<crate::xml::Fanout>) -> bool {
        let Some(s) = self.sessions.get(&session) else {
            return false;
        };
        if let Some(h) = &self.lua {
            if h.filters.filters_out(session) {
                return h
                    .filters
                    .defer(session, Arc::new(stanza.addressed(s.full_jid())));
            }
        }
        s.send_shared(stanza)
    }

    /// Replies to `origin` with a stanza (errors and results go back this way).
    pub fn reply(&self, origin: &Origin, stanza: Element) {
        match origin {
            Origin::Session(id) => {
                self.send_to(*id, Arc::new(stanza));
            }
            Origin::Host(h) => match self.host_links.get(h) {
                // An external component's stanza: the answer goes down its connection.
                Some(link) => {
                    let _ = link.tx.send(Outbound::Stanza(Arc::new(stanza)));
                }
                // Stanzas from other servers arrive with the receiving host as origin:
                // their replies go back over s2s (routed on the next turn).
                None => crate::modules::s2s::routes::reply_remote(self, stanza),
            },
        }
    }

    /// Fires `stream-features` for a stream that is about to get its features (only asked
    /// for on hosts where something hooked it) and answers with the final element.
    pub fn stream_features(&mut self, req: StreamFeaturesRequest) {
        let StreamFeaturesRequest {
            info,
            features,
            reply,
        } = req;
        let bus = Bus::Host(info.host.clone());
        let mut ev = Event {
            origin: Origin::Host(info.host.clone()),
            stanza: Some(features),
            to_self: false,
            session: None,
            error: None,
            stream: Some(Box::new(info)),
        };
        self.fire(&bus, "stream-features", &mut ev);
        if let Some(features) = ev.stanza.take() {
            let _ = reply.send(features);
        }
    }

    /// Closes a bound session with an optional stream error.
    pub fn close_session(&self, session: SessionId, error: Option<Element>) {
        if let Some(s) = self.sessions.get(&session) {
            let _ = s.tx.send(Outbound::Close(error.map(Box::new)));
        }
    }
}

#[cfg(test)]
mod hooks_tests;
