//! Starting s2s: the shared [`S2sContext`] (TLS contexts per host with the `ssl`/`s2s_ssl`
//! layering, trust anchors, resolver), installed on the core so `route/remote` can open
//! routes, and the `s2s` (STARTTLS) and `s2s_direct_tls` listeners.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::certs::{self, AnyClientCert, AnyServerCert, Checker, OwnCert};
use super::routes::{install, on_core};
use super::settings::S2sSettings;
use super::{dns, enabled_on, S2sContext};
use crate::config::{Config, Value};
use crate::core::Shared;
use crate::modules::tls::contexts::{profile, ssl_layer};
use crate::net::listener::{
    bind_all, resolve_addresses, InterfaceOptions, ServiceSpec, SocketOptions,
};
use crate::net::settings::NetworkSettings;
use crate::net::tls::{self, CertPaths, CertificateLookup, SslLayer, TlsParams};

const S2S: ServiceSpec<'static> = ServiceSpec {
    name: "s2s",
    default_ports: &[5269],
    private: false,
};

const S2S_DIRECT_TLS: ServiceSpec<'static> = ServiceSpec {
    name: "s2s_direct_tls",
    default_ports: &[],
    private: false,
};

/// Where the s2s services listen.
#[derive(Debug, Default, Clone)]
pub struct S2sAddrs {
    pub starttls: Vec<SocketAddr>,
    pub direct_tls: Vec<SocketAddr>,
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

fn interface_options(config: &Config, service: &str) -> InterfaceOptions {
    let g = config.global();
    let strings = |k: &str| g.get(k).map(|_| g.strings(k));
    InterfaceOptions {
        ports: ports(config, &format!("{service}_ports")),
        service_interfaces: strings(&format!("{service}_interfaces")),
        service_interface: g.string(&format!("{service}_interface")),
        local_interfaces: strings("local_interfaces"),
        interfaces: strings("interfaces"),
        interface: g.string("interface"),
        use_ipv4: g.boolean("use_ipv4").unwrap_or(true),
        use_ipv6: g.boolean("use_ipv6").unwrap_or(true),
    }
}

/// A host's raw `key`, else its parent domain's when that is a host (as mod_tls does).
fn host_raw<'a>(config: &'a Config, host: &str, key: &str) -> Option<&'a Value> {
    if let Some(v) = config.host(host).get_raw(key) {
        return Some(v);
    }
    let parent = host.split_once('.')?.1;
    config
        .host_names()
        .contains(&parent)
        .then(|| config.host(parent).get_raw(key))
        .flatten()
}

/// The s2s TLS parameters of `host`: profile, global `ssl`, global `s2s_ssl`, host `ssl`,
/// host `s2s_ssl`, later winning.
fn s2s_params(config: &Config, lookup: &CertificateLookup, host: &str) -> TlsParams {
    let dir = config.config_dir();
    let opt = |h: &str| config.host(h).path("certificate", dir);
    let found = lookup.find_host_cert(host, &opt);
    let g = config.global();
    let layers = [
        ssl_layer(g.get_raw("ssl"), dir),
        ssl_layer(g.get_raw("s2s_ssl"), dir),
        ssl_layer(host_raw(config, host, "ssl"), dir),
        ssl_layer(host_raw(config, host, "s2s_ssl"), dir),
    ];
    let refs: Vec<&SslLayer> = layers.iter().collect();
    TlsParams::layered(profile(config), found, &refs)
}

/// `cafile` from `s2s_ssl`, else `ssl` (a LuaSec key Prosody passes to OpenSSL).
fn cafile(config: &Config) -> Option<PathBuf> {
    let g = config.global();
    for key in ["s2s_ssl", "ssl"] {
        if let Some(Value::Table(t)) = g.get_raw(key) {
            if let Some(p) = t.get("cafile").and_then(Value::as_str) {
                return Some(config.config_dir().join(p));
            }
        }
    }
    None
}

fn provider(params: &TlsParams) -> Option<Arc<rustls::crypto::CryptoProvider>> {
    let suites = params.cipher_suites().ok()?;
    Some(Arc::new(rustls::crypto::CryptoProvider {
        cipher_suites: suites,
        ..rustls::crypto::ring::default_provider()
    }))
}

fn server_config(
    resolver: Arc<tls::SniResolver>,
    params: &TlsParams,
) -> Option<Arc<rustls::ServerConfig>> {
    let versions = params.versions().ok()?;
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider(params)?)
        .with_protocol_versions(&versions)
        .ok()?
        .with_client_cert_verifier(AnyClientCert::new())
        .with_cert_resolver(resolver);
    cfg.ignore_client_order = true;
    Some(Arc::new(cfg))
}

fn client_config(
    params: &TlsParams,
    own: Option<Arc<rustls::sign::CertifiedKey>>,
) -> Option<Arc<rustls::ClientConfig>> {
    let versions = params.versions().ok()?;
    let builder = rustls::ClientConfig::builder_with_provider(provider(params)?)
        .with_protocol_versions(&versions)
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(AnyServerCert::new());
    let cfg = match own {
        Some(key) => builder.with_client_cert_resolver(Arc::new(OwnCert(key))),
        None => builder.with_no_client_auth(),
    };
    Some(Arc::new(cfg))
}

