//! Starting the `http` and `https` services from the configuration: the route table with
//! the WebSocket app on the hosts that load it, listeners on the configured interfaces and
//! ports, certificates for HTTPS, and a count of live sessions for a graceful drain.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::config::{catalogue, Config, Value};
use crate::core::Shared;
use crate::modules::http::{CorsSpec, HttpSettings, Router, Scope, TrustedProxies};
use crate::modules::http_files;
use crate::modules::openmetrics::{self, metrics, Transport};
use crate::modules::tls::contexts as tls_contexts;
use crate::modules::websocket::options::websocket_option;
use crate::modules::websocket::route::{self as ws_route, WebSocketSettings};
use crate::net::c2s::SessionSettings;
use crate::net::http::{serve_connection, HttpApp, WebSocketCallback, WsRequest};
use crate::net::listener::{
    bind_all, resolve_addresses, InterfaceOptions, ServiceSpec, SocketOptions, StartError,
};
use crate::net::settings::{NetworkSettings, SettingValue};
use crate::net::tcp::{self as c2s_tcp, C2sTls};
use crate::net::tls::{self, CertificateLookup, TlsParams, TlsProfile};
use crate::net::websocket::{serve as serve_ws, WsInfo};

/// The running services.
pub struct Listeners {
    http: Vec<SocketAddr>,
    https: Vec<SocketAddr>,
    c2s: Vec<SocketAddr>,
    c2s_direct_tls: Vec<SocketAddr>,
    s2s: crate::modules::s2s::listener::S2sAddrs,
    tasks: Vec<JoinHandle<()>>,
    sessions: Arc<AtomicUsize>,
}

impl Listeners {
    /// Where the plain HTTP service listens (useful with port 0).
    pub fn http_addrs(&self) -> &[SocketAddr] {
        &self.http
    }

    pub fn https_addrs(&self) -> &[SocketAddr] {
        &self.https
    }

    /// Where the plain c2s (STARTTLS) service listens.
    pub fn c2s_addrs(&self) -> &[SocketAddr] {
        &self.c2s
    }

    /// Where the XEP-0368 direct-TLS c2s service listens.
    pub fn c2s_direct_tls_addrs(&self) -> &[SocketAddr] {
        &self.c2s_direct_tls
    }

    /// Where the s2s services (STARTTLS and direct TLS) listen.
    pub fn s2s_addrs(&self) -> &crate::modules::s2s::listener::S2sAddrs {
        &self.s2s
    }

    /// Live WebSocket and TCP c2s sessions.
    pub fn sessions(&self) -> usize {
        self.sessions.load(Ordering::Relaxed)
    }

