//! What connection tasks share with each other and the core: the configuration,
//! per-host login policy, accounts, and the channel into the core thread.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

use super::{CoreMsg, SessionId};
use crate::config::Config;
use crate::modules::auth_internal_hashed::Accounts;
use crate::modules::limits::{AuthThrottle, LimitCounters, LimitsConfig};
use crate::storage::{Executor, Storage};
use crate::xml::Element;
use crate::xmpp::sasl::ScramHash;

/// Login policy of one VirtualHost (reference §9.3), read once at startup.
#[derive(Debug, Clone)]
pub struct HostPolicy {
    pub require_encryption: bool,
    pub allow_unencrypted_plain_auth: bool,
    pub insecure_mechanisms: BTreeSet<String>,
    pub disabled_mechanisms: BTreeSet<String>,
    pub password_hash: ScramHash,
    pub conflict_resolve: String,
    /// Modules loaded on the host (decides e.g. which stream features exist).
    pub modules: BTreeSet<String>,
}

/// c2s limits and timers (reference §5.1, §8.3).
#[derive(Debug, Clone)]
pub struct C2sSettings {
    pub stanza_size_limit: usize,
    pub unauthed_stanza_size_limit: usize,
    pub max_child_elements: usize,
    pub c2s_timeout: f64,
    pub close_timeout: f64,
    pub read_timeout: f64,
    pub send_timeout: f64,
    pub frame_buffer_limit: usize,
    pub consider_websocket_secure: bool,
}

/// Which hosts have `stream-features` handlers (set by the core when one is hooked on the
/// host's bus, where Prosody fires it), so streams elsewhere build their features
/// without asking the core.
#[derive(Debug, Default)]
pub struct FeatureHooks {
    hosts: HashMap<String, AtomicBool>,
    /// The host's own entity-caps `ver` (mod_disco), set once its modules are loaded.
    caps: HashMap<String, std::sync::OnceLock<String>>,
    /// Features modules offer on authenticated streams (roster versioning, CSI,
    /// pre-approval), by module, read by every stream open without asking the core.
    statics: std::sync::RwLock<HashMap<String, Vec<(String, Element)>>>,
}

impl FeatureHooks {
    pub fn new<'a>(hosts: impl IntoIterator<Item = &'a String>) -> Self {
        let hosts: Vec<&String> = hosts.into_iter().collect();
        FeatureHooks {
            caps: hosts
                .iter()
                .map(|h| ((*h).clone(), std::sync::OnceLock::new()))
                .collect(),
            hosts: hosts
                .into_iter()
                .map(|h| (h.clone(), AtomicBool::new(false)))
                .collect(),
            statics: Default::default(),
        }
    }

    /// Offers `feature` on `host`'s authenticated streams on behalf of `module`.
    pub fn add_static(&self, host: &str, module: &str, feature: Element) {
        let mut statics = self.statics.write().unwrap_or_else(|e| e.into_inner());
        let list = statics.entry(host.to_owned()).or_default();
        list.push((module.to_owned(), feature));
        // Sorted by module, so the order does not depend on load order.
        list.sort_by(|a, b| a.0.cmp(&b.0));
    }

    /// Withdraws what `module` offered on `host` (it was unloaded).
    pub fn remove_static(&self, host: &str, module: &str) {
        let mut statics = self.statics.write().unwrap_or_else(|e| e.into_inner());
        if let Some(list) = statics.get_mut(host) {
            list.retain(|(m, _)| m != module);
        }
    }

    /// The features modules offer on `host`'s authenticated streams.
    pub fn statics(&self, host: &str) -> Vec<Element> {
        let statics = self.statics.read().unwrap_or_else(|e| e.into_inner());
        statics
            .get(host)
            .map(|l| l.iter().map(|(_, f)| f.clone()).collect())
            .unwrap_or_default()
    }

    /// The entity-caps verification string of `host`'s disco#info, when it has one.
    pub fn caps_ver(&self, host: &str) -> Option<&str> {
        self.caps.get(host)?.get().map(String::as_str)
    }

    /// Records `host`'s entity-caps verification string (the first one set stays).
    pub fn set_caps_ver(&self, host: &str, ver: String) {
        if let Some(slot) = self.caps.get(host) {
            let _ = slot.set(ver);
        }
    }

    /// Whether a stream on `host` must ask the core for `stream-features`.
    pub fn wanted(&self, host: &str) -> bool {
        self.hosts
            .get(host)
            .is_some_and(|f| f.load(Ordering::Relaxed))
    }

    /// Records whether the bus of `host` has `stream-features` handlers.
    pub fn set(&self, host: &str, hooked: bool) {
        if let Some(f) = self.hosts.get(host) {
            f.store(hooked, Ordering::Relaxed);
        }
    }
}

/// Shared, read-mostly server state.
pub struct Shared {
    pub config: Config,
    /// Every store, routed to its driver (`storage`, `default_storage`).
    pub store: Arc<Storage>,
    /// Runs store work off the core thread (see `storage::executor`).
    pub store_exec: Executor,
    pub accounts: Accounts,
    pub policies: HashMap<String, HostPolicy>,
    pub c2s: C2sSettings,
    pub core_tx: mpsc::UnboundedSender<CoreMsg>,
    /// mod_limits, when loaded: read rates per session type.
    pub limits: Option<LimitsConfig>,
    pub limit_counters: Arc<LimitCounters>,
    /// Failed-login throttling per IP and per account (`limit_auth_*`).
    pub auth_throttle: std::sync::Mutex<AuthThrottle>,
    /// Hosts whose streams fire `stream-features` on the core.
    pub feature_hooks: Arc<FeatureHooks>,
    next_session: AtomicU64,
}

impl Shared {
    pub fn new(
        config: Config,
        store: Arc<Storage>,
        accounts: Accounts,
        policies: HashMap<String, HostPolicy>,
        c2s: C2sSettings,
        core_tx: mpsc::UnboundedSender<CoreMsg>,
    ) -> Self {
        let limit_counters = Arc::new(LimitCounters::new());
        let feature_hooks = Arc::new(FeatureHooks::new(policies.keys()));
        let store_exec = Executor::start(store.clone(), 2);
        Shared {
            store_exec,
            feature_hooks,
            config,
            store,
            accounts,
            policies,
            c2s,
            core_tx,
            limits: None,
            auth_throttle: std::sync::Mutex::new(
                AuthThrottle::new(Default::default()).with_counters(limit_counters.clone()),
            ),
            limit_counters,
            next_session: AtomicU64::new(1),
        }
    }

    /// Installs mod_limits' settings and the failed-login throttle.
    pub fn with_limits(mut self, limits: Option<LimitsConfig>, auth: AuthThrottle) -> Self {
        self.limits = limits;
        self.auth_throttle = std::sync::Mutex::new(auth.with_counters(self.limit_counters.clone()));
        self
    }

    /// Whether `unlimited_jids` of `host` (inherited set) lists this bare JID.
    pub fn is_unlimited(&self, host: &str, bare_jid: &str) -> bool {
        self.config
            .host(host)
            .inherited_set("unlimited_jids")
            .iter()
            .any(|j| j.eq_ignore_ascii_case(bare_jid))
    }

    pub fn new_session_id(&self) -> SessionId {
        self.next_session.fetch_add(1, Ordering::Relaxed)
    }
}
