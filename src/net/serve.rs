//! Starting the `http` and `https` services from the configuration: the route table with
//! the WebSocket app on the hosts that load it, listeners on the configured interfaces and
//! ports, certificates for HTTPS, and a count of live sessions for a graceful drain.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::config::{Config, Value};
use crate::core::Shared;
use crate::modules::http::{CorsSpec, HttpSettings, Router, Scope, TrustedProxies};
use crate::modules::websocket::route::{self as ws_route, WebSocketSettings};
use crate::net::http::{serve_connection, HttpApp, WebSocketCallback, WsRequest};
use crate::net::listener::{
    bind_all, resolve_addresses, InterfaceOptions, ServiceSpec, SocketOptions,
};
use crate::net::settings::{NetworkSettings, SettingValue};
use crate::net::tls::{self, CertificateLookup, TlsParams, TlsProfile};
use crate::net::websocket::{serve as serve_ws, WsInfo};

/// The running services.
pub struct Listeners {
    http: Vec<SocketAddr>,
    https: Vec<SocketAddr>,
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

    /// Live WebSocket sessions.
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

fn interface_options(config: &Config, service: &str) -> InterfaceOptions {
    let g = config.global();
    InterfaceOptions {
        ports: ports(config, &format!("{service}_ports")),
        service_interfaces: strings_opt(config, &format!("{service}_interfaces")),
        service_interface: g.string(&format!("{service}_interface")),
        local_interfaces: strings_opt(config, "local_interfaces"),
        interfaces: strings_opt(config, "interfaces"),
        interface: g.string("interface"),
        use_ipv4: g.boolean("use_ipv4").unwrap_or(true),
        use_ipv6: g.boolean("use_ipv6").unwrap_or(true),
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

fn websocket_settings(config: &Config) -> WebSocketSettings {
    let g = config.global();
    let mut s = WebSocketSettings::default();
    if let Some(t) = g.string("websocket_get_response_text") {
        s.get_response_text = t;
    }
    s.get_response_body = g.string("websocket_get_response_body");
    s.consider_secure = g.boolean("consider_websocket_secure").unwrap_or(false);
    s.origin_check = g.boolean("websocket_origin_check").unwrap_or(false);
    s.allowed_origins = g.strings("allowed_origins");
    s
}

/// Registers the WebSocket app on every host that loads it, and globally when the global
/// `modules_enabled` names it.
fn router(shared: &Shared, settings: &HttpSettings) -> Router {
    let config = &shared.config;
    let ws = Arc::new(websocket_settings(config));
    let mut router = Router::new();
    let mut hosts: Vec<&String> = shared.policies.keys().collect();
    hosts.sort();
    for host in hosts {
        if !shared.policies[host].modules.contains("websocket") {
            continue;
        }
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
        for w in router.add_app(&scope, ws_route::app(ws.clone()), settings) {
            tracing::warn!("{w}");
        }
    }
    let global_ws = config
        .global()
        .strings("modules_enabled")
        .iter()
        .any(|m| m == "websocket");
    if global_ws {
        for w in router.add_app(&Scope::global(), ws_route::app(ws), settings) {
            tracing::warn!("{w}");
        }
    }
    router
}

/// Builds the HTTP app and binds the `http`/`https` services.
pub async fn start(shared: Arc<Shared>) -> Result<Listeners, String> {
    let config = &shared.config;
    let net = network_settings(config);
    let settings = http_settings(config);
    let router = router(&shared, &settings);
    let sessions = Arc::new(AtomicUsize::new(0));
    let on_ws: WebSocketCallback = {
        let shared = shared.clone();
        let sessions = sessions.clone();
        let max_send_buffer = net.max_send_buffer_size;
        Arc::new(move |io, req: WsRequest| {
            let shared = shared.clone();
            let sessions = sessions.clone();
            sessions.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                serve_ws(
                    io,
                    WsInfo {
                        ip: Some(req.ip),
                        secure: req.secure,
                        max_send_buffer,
                    },
                    shared,
                )
                .await;
                sessions.fetch_sub(1, Ordering::Relaxed);
            });
        })
    };
    let app = Arc::new(
        HttpApp::new(router, settings, on_ws).with_header_read_timeout(net.ssl_handshake_timeout),
    );
    let options = SocketOptions::from_settings(&net);
    let mut tasks = Vec::new();

    let http_addrs = resolve_addresses(&ServiceSpec::HTTP, &interface_options(config, "http"))
        .map_err(|e| e.to_string())?;
    let mut http = Vec::new();
    for l in bind_all("http", &http_addrs, &net, options).map_err(|e| e.to_string())? {
        http.push(l.local_addr());
        tracing::info!("Serving http on {}", l.local_addr());
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let (stream, peer) = l.accept().await;
                let app = app.clone();
                tokio::spawn(async move {
                    let _ = serve_connection(stream, peer, false, app).await;
                });
            }
        }));
    }

    let mut https = Vec::new();
    let https_addrs = resolve_addresses(&ServiceSpec::HTTPS, &interface_options(config, "https"))
        .map_err(|e| e.to_string())?;
    if !https_addrs.is_empty() {
        match tls_acceptor(&shared) {
            Some(acceptor) => {
                let handshake = net.ssl_handshake_timeout;
                for l in
                    bind_all("https", &https_addrs, &net, options).map_err(|e| e.to_string())?
                {
                    https.push(l.local_addr());
                    tracing::info!("Serving https on {}", l.local_addr());
                    let app = app.clone();
                    let acceptor = acceptor.clone();
                    tasks.push(tokio::spawn(async move {
                        loop {
                            let (stream, peer) = l.accept().await;
                            let app = app.clone();
                            let acceptor = acceptor.clone();
                            tokio::spawn(async move {
                                if let Ok(tls) = tls::accept_tls(&acceptor, stream, handshake).await
                                {
                                    let _ = serve_connection(tls, peer, true, app).await;
                                }
                            });
                        }
                    }));
                }
            }
            None => tracing::warn!(
                "No certificate found for the https service; not listening on {https_addrs:?}"
            ),
        }
    }
    if http.is_empty() && https.is_empty() {
        tracing::error!("Not listening on any ports");
    }
    Ok(Listeners {
        http,
        https,
        tasks,
        sessions,
    })
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