    /// Stops accepting and waits (up to `deadline`) for sessions to finish closing.
    pub async fn drain(self, deadline: Duration) {
        for t in &self.tasks {
            t.abort();
        }
        let until = tokio::time::Instant::now() + deadline;
        while self.sessions.load(Ordering::Relaxed) > 0 && tokio::time::Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Listeners {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// `network_settings` from the config; bad keys are logged, not fatal (as Prosody).
pub fn network_settings(config: &Config) -> NetworkSettings {
    let mut s = NetworkSettings::default();
    if let Some(Value::Table(t)) = config.global().get("network_settings") {
        for (k, v) in t.entries() {
            let value = match v {
                Value::Bool(b) => SettingValue::Bool(*b),
                other => match other.as_f64() {
                    Some(n) => SettingValue::Number(n),
                    None => {
                        tracing::warn!("network_settings.{k}: expected a number or boolean");
                        continue;
                    }
                },
            };
            if let Err(e) = s.set(k, value) {
                tracing::warn!("network_settings: {e}");
            }
        }
    }
    s
}

fn ports(config: &Config, key: &str) -> Option<Vec<u16>> {
    let v = config.global().get(key)?;
    let list = match v {
        Value::Table(t) => t.seq().to_vec(),
        other => vec![other.clone()],
    };
    Some(
        list.iter()
            .filter_map(|p| p.as_f64())
            .filter(|p| (0.0..=65535.0).contains(p))
            .map(|p| p as u16)
            .collect(),
    )
}

fn strings_opt(config: &Config, key: &str) -> Option<Vec<String>> {
    config
        .global()
        .get(key)
        .map(|_| config.global().strings(key))
}

pub(crate) fn interface_options(config: &Config, service: &str) -> InterfaceOptions {
    let g = config.global();
    InterfaceOptions {
        ports: ports(config, &format!("{service}_ports")),
        service_interfaces: strings_opt(config, &format!("{service}_interfaces")),
        service_interface: g.string(&format!("{service}_interface")),
        local_interfaces: strings_opt(config, "local_interfaces"),
        interfaces: strings_opt(config, "interfaces"),
        interface: g.string("interface"),
        use_ipv4: catalogue::read(config, None, &catalogue::USE_IPV4).unwrap_or_default(),
        use_ipv6: catalogue::read(config, None, &catalogue::USE_IPV6).unwrap_or_default(),
    }
}

fn string_map(v: Option<&Value>) -> Vec<(String, String)> {
    match v {
        Some(Value::Table(t)) => t
            .entries()
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect(),
        _ => Vec::new(),
    }
}

/// mod_http's options (reference §6).
pub fn http_settings(config: &Config) -> HttpSettings {
    let g = config.global();
    let mut s = HttpSettings {
        default_host: g.string("http_default_host"),
        ..HttpSettings::default()
    };
    s.paths = string_map(g.get("http_paths")).into_iter().collect();
    if let Some(n) = g.integer("http_max_content_size") {
        s.max_content_size = n.max(0) as usize;
        s.max_buffer_size = 2 * s.max_content_size;
    }
    if let Some(n) = g.integer("http_max_buffer_size") {
        s.max_buffer_size = n.max(0) as usize;
    }
    if g.get("trusted_proxies").is_some() {
        let (proxies, bad) = TrustedProxies::parse(g.strings("trusted_proxies"));
        for b in bad {
            tracing::warn!("trusted_proxies: '{b}' is not an IP address or CIDR range");
        }
        s.trusted_proxies = proxies;
    }
    if let Some(b) = g.boolean("http_default_cors_enabled") {
        s.cors.enabled_by_default = b;
    }
    if g.get("access_control_allow_methods").is_some() {
        s.cors.methods = g.strings("access_control_allow_methods");
    }
    if g.get("access_control_allow_headers").is_some() {
        s.cors.headers = g.strings("access_control_allow_headers");
    }
    if let Some(b) = g.boolean("access_control_allow_credentials") {
        s.cors.credentials = b;
    }
    if let Some(n) = g.integer("access_control_max_age") {
        s.cors.max_age = n.max(0) as u64;
    }
    if g.get("access_control_allow_origins").is_some() {
        s.cors.origins = Some(g.strings("access_control_allow_origins"));
    }
    if g.boolean("https_redirect") == Some(true) {
        // The real port is filled in by `start` once the https listeners are bound.
        s.https_redirect = Some(
            ports(config, "https_ports")
                .and_then(|p| p.first().copied())
                .unwrap_or(5281),
        );
    }
    s.https_redirect_urls = external_urls(config);
    if let Some(Value::Table(t)) = g.get("http_cors_override") {
        for (app, spec) in t.entries() {
            if let Value::Table(spec) = spec {
                s.cors_override.insert(app.clone(), cors_spec(spec));
            }
        }
    }
    if let Some(b) = g.boolean("http_errors_detailed") {
        s.errors.detailed = b;
    }
    if let Some(b) = g.boolean("http_errors_always_show") {
        s.errors.always_show = b;
    }
    if let Some(m) = g.string("http_errors_default_message") {
        s.errors.default_message = m;
    }
    s
}

fn cors_spec(t: &crate::config::Table) -> CorsSpec {
    let enabled = match t.get("enabled") {
        Some(Value::Bool(b)) => Some(*b),
        _ => None,
    };
    let credentials = match t.get("credentials") {
        Some(Value::Bool(b)) => Some(*b),
        _ => None,
    };
    let headers = match t.get("headers") {
        Some(Value::Table(h)) => h
            .entries()
            .iter()
            .map(|(k, v)| (k.clone(), !matches!(v, Value::Bool(false))))
            .chain(
                h.seq()
                    .iter()
                    .filter_map(|v| Some((v.as_str()?.to_owned(), true))),
            )
            .collect(),
        _ => Vec::new(),
    };
    let origins = match t.get("origins") {
        Some(Value::String(s)) => Some(vec![s.clone()]),
        Some(Value::Table(o)) => Some(
            o.seq()
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
        ),
        _ => None,
    };
    CorsSpec {
        enabled,
        credentials,
        headers,
        origins,
    }
}

/// `http_external_url` keyed by the Host name that reaches each host (`""`: global).
fn external_urls(config: &Config) -> std::collections::HashMap<String, String> {
    let mut urls = std::collections::HashMap::new();
    if let Some(u) = config.global().string("http_external_url") {
        urls.insert(String::new(), u);
    }
    for host in config.host_names() {
        let s = config.host(host);
        if let Some(Value::String(u)) = s.get_raw("http_external_url") {
            let name = s.string("http_host").unwrap_or_else(|| host.to_owned());
            urls.insert(name, u.clone());
        }
    }
    urls
}

fn websocket_settings(config: &Config) -> WebSocketSettings {
    let g = config.global();
    let text = |k: &str| {
        websocket_option(config, k)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let mut s = WebSocketSettings::default();
    if let Some(t) = text("websocket_get_response_text") {
        s.get_response_text = t;
    }
    s.get_response_body = text("websocket_get_response_body");
    s.consider_secure = g.boolean("consider_websocket_secure").unwrap_or(false);
    s.origin_check = matches!(
        websocket_option(config, "websocket_origin_check"),
        Some(Value::Bool(true))
    );
    s.allowed_origins = g.strings("allowed_origins");
    s
}

/// Registers the WebSocket app on every host that loads it, and globally when the global
/// `modules_enabled` names it.
fn router(shared: &Arc<Shared>, settings: &HttpSettings) -> Router {
    let config = &shared.config;
    let ws = Arc::new(websocket_settings(config));
    let mut router = Router::new();
    let mut hosts: Vec<&String> = shared.policies.keys().collect();
    hosts.sort();
    for host in hosts {
        if !shared.policies[host].modules.contains("websocket") {
            continue;
        }
        let scope = host_scope(config, host);
        for w in router.add_app(&scope, ws_route::app(ws.clone()), settings) {
            tracing::warn!("{w}");
        }
    }
    crate::lua::http::add_routes(shared, &mut router, settings);
    files_apps(shared, settings, &mut router);
    if crate::core::server::globally_enabled(config, "websocket") {
        for w in router.add_app(&Scope::global(), ws_route::app(ws), settings) {
            tracing::warn!("{w}");
        }
    }
    bosh_apps(shared, settings, &mut router);
    // mod_http_openmetrics is a global module in Prosody; enabling it anywhere serves it.
    let metrics_on = crate::core::server::globally_enabled(config, openmetrics::MODULE_NAME)
        || shared
            .policies
            .values()
            .any(|p| p.modules.contains(openmetrics::MODULE_NAME));
    if metrics_on {
        let access = Arc::new(openmetrics::Access::from_config(config));
        for w in router.add_app(&Scope::global(), openmetrics::app(access), settings) {
            tracing::warn!("{w}");
        }
    }
    router
}

/// The public URL of the WebSocket endpoint of `host` (reference §6.8): `http_external_url`
/// when set, else the first https (preferred) or http listener.
pub fn websocket_url(config: &Config, host: &str, https: Option<u16>, http: Option<u16>) -> String {
    let s = config.host(host);
    let path = s
        .get("http_paths")
        .and_then(|v| {
            string_map(Some(v))
                .into_iter()
                .find(|(k, _)| k == ws_route::APP_NAME)
        })
        .map(|(_, p)| p)
        .unwrap_or_else(|| format!("/{}", ws_route::DEFAULT_PATH));
    let path = format!("/{}", path.trim_matches('/'));
    if let Some(base) = s.string("http_external_url") {
        let ws = base
            .replacen("https://", "wss://", 1)
            .replacen("http://", "ws://", 1);
        return format!("{}{path}", ws.trim_end_matches('/'));
    }
    let name = s.string("http_host").unwrap_or_else(|| host.to_owned());
    match (https, http) {
        (Some(443), _) => format!("wss://{name}{path}"),
        (Some(p), _) => format!("wss://{name}:{p}{path}"),
        (None, Some(80)) => format!("ws://{name}{path}"),
        (None, Some(p)) => format!("ws://{name}:{p}{path}"),
        (None, None) => format!("http://disabled.invalid{path}"),
    }
}

/// The HTTP scope of a host: its `http_host` name and its own `http_paths`.
fn host_scope(config: &Config, host: &str) -> Scope {
    let s = config.host(host);
    let mut scope = Scope::host(host);
    if let Some(h) = s.string("http_host") {
        scope = scope.with_http_host(&h);
    }
    if let Some(v) = s.get_raw("http_paths") {
        for (app, path) in string_map(Some(v)) {
            scope = scope.with_path(&app, &path);
        }
    }
    scope
}

/// mod_bosh's `bosh` app on every host that loads it (a global module: enabled globally,
/// every host loads it), one endpoint and session registry for all of them.
fn bosh_apps(shared: &Arc<Shared>, settings: &HttpSettings, router: &mut Router) {
    let config = &shared.config;
    let mut hosts: Vec<&String> = shared.policies.keys().collect();
    hosts.sort();
    let hosts: Vec<&String> = hosts
        .into_iter()
        .filter(|h| {
            shared.policies[*h]
                .modules
                .contains(crate::modules::bosh::APP_NAME)
        })
        .collect();
    if hosts.is_empty() {
        return;
    }
    let max_send_buffer = network_settings(config).max_send_buffer_size;
    let endpoint = Arc::new(crate::modules::bosh::Endpoint::new(
        shared.clone(),
        max_send_buffer,
    ));
    if crate::core::server::globally_enabled(config, crate::modules::bosh::APP_NAME) {
        // Enabled globally, Prosody's mod_bosh answers on any Host.
        let app = crate::modules::bosh::app(endpoint);
        for w in router.add_app(&Scope::global(), app, settings) {
            tracing::warn!("{w}");
        }
        return;
    }
    for host in hosts {
        let scope = host_scope(config, host);
        for w in router.add_app(
            &scope,
            crate::modules::bosh::app(endpoint.clone()),
            settings,
        ) {
            tracing::warn!("{w}");
        }
    }
}

/// mod_http_files' `files` app on every host that loads it.
fn files_apps(shared: &Shared, settings: &HttpSettings, router: &mut Router) {
    let config = &shared.config;
    let mut hosts: Vec<&String> = shared.policies.keys().collect();
    hosts.sort();
    for host in hosts {
        if !shared.policies[host].modules.contains("http_files") {
            continue;
        }
        let scope = host_scope(config, host);
        let files = Arc::new(http_files::FilesSettings::from_config(config, host));
        for w in router.add_app(&scope, http_files::app(files), settings) {
            tracing::warn!("{w}");
        }
    }
}

/// Builds the HTTP app and binds the `http`/`https` services.
pub async fn start(shared: Arc<Shared>) -> Result<Listeners, StartError> {
    let config = &shared.config;
    let net = network_settings(config);
    let options = SocketOptions::from_settings(&net);

    // Bind first: https_redirect and the printed URLs need the real ports.
    let http_addrs = resolve_addresses(&ServiceSpec::HTTP, &interface_options(config, "http"))?;
    let http_listeners = bind_all("http", &http_addrs, &net, options)?;
    let https_addrs = resolve_addresses(&ServiceSpec::HTTPS, &interface_options(config, "https"))?;
    let mut https_listeners = Vec::new();
    let mut acceptor = None;
    if !https_addrs.is_empty() {
        acceptor = tls_acceptor(&shared);
        match &acceptor {
            Some(_) => https_listeners = bind_all("https", &https_addrs, &net, options)?,
            None => tracing::warn!(
                "No certificate found for the https service; not listening on {https_addrs:?}"
            ),
        }
    }
    let http: Vec<SocketAddr> = http_listeners.iter().map(|l| l.local_addr()).collect();
    let https: Vec<SocketAddr> = https_listeners.iter().map(|l| l.local_addr()).collect();

    let mut settings = http_settings(config);
    if settings.https_redirect == Some(0) {
        settings.https_redirect = Some(https.first().map_or(5281, SocketAddr::port));
    }
    let router = router(&shared, &settings);
    let sessions = Arc::new(AtomicUsize::new(0));
    let on_ws: WebSocketCallback = {
        let shared = shared.clone();
        let sessions = sessions.clone();
        let settings = Arc::new(SessionSettings::websocket(
            &shared,
            net.max_send_buffer_size,
        ));
        Arc::new(move |io, req: WsRequest| {
            let info = WsInfo {
                ip: Some(req.ip),
                secure: req.secure,
                settings: settings.clone(),
            };
            spawn_counted(&sessions, serve_ws(io, info, shared.clone()));
        })
    };
    let mut app =
        HttpApp::new(router, settings, on_ws).with_header_read_timeout(net.ssl_handshake_timeout);
    app.streaming = crate::modules::http_file_share::http::routes(&shared);
    let app = Arc::new(app);
    let mut tasks = Vec::new();

    for l in http_listeners {
        tracing::info!("Serving http on {}", l.local_addr());
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let (stream, peer) = l.accept().await;
                let app = app.clone();
                tokio::spawn(async move {
                    metrics().connection_opened(Transport::Http);
                    let _ = serve_connection(stream, peer, false, app).await;
                    metrics().connection_closed(Transport::Http);
                });
            }
        }));
    }
    if let Some(acceptor) = acceptor {
        let handshake = net.ssl_handshake_timeout;
        for l in https_listeners {
            tracing::info!("Serving https on {}", l.local_addr());
            let app = app.clone();
            let acceptor = acceptor.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    let (stream, peer) = l.accept().await;
                    let app = app.clone();
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        if let Ok(tls) = tls::accept_tls(&acceptor, stream, handshake).await {
                            metrics().connection_opened(Transport::Https);
                            let _ = serve_connection(tls, peer, true, app).await;
                            metrics().connection_closed(Transport::Https);
                        }
                    });
                }
            }));
        }
    }
    let (c2s, c2s_direct_tls) = start_c2s(&shared, &net, &sessions, &mut tasks)?;
    let s2s = crate::modules::s2s::listener::start(&shared, &net, &mut tasks);
    if http.is_empty() && https.is_empty() && c2s.is_empty() && c2s_direct_tls.is_empty() {
        tracing::error!("Not listening on any ports");
    }
    let mut hosts: Vec<&String> = shared.policies.keys().collect();
    hosts.sort();
    for host in hosts
        .into_iter()
        .filter(|h| shared.policies[*h].modules.contains("websocket"))
    {
        let url = websocket_url(
            config,
            host,
            https.first().map(|a| a.port()),
            http.first().map(|a| a.port()),
        );
        tracing::info!("WebSocket endpoint for {host}: {url}");
    }
    Ok(Listeners {
        http,
        https,
        c2s,
        c2s_direct_tls,
        s2s,
        tasks,
        sessions,
    })
}

