//! Startup and shutdown: builds the shared state from the configuration, starts the core
//! thread and the listeners, and closes every session with `system-shutdown` on
//! SIGINT/SIGTERM.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::session::CoreTask;
use super::shared::{C2sSettings, HostPolicy};
use super::{bind, router, Core, CoreMsg, Host, Shared};
use crate::config::{catalogue, Config, Value};
use crate::modules::auth_internal_hashed::Accounts;
use crate::modules::limits::{AuthPolicy, AuthThrottle, LimitValue, LimitsConfig};
use crate::storage::Storage;
use crate::xmpp::error::{StreamCondition, StreamError};
use crate::xmpp::sasl::ScramHash;

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    #[error(transparent)]
    Listen(#[from] crate::net::listener::StartError),
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageConfigError),
}

/// Modules that every host gets whether or not the config names them (reference §1.5),
/// plus what login needs wherever clients connect (a Lilt choice, see `check config`).
const AUTOLOAD: &[&str] = &["presence", "message", "iq", "offline", "c2s"];

/// The modules a VirtualHost runs.
pub fn host_modules(config: &Config, host: &str) -> BTreeSet<String> {
    let mut mods = config.modules_for_host(host);
    let disabled = config.host(host).inherited_set("modules_disabled");
    for m in AUTOLOAD {
        if !disabled.contains(*m) {
            mods.insert((*m).to_owned());
        }
    }
    // mod_register pulls in in-band registration only when it is allowed.
    if mods.contains("register")
        && config
            .host(host)
            .boolean("allow_registration")
            .unwrap_or(false)
        && !disabled.contains("register_ibr")
    {
        mods.insert("register_ibr".to_owned());
    }
    let clients = mods.contains("c2s") || mods.contains("websocket");
    if clients {
        for m in ["saslauth", "bind"] {
            if !disabled.contains(m) {
                mods.insert(m.to_owned());
            }
        }
    }
    mods
}

fn policy_for(config: &Config, host: &str) -> HostPolicy {
    let s = config.host(host);
    let spec = |o| catalogue::read::<bool>(config, Some(host), o).unwrap_or_default();
    // The deprecated `require_encryption` counts when the new name is unset.
    let require_encryption = s
        .boolean(catalogue::C2S_REQUIRE_ENCRYPTION.name)
        .or_else(|| s.boolean("require_encryption"))
        .unwrap_or_else(|| spec(&catalogue::C2S_REQUIRE_ENCRYPTION));
    let allow_plain = spec(&catalogue::ALLOW_UNENCRYPTED_PLAIN_AUTH);
    let insecure = if s.get("insecure_sasl_mechanisms").is_some() {
        s.set("insecure_sasl_mechanisms")
    } else if allow_plain {
        BTreeSet::new()
    } else {
        ["PLAIN".to_owned(), "LOGIN".to_owned()].into()
    };
    let disabled = if s.get("disable_sasl_mechanisms").is_some() {
        s.set("disable_sasl_mechanisms")
    } else {
        ["DIGEST-MD5".to_owned()].into()
    };
    // A Lua auth provider checks passwords itself: no stored SCRAM keys, PLAIN only.
    let mut disabled = disabled;
    if crate::lua::auth::lua_provider(config, host).is_some() {
        disabled.extend(
            crate::lua::auth::SCRAM_MECHANISMS
                .iter()
                .map(|m| (*m).to_owned()),
        );
    }
    let password_hash = match s.string("password_hash").as_deref() {
        Some("SHA-256") => ScramHash::Sha256,
        _ => ScramHash::Sha1,
    };
    HostPolicy {
        require_encryption,
        allow_unencrypted_plain_auth: allow_plain,
        insecure_mechanisms: insecure,
        disabled_mechanisms: disabled,
        password_hash,
        conflict_resolve: catalogue::read(config, Some(host), &catalogue::CONFLICT_RESOLVE)
            .unwrap_or_default(),
        modules: host_modules(config, host),
    }
}