/// Builds the context from the configuration.
pub fn context(shared: &Arc<Shared>) -> S2sContext {
    let config = &shared.config;
    let settings = S2sSettings::from_config(config);
    let mut served: Vec<String> = config.host_names().into_iter().map(str::to_owned).collect();
    served.sort();
    let modules = |h: &str| -> std::collections::BTreeSet<String> {
        match shared.policies.get(h) {
            Some(p) => p.modules.clone(),
            None => config.modules_for_host(h),
        }
    };
    let s2s_hosts: HashSet<String> = served
        .iter()
        .filter(|h| enabled_on(config, h) && modules(h).contains("s2s"))
        .cloned()
        .collect();
    let dialback_hosts: HashSet<String> = served
        .iter()
        .filter(|h| modules(h).contains("dialback"))
        .cloned()
        .collect();
    let bidi_hosts: HashSet<String> = served
        .iter()
        .filter(|h| modules(h).contains(super::bidi::MODULE_NAME))
        .cloned()
        .collect();
    let lookup = CertificateLookup::new(tls::certs_dir(
        config.config_dir(),
        config.global().string("certificates").as_deref(),
    ));
    let mut resolver = tls::SniResolver::new();
    let mut tls_hosts = HashSet::new();
    let mut connectors = HashMap::new();
    let mut first_params: Option<TlsParams> = None;
    for host in &served {
        let params = s2s_params(config, &lookup, host);
        let key = params.cert_paths().and_then(|p: CertPaths| {
            tls::load_certified_key(&p)
                .map_err(|e| tracing::error!("s2s TLS for {host}: {e}"))
                .ok()
        });
        if let Some(key) = &key {
            resolver.add(host, key.clone());
            if !resolver.has_default() {
                resolver.set_default(key.clone());
            }
            if modules(host).contains("tls") {
                tls_hosts.insert(host.clone());
            }
        }
        if let Some(c) = client_config(&params, key) {
            connectors.insert(host.clone(), TlsConnector::from(c));
        }
        first_params.get_or_insert(params);
    }
    let params = first_params.unwrap_or_else(|| TlsParams::new(profile(config), None));
    let acceptor = resolver
        .has_default()
        .then(|| server_config(Arc::new(resolver), &params))
        .flatten()
        .map(TlsAcceptor::from);
    let anonymous_connector =
        TlsConnector::from(client_config(&params, None).unwrap_or_else(|| {
            Arc::new(
                rustls::ClientConfig::builder()
                    .dangerous()
                    .with_custom_certificate_verifier(AnyServerCert::new())
                    .with_no_client_auth(),
            )
        }));
    let resolver = dns::resolver(settings.resolver.as_deref())
        .map_err(|e| tracing::error!("s2s: {e}"))
        .ok();
    let checker = Checker::new(certs::load_roots(cafile(config).as_deref()));
    S2sContext {
        shared: shared.clone(),
        settings,
        resolver,
        checker,
        acceptor,
        tls_hosts,
        connectors,
        anonymous_connector,
        dialback_hosts,
        bidi_hosts,
        served: served.into_iter().collect(),
        s2s_hosts,
        runtime: tokio::runtime::Handle::current(),
    }
}

/// Builds the context, installs it on the core and binds the s2s listeners (a port that
/// cannot be bound is logged and skipped, as Prosody's portmanager does).
pub fn start(
    shared: &Arc<Shared>,
    net: &NetworkSettings,
    tasks: &mut Vec<JoinHandle<()>>,
) -> S2sAddrs {
    let ctx = Arc::new(context(shared));
    let mut addrs = S2sAddrs::default();
    if ctx.s2s_hosts.is_empty() {
        return addrs;
    }
    {
        let ctx = ctx.clone();
        on_core(shared, move |core| install(core, ctx));
    }
    let g = shared.config.global();
    let options = SocketOptions {
        nagle: net.nagle,
        keepalive: g
            .boolean("s2s_tcp_keepalives")
            .or_else(|| g.boolean("tcp_keepalives"))
            .unwrap_or(true),
    };
    for (spec, direct) in [(&S2S, false), (&S2S_DIRECT_TLS, true)] {
        if direct && ctx.acceptor.is_none() {
            continue;
        }
        let wanted = match resolve_addresses(spec, &interface_options(&shared.config, spec.name)) {
            Ok(a) => a,
            Err(e) => {
                tracing::error!("{}: {e}", spec.name);
                continue;
            }
        };
        if wanted.is_empty() {
            continue;
        }
        let listeners = bind_all(spec.name, &wanted, net, options).unwrap_or_else(|e| {
            tracing::error!("Failed to open {} ports: {e}", spec.name);
            Vec::new()
        });
        for l in listeners {
            let addr = l.local_addr();
            tracing::info!("Serving {} on {addr}", spec.name);
            if direct {
                addrs.direct_tls.push(addr);
            } else {
                addrs.starttls.push(addr);
            }
            let ctx = ctx.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    let (stream, peer) = l.accept().await;
                    tokio::spawn(super::incoming::serve(ctx.clone(), stream, peer, direct));
                }
            }));
        }
    }
    addrs
}