/// Binds one c2s service's listeners. A port that cannot be bound is logged and skipped,
/// as Prosody's portmanager does.
fn bind_c2s_service(
    config: &Config,
    net: &NetworkSettings,
    options: SocketOptions,
    spec: &ServiceSpec,
) -> Result<Vec<crate::net::listener::BoundListener>, StartError> {
    let addrs = resolve_addresses(spec, &interface_options(config, spec.name))?;
    if addrs.is_empty() {
        return Ok(Vec::new());
    }
    Ok(
        bind_all(spec.name, &addrs, net, options).unwrap_or_else(|e| {
            tracing::error!("Failed to open {} ports: {e}", spec.name);
            Vec::new()
        }),
    )
}

/// Runs a session task, counted in `sessions` while it lives.
///
/// The session future is boxed and spawned with the count's guard beside it. An `async`
/// block awaiting it would keep the future twice (the captured value and the one being
/// awaited). And tokio aligns a task's allocation to 128 bytes, so a session future inline
/// in its task wastes 64 bytes on average to padding; boxed, it is padded to 16.
fn spawn_counted(sessions: &Arc<AtomicUsize>, fut: impl Future<Output = ()> + Send + 'static) {
    sessions.fetch_add(1, Ordering::Relaxed);
    tokio::spawn(Counted {
        fut: Box::pin(fut),
        sessions: sessions.clone(),
    });
}