fn c2s_settings(config: &Config) -> C2sSettings {
    let g = config.global();
    let net = |key: &str| {
        g.get("network_settings").and_then(|v| match v {
            crate::config::Value::Table(t) => t.get(key).and_then(|v| match v {
                crate::config::Value::Integer(i) => Some(*i as f64),
                crate::config::Value::Number(n) => Some(*n),
                _ => None,
            }),
            _ => None,
        })
    };
    // Each default is the catalogue's; a value of the wrong shape reads as the default.
    let bytes = |o| {
        catalogue::read::<i64>(config, None, o)
            .unwrap_or_default()
            .max(0) as usize
    };
    let secs = |o| catalogue::read::<f64>(config, None, o).unwrap_or_default();
    let stanza = bytes(&catalogue::C2S_STANZA_SIZE_LIMIT);
    C2sSettings {
        stanza_size_limit: stanza,
        unauthed_stanza_size_limit: bytes(&catalogue::C2S_UNAUTHED_STANZA_SIZE_LIMIT),
        max_child_elements: bytes(&catalogue::C2S_MAX_CHILD_ELEMENTS),
        c2s_timeout: secs(&catalogue::C2S_TIMEOUT),
        close_timeout: g
            .number("websocket_close_timeout")
            .unwrap_or_else(|| secs(&catalogue::C2S_CLOSE_TIMEOUT)),
        read_timeout: net("read_timeout").unwrap_or(840.0),
        send_timeout: net("send_timeout").unwrap_or(180.0),
        frame_buffer_limit: g
            .integer("websocket_frame_buffer_limit")
            .map(|v| v.max(0) as usize)
            .unwrap_or(stanza * 2),
        consider_websocket_secure: catalogue::read(
            config,
            None,
            &catalogue::CONSIDER_WEBSOCKET_SECURE,
        )
        .unwrap_or_default(),
    }
}

/// The SCRAM hash new passwords are stored with (`password_hash`, default SHA-1).
pub fn password_hash(config: &Config) -> ScramHash {
    config
        .global()
        .string("password_hash")
        .and_then(|h| ScramHash::from_option(&h))
        .unwrap_or(ScramHash::Sha1)
}

fn limit_value(v: &Value) -> LimitValue {
    match v {
        Value::Bool(b) => LimitValue::Bool(*b),
        Value::Integer(i) => LimitValue::Number(*i as f64),
        Value::Number(n) => LimitValue::Number(*n),
        Value::String(s) => LimitValue::Str(s.clone()),
        Value::Table(t) => LimitValue::Table(
            t.entries()
                .iter()
                .map(|(k, v)| (k.clone(), limit_value(v)))
                .collect(),
        ),
        Value::Function => LimitValue::Other,
    }
}

/// mod_limits' settings when the module is loaded anywhere (reference §7).
fn limits_config(config: &Config) -> Option<LimitsConfig> {
    // `modules_for_host` applies modules_disabled (global and the host's); a global
    // modules_enabled entry counts only if the global modules_disabled does not cancel it.
    let loaded = globally_enabled(config, "limits")
        || config
            .virtual_hosts()
            .iter()
            .chain(config.components().iter())
            .any(|h| config.modules_for_host(h).contains("limits"));
    if !loaded {
        return None;
    }
    let g = config.global();
    let limits = g.get("limits").map(limit_value);
    let resolution = g.get("limits_resolution").map(limit_value);
    Some(LimitsConfig::from_options(
        limits.as_ref(),
        resolution.as_ref(),
    ))
}

/// Whether the global `modules_enabled` names `module` and the global `modules_disabled`
/// does not (Prosody's rule for modules that serve the whole process: HTTP apps on the
/// global scope, metrics, limits).
pub fn globally_enabled(config: &Config, module: &str) -> bool {
    let g = config.global();
    g.strings("modules_enabled").iter().any(|m| m == module)
        && !g.set("modules_disabled").contains(module)
}

/// The directory of stored data: `data_path`, relative to the working directory.
pub fn data_path(config: &Config) -> PathBuf {
    config.data_path()
}

/// Builds the shared state and the core (without starting anything).
pub fn build(config: Config) -> (Arc<Shared>, mpsc::UnboundedReceiver<CoreMsg>) {
    let store = Storage::from_config(&config).unwrap_or_else(|e| {
        // `run` refuses such a config before getting here; tools and tests that build
        // one anyway keep nothing rather than write where the operator did not ask.
        tracing::error!("{e}; storing nothing");
        Storage::with_default(data_path(&config), "none")
    });
    build_with_storage(config, store)
}

