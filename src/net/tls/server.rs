//! Assembling rustls server configurations: an SNI resolver from per-host certificates
//! (logging hosts that have none, as Prosody does) and a `ServerConfig` from [`TlsParams`].

use std::sync::Arc;

use rustls::server::ResolvesServerCert;
use rustls::ServerConfig;

use super::options::TlsParams;
use super::sni::{load_certified_key, SniResolver};
use super::{CertPaths, TlsError};

/// Builds the resolver of one TLS context named `context` (e.g. `https port 5281`):
/// each `(host, certificate)` gets an SNI entry, `default` is served without SNI. Files
/// that fail to load are logged, skipped, and returned so `check` can report them.
pub fn build_sni_resolver(
    context: &str,
    hosts: &[(&str, Option<CertPaths>)],
    default: Option<&CertPaths>,
) -> (SniResolver, Vec<TlsError>) {
    let mut resolver = SniResolver::new();
    let mut errors = Vec::new();
    for (host, paths) in hosts {
        match paths {
            Some(paths) => match load_certified_key(paths) {
                Ok(key) => resolver.add(host, key),
                Err(e) => {
                    tracing::error!("TLS: {e} (for {host})");
                    errors.push(e);
                }
            },
            None => tracing::info!(
                "No certificate present in TLS configuration for {host}. \
                 Clients asking for it get the default certificate, if any."
            ),
        }
    }
    match default.map(load_certified_key) {
        Some(Ok(key)) => resolver.set_default(key),
        Some(Err(e)) => {
            tracing::error!("TLS: {e} (for {context})");
            errors.push(e);
        }
        None => {}
    }
    if !resolver.has_default() {
        tracing::info!(
            "No certificate present in TLS configuration for {context}. SNI will be required."
        );
    }
    (resolver, errors)
}

/// A rustls server configuration with the protocol versions, cipher suites and ALPN of
/// `params`, choosing certificates through `resolver`. Server cipher preference is on, as
/// in Prosody's built-in options. Certificate files named in `params` are not read here:
/// put them in the resolver (see [`build_sni_resolver`]).
pub fn server_config(
    resolver: Arc<dyn ResolvesServerCert>,
    params: &TlsParams,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = rustls::crypto::CryptoProvider {
        cipher_suites: params.cipher_suites()?,
        ..rustls::crypto::ring::default_provider()
    };
    let versions = params.versions()?;
    let mut config = ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&versions)?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.ignore_client_order = true;
    config.alpn_protocols = params.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    Ok(Arc::new(config))
}