/// A session future counted in `sessions`; leaves the count when dropped, also when the
/// task is aborted.
struct Counted<F> {
    fut: Pin<Box<F>>,
    sessions: Arc<AtomicUsize>,
}

impl<F: Future<Output = ()>> Future for Counted<F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.fut.as_mut().poll(cx)
    }
}

impl<F> Drop for Counted<F> {
    fn drop(&mut self) {
        self.sessions.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Prosody 0.12's deprecated name for direct-TLS c2s ports.
const LEGACY_SSL: ServiceSpec<'static> = ServiceSpec {
    name: "legacy_ssl",
    default_ports: &[],
    private: false,
};

/// Binds the `c2s` (plain TCP, STARTTLS) and `c2s_direct_tls` (and its old name
/// `legacy_ssl`) services; returns their addresses.
fn start_c2s(
    shared: &Arc<Shared>,
    net: &NetworkSettings,
    sessions: &Arc<AtomicUsize>,
    tasks: &mut Vec<JoinHandle<()>>,
) -> Result<(Vec<SocketAddr>, Vec<SocketAddr>), StartError> {
    let config = &shared.config;
    let g = config.global();
    // The c2s ports are mod_c2s's: with it disabled everywhere there are none (Prosody).
    if !shared.policies.values().any(|p| p.modules.contains("c2s")) {
        tracing::info!("mod_c2s is disabled on every host; not listening for c2s");
        return Ok((Vec::new(), Vec::new()));
    }
    let mut hosts: Vec<&str> = shared.policies.keys().map(String::as_str).collect();
    hosts.sort();
    // STARTTLS is mod_tls's: only hosts that load it offer it.
    let tls_hosts: Vec<&str> = hosts
        .iter()
        .copied()
        .filter(|h| shared.policies[*h].modules.contains("tls"))
        .collect();
    let tls = Arc::new(C2sTls::new(
        tls_contexts::starttls_acceptors(config, &tls_hosts),
        net.ssl_handshake_timeout,
    ));
    for line in tls_contexts::unsupported_ssl_options(config) {
        tracing::warn!("{line}");
    }
    // The same send-buffer cap as WebSocket sessions (it was missing on TCP).
    let settings = Arc::new(SessionSettings::from_shared(
        shared,
        net.max_send_buffer_size,
    ));
    let options = SocketOptions {
        nagle: net.nagle,
        keepalive: g
            .boolean("c2s_tcp_keepalives")
            .or_else(|| g.boolean("tcp_keepalives"))
            .unwrap_or(true),
    };
    let mut c2s = Vec::new();
    for l in bind_c2s_service(config, net, options, &ServiceSpec::C2S)? {
        c2s.push(l.local_addr());
        tracing::info!("Serving c2s on {}", l.local_addr());
        let (shared, tls, sessions) = (shared.clone(), tls.clone(), sessions.clone());
        let settings = settings.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let (stream, peer) = l.accept().await;
                let ip = Some(peer.ip());
                let session =
                    c2s_tcp::serve(stream, ip, shared.clone(), tls.clone(), settings.clone());
                spawn_counted(&sessions, session);
            }
        }));
    }
    let mut listeners = bind_c2s_service(config, net, options, &ServiceSpec::C2S_DIRECT_TLS)?;
    listeners.extend(bind_c2s_service(config, net, options, &LEGACY_SSL)?);
    let mut direct = Vec::new();
    if listeners.is_empty() {
        return Ok((c2s, direct));
    }
    let Some(acceptor) = tls_contexts::direct_tls_acceptor(config, &hosts) else {
        tracing::error!("No certificate found for c2s_direct_tls; not listening on it");
        return Ok((c2s, direct));
    };
    for l in listeners {
        direct.push(l.local_addr());
        tracing::info!("Serving {} on {}", l.service(), l.local_addr());
        let (shared, tls, sessions) = (shared.clone(), tls.clone(), sessions.clone());
        let (acceptor, settings) = (acceptor.clone(), settings.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let (stream, peer) = l.accept().await;
                let (shared, tls) = (shared.clone(), tls.clone());
                let session = c2s_tcp::serve_direct_tls(
                    stream,
                    Some(peer.ip()),
                    acceptor.clone(),
                    shared,
                    tls,
                    settings.clone(),
                );
                spawn_counted(&sessions, session);
            }
        }));
    }
    Ok((c2s, direct))
}