/// [`build`] with the stores already opened.
pub fn build_with_storage(
    config: Config,
    store: Storage,
) -> (Arc<Shared>, mpsc::UnboundedReceiver<CoreMsg>) {
    let store = Arc::new(store);
    let accounts = Accounts::new(store.clone(), password_hash(&config));
    let mut policies = HashMap::new();
    for h in config.virtual_hosts() {
        policies.insert(h.to_owned(), policy_for(&config, h));
    }
    let c2s = c2s_settings(&config);
    let (tx, rx) = mpsc::unbounded_channel();
    let limits = limits_config(&config);
    let g = config.global();
    let auth = AuthThrottle::new(
        AuthPolicy::from_options(g.number("limit_auth_period"), g.integer("limit_auth_max"))
            .with_account_max(g.integer("limit_auth_account_max")),
    );
    let shared =
        Arc::new(Shared::new(config, store, accounts, policies, c2s, tx).with_limits(limits, auth));
    (shared, rx)
}

/// Creates the core with every host and its native modules loaded: the VirtualHosts,
/// then the Components (reference §12.1), each with the module set Prosody gives it.
pub fn new_core(shared: Arc<Shared>) -> Core {
    let mut core = Core::new(shared.clone());
    let mut names: Vec<String> = shared.policies.keys().cloned().collect();
    names.sort();
    for name in &names {
        let modules = shared.policies[name].modules.clone();
        add_host(&mut core, name, false, modules);
    }
    let components: Vec<String> = shared
        .config
        .components()
        .into_iter()
        .map(str::to_owned)
        .collect();
    for name in &components {
        let modules = component_modules(&shared.config, name);
        add_host(&mut core, name, true, modules);
    }
    // mod_disco's caps stream feature: the hash of each host's disco#info as its modules
    // (native and Lua) left it.
    for name in &names {
        if !shared.policies[name].modules.contains("disco") {
            continue;
        }
        if let Some(h) = core.hosts.get(name) {
            let ver = crate::modules::disco::caps::verification_string(
                &h.identities,
                &h.features,
                &h.extensions,
            );
            shared.feature_hooks.set_caps_ver(name, ver);
        }
    }
    core
}

/// The modules a Component runs: its `component_module`, the inheritable global modules
/// and its own `modules_enabled` (reference §12.1). None of the VirtualHost autoloads
/// (`message`, `presence`, `offline`, `c2s`) apply.
pub fn component_modules(config: &Config, host: &str) -> BTreeSet<String> {
    config.modules_for_host(host)
}

fn add_host(core: &mut Core, name: &str, is_component: bool, modules: BTreeSet<String>) {
    core.hosts.insert(
        name.to_owned(),
        Host {
            name: name.to_owned(),
            is_component,
            events: Default::default(),
            // Filled in as each module really loads (see `lua::provide_module`).
            modules: BTreeSet::new(),
            features: BTreeSet::new(),
            identities: Vec::new(),
            extensions: Vec::new(),
        },
    );
    // Routing modules first, then a component's own module, then the rest.
    let first: Vec<String> = ["iq", "message", "presence"]
        .into_iter()
        .map(str::to_owned)
        .chain(
            core.shared
                .config
                .component_module(name)
                .filter(|_| is_component)
                .map(str::to_owned),
        )
        .filter(|m| modules.contains(m))
        .collect();
    let mut order = first.clone();
    order.extend(modules.iter().filter(|m| !first.contains(m)).cloned());
    for m in &order {
        crate::lua::provide_module(core, name, m);
    }
    crate::lua::host_ready(core, name);
    crate::modules::csi::host_ready(core, name);
}