/// A TLS acceptor for the https service: the service certificate as default, each host's
/// own certificate by SNI (under its `http_host` name).
fn tls_acceptor(shared: &Shared) -> Option<tokio_rustls::TlsAcceptor> {
    let config = &shared.config;
    let g = config.global();
    let dir = tls::certs_dir(config.config_dir(), g.string("certificates").as_deref());
    let lookup = CertificateLookup::new(dir);
    let service_opt = g.path("https_certificate", config.config_dir());
    let default = lookup.find_service_cert("https", service_opt.as_deref());
    let mut names: Vec<String> = shared.policies.keys().cloned().collect();
    names.sort();
    let host_certs: Vec<(String, Option<tls::CertPaths>)> = names
        .iter()
        .map(|h| {
            let s = config.host(h);
            let name = s.string("http_host").unwrap_or_else(|| h.clone());
            let opt = |_: &str| s.path("certificate", config.config_dir());
            let cert = lookup
                .find_host_cert(&name, &opt)
                .or_else(|| lookup.find_host_cert(h, &opt));
            (name, cert)
        })
        .collect();
    let default = default.or_else(|| host_certs.iter().find_map(|(_, c)| c.clone()))?;
    let refs: Vec<(&str, Option<tls::CertPaths>)> = host_certs
        .iter()
        .map(|(n, c)| (n.as_str(), c.clone()))
        .collect();
    let (resolver, errors) = tls::build_sni_resolver("https", &refs, Some(&default));
    for e in errors {
        tracing::error!("{e}");
    }
    let profile = g
        .string("tls_profile")
        .and_then(|p| TlsProfile::from_name(&p))
        .unwrap_or(TlsProfile::Intermediate);
    let params = TlsParams::new(profile, Some(default));
    match tls::server_config(Arc::new(resolver), &params) {
        Ok(cfg) => Some(tokio_rustls::TlsAcceptor::from(cfg)),
        Err(e) => {
            tracing::error!("https: {e}");
            None
        }
    }
}