/// Runs the core loop until shutdown.
pub async fn core_loop(mut core: Core, mut rx: mpsc::UnboundedReceiver<CoreMsg>) {
    // Lua timers (`module:add_timer`) and Lua HTTP handlers run on this thread too.
    let mut lua_http = crate::lua::core_started(&mut core);
    loop {
        let deadline = match (
            crate::lua::next_deadline(&core),
            core.timers.next_deadline(),
        ) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let msg = tokio::select! {
            m = rx.recv() => m,
            Some(call) = crate::lua::http::recv(&mut lua_http) => {
                crate::lua::http::handle(&mut core, call);
                continue;
            }
            () = crate::lua::timers::sleep_until(deadline) => {
                let now = std::time::Instant::now();
                crate::lua::run_due(&mut core, now);
                super::timers::run_due(&mut core, now);
                continue;
            }
        };
        let Some(msg) = msg else { break };
        handle(&mut core, msg);
        // Whatever else is already queued is handled before waiting again: one wake-up and
        // one `select!` (with its timer) per burst instead of per stanza. Bounded so Lua
        // timers and HTTP calls still get their turn under constant load.
        for _ in 1..BATCH {
            match rx.try_recv() {
                Ok(msg) => handle(&mut core, msg),
                Err(_) => break,
            }
        }
    }
}

/// Most messages handled per wake-up of the core loop.
const BATCH: usize = 256;

fn handle(core: &mut Core, msg: CoreMsg) {
    match msg {
        CoreMsg::Stanza {
            session,
            stanza,
            bytes,
        } => {
            // Writes a handler queues for it hold the session's answers (core::hold).
            let gate = core.sessions.get(&session).map(|s| s.tx.gate());
            super::hold::handling(gate, || router::process_stanza(core, session, stanza));
            // The connection reads on once the core has caught up with it.
            if let Some(s) = core.sessions.get(&session) {
                s.tx.processed(bytes);
            }
        }
        CoreMsg::Bind(req) => bind::bind(core, req),
        CoreMsg::Unbind { session, error } => bind::unbind(core, session, error),
        CoreMsg::StreamFeatures(req) => core.stream_features(*req),
        CoreMsg::Shutdown { reason, done } => {
            // As Prosody: each session is closed with `system-shutdown` and the reason,
            // and destroyed, so its contacts still online get its unavailable presence
            // ("Disconnected: <reason>") before their own stream is closed.
            crate::modules::s2s::routes::shutdown(core);
            let ids: Vec<_> = core.sessions.keys().copied().collect();
            for id in ids {
                let err = StreamError::new(StreamCondition::SystemShutdown)
                    .with_text_opt(reason.clone())
                    .element();
                core.close_session(id, Some(err));
                bind::unbind(core, id, reason.clone());
            }
            // External components are told too (Prosody closes every session).
            for link in core.host_links.values() {
                let e = StreamError::new(StreamCondition::SystemShutdown).element();
                let _ = link.tx.send(super::Outbound::Close(Some(Box::new(e))));
            }
            let _ = done.send(());
        }
        CoreMsg::Task(task) => (task.0)(core),
    }
}

/// Starts the core thread; returns its join handle.
pub fn spawn_core(
    shared: Arc<Shared>,
    rx: mpsc::UnboundedReceiver<CoreMsg>,
) -> std::thread::JoinHandle<()> {
    let (loaded_tx, loaded_rx) = std::sync::mpsc::channel();
    let handle = std::thread::Builder::new()
        .name("lilt-core".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a current-thread runtime can always be built");
            let core = new_core(shared);
            let _ = loaded_tx.send(());
            rt.block_on(core_loop(core, rx));
        })
        .expect("spawning the core thread");
    // Modules are loaded before listeners start, so their HTTP routes are in the router.
    let _ = loaded_rx.recv();
    handle
}

/// Serves the configuration until SIGINT or SIGTERM.
pub fn run(config: Config) -> Result<(), RunError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(RunError::Runtime)?;
    // Unknown drivers and unreachable databases stop the start, before any listener.
    let store = Storage::from_config(&config)?;
    rt.block_on(async move {
        let (shared, rx) = build_with_storage(config, store);
        // Handlers first: a SIGHUP right after the listeners are up must not kill us.
        let signals = Signals::install();
        let core = spawn_core(shared.clone(), rx);
        // The admin socket and the component port before the client listeners, so that
        // whoever sees the server accept clients also finds them ready.
        let admin = crate::modules::admin_shell::start(&shared);
        let components = crate::modules::component::listener::start(&shared);
        let listeners = crate::net::start(shared.clone())
            .await
            .map_err(RunError::Listen)?;
        let reason = signals.wait(&shared).await;
        drop(admin);
        drop(components);
        tracing::info!("Shutting down: {reason}");
        let (done_tx, done_rx) = oneshot::channel();
        let _ = shared.core_tx.send(CoreMsg::Shutdown {
            reason: Some(reason.to_owned()),
            done: done_tx,
        });
        let _ = done_rx.await;
        // Queued saves (their callers still wait for them) finish before the exit.
        tokio::task::block_in_place(|| shared.store_exec.flush());
        listeners.drain(shutdown_deadline(&shared)).await;
        drop(core);
        Ok(())
    })
}

fn shutdown_deadline(shared: &Shared) -> std::time::Duration {
    let secs = shared
        .config
        .global()
        .get("network_settings")
        .and_then(|v| match v {
            crate::config::Value::Table(t) => t.get("shutdown_deadline").and_then(|v| match v {
                crate::config::Value::Integer(i) => Some(*i as f64),
                crate::config::Value::Number(n) => Some(*n),
                _ => None,
            }),
            _ => None,
        })
        .unwrap_or(5.0);
    std::time::Duration::from_secs_f64(secs.max(0.0))
}

/// The signals the server acts on.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> Signals {
        use tokio::signal::unix::{signal, SignalKind};
        Signals {
            term: signal(SignalKind::terminate()).expect("installing a SIGTERM handler"),
            int: signal(SignalKind::interrupt()).expect("installing a SIGINT handler"),
            hup: signal(SignalKind::hangup()).expect("installing a SIGHUP handler"),
        }
    }

    /// Waits for SIGINT/SIGTERM (returns the shutdown reason, as Prosody words it);
    /// SIGHUP in the meantime reloads the config file.
    async fn wait(mut self, shared: &Shared) -> &'static str {
        loop {
            tokio::select! {
                _ = self.term.recv() => return "Received SIGTERM",
                _ = self.int.recv() => return "Received SIGINT",
                _ = self.hup.recv() => reload_config(shared).await,
            }
        }
    }
}

/// Prosody's `reload_config()` (reference §1.7): re-reads the same file; on failure the
/// old config stays and an error is logged. Sessions are not touched. What the new
/// config may change at run time is applied by `apply_reloaded`.
async fn reload_config(shared: &Shared) {
    let path = shared.config.main_file().to_path_buf();
    tracing::info!("Reloading configuration file {}", path.display());
    let loaded = tokio::task::spawn_blocking(move || Config::load(&path)).await;
    match loaded {
        Ok(Ok(new)) => {
            apply_reloaded(shared, &new);
            // Plugins read options through the core (module:get_option sees the new
            // values, as in Prosody) and hear `config-reloaded` there.
            let new = Arc::new(new);
            let task = CoreTask(Box::new(move |core: &mut super::Core| {
                core.config_reloaded(new)
            }));
            let _ = shared.core_tx.send(CoreMsg::Task(task));
            tracing::info!("config reloaded");
        }
        Ok(Err(e)) => tracing::error!("Error reloading config file: {e}"),
        Err(e) => tracing::error!("Error reloading config file: {e}"),
    }
}

/// What a reload changes while running, besides the options plugins read through the core
/// (`Core::config_reloaded`): the levels of the log sinks installed at startup. `Shared` is
/// immutable and read by every task, so listeners, hosts, native modules, limits and
/// network settings keep their startup values until restart.
pub fn apply_reloaded(_shared: &Shared, new: &Config) {
    match crate::config::logging::plan(new.global().get("log"), &new.data_path()) {
        Ok(rules) => {
            for sink in crate::config::logging::reload_levels(&rules) {
                tracing::warn!("Log sink {sink:?} needs a restart to take effect");
            }
        }
        Err(e) => tracing::error!("Error reloading config file: log option: {e}"),
    }
    for w in new.warnings() {
        tracing::warn!("Configuration warning: {w}");
    }
}

#[cfg(test)]
#[path = "modules_disabled_tests.rs"]
mod modules_disabled_tests;
