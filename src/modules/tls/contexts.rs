//! TLS contexts for c2s from the configuration: one STARTTLS acceptor per VirtualHost that
//! loads mod_tls (layering of §8.4: profile, global `ssl`, global `c2s_ssl`, host `ssl`,
//! host `c2s_ssl`, later winning) and one acceptor for the `c2s_direct_tls` service with a
//! certificate per host chosen by SNI. Also lists the `ssl` keys rustls cannot honour.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;

use crate::config::{Config, Value};
use crate::net::tls::{
    self, explain_unsupported_ssl_keys, CertPaths, CertificateLookup, SslLayer, TlsParams,
    TlsProfile,
};

/// An `ssl`-style option value (a table of LuaSec keys) reduced to what Lilt honours.
/// Paths are resolved against `config_dir`. Anything that is not a table gives an empty layer.
pub fn ssl_layer(value: Option<&Value>, config_dir: &Path) -> SslLayer {
    let Some(Value::Table(t)) = value else {
        return SslLayer::default();
    };
    let string = |k: &str| t.get(k).and_then(Value::as_str).map(str::to_owned);
    let list = |k: &str| match t.get(k) {
        Some(Value::String(s)) => Some(s.split([':', ',']).map(str::to_owned).collect()),
        Some(Value::Table(l)) => Some(
            l.seq()
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
        ),
        _ => None,
    };
    SslLayer {
        certificate: string("certificate").map(Into::into),
        key: string("key").map(Into::into),
        protocol: string("protocol"),
        ciphersuites: list("ciphersuites"),
        alpn: list("alpn"),
    }
    .relative_to(config_dir)
}

/// The global `tls_profile` (default `intermediate`).
pub fn profile(config: &Config) -> TlsProfile {
    config
        .global()
        .string("tls_profile")
        .and_then(|p| TlsProfile::from_name(&p))
        .unwrap_or(TlsProfile::Intermediate)
}

/// A host's own (raw) value of `key`, else its parent domain's when that is a defined
/// host, as mod_tls looks up `ssl` and `c2s_ssl`.
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

/// The merged STARTTLS parameters of `host` (§8.4 c2s layering).
pub fn starttls_params(config: &Config, lookup: &CertificateLookup, host: &str) -> TlsParams {
    let dir = config.config_dir();
    let opt = |h: &str| config.host(h).path("certificate", dir);
    let found = lookup.find_host_cert(host, &opt);
    let g = config.global();
    let layers = [
        ssl_layer(g.get_raw("ssl"), dir),
        ssl_layer(g.get_raw("c2s_ssl"), dir),
        ssl_layer(host_raw(config, host, "ssl"), dir),
        ssl_layer(host_raw(config, host, "c2s_ssl"), dir),
    ];
    let refs: Vec<&SslLayer> = layers.iter().collect();
    TlsParams::layered(profile(config), found, &refs)
}

fn acceptor(
    context: &str,
    hosts: &[(&str, Option<CertPaths>)],
    params: &TlsParams,
) -> Option<TlsAcceptor> {
    let default = params.cert_paths()?;
    let (resolver, _errors) = tls::build_sni_resolver(context, hosts, Some(&default));
    if !resolver.has_default() {
        return None;
    }
    match tls::server_config(Arc::new(resolver), params) {
        Ok(cfg) => Some(TlsAcceptor::from(cfg)),
        Err(e) => {
            tracing::error!("{context}: {e}");
            None
        }
    }
}

/// STARTTLS acceptors of the hosts in `hosts` that have a certificate. A host without one
/// is logged and gets no `<starttls/>` feature.
pub fn starttls_acceptors(config: &Config, hosts: &[&str]) -> HashMap<String, TlsAcceptor> {
    let dir = tls::certs_dir(
        config.config_dir(),
        config.global().string("certificates").as_deref(),
    );
    let lookup = CertificateLookup::new(dir);
    let mut out = HashMap::new();
    for host in hosts {
        let params = starttls_params(config, &lookup, host);
        let context = format!("c2s STARTTLS for {host}");
        match acceptor(&context, &[(host, params.cert_paths())], &params) {
            Some(a) => {
                out.insert((*host).to_owned(), a);
            }
            None => tracing::warn!("No certificate present in TLS configuration for {host}; STARTTLS is not offered there"),
        }
    }
    out
}

/// The `c2s_direct_tls` acceptor (§8.4 direct-TLS layering, per-host certificates by SNI):
/// default certificate from the service lookup, else the first host's.
pub fn direct_tls_acceptor(config: &Config, hosts: &[&str]) -> Option<TlsAcceptor> {
    let g = config.global();
    let dir = config.config_dir();
    let lookup = CertificateLookup::new(tls::certs_dir(dir, g.string("certificates").as_deref()));
    let service_opt = g.path("c2s_direct_tls_certificate", dir);
    let host_certs: Vec<(&str, Option<CertPaths>)> = hosts
        .iter()
        .map(|h| (*h, starttls_params(config, &lookup, h).cert_paths()))
        .collect();
    let found = lookup
        .find_service_cert("c2s_direct_tls", service_opt.as_deref())
        .or_else(|| host_certs.iter().find_map(|(_, c)| c.clone()));
    let layers = [
        ssl_layer(g.get_raw("ssl"), dir),
        ssl_layer(g.get_raw("c2s_direct_tls_ssl"), dir),
    ];
    let refs: Vec<&SslLayer> = layers.iter().collect();
    let params = TlsParams::layered(profile(config), found, &refs);
    acceptor("c2s_direct_tls", &host_certs, &params)
}

/// One line per `ssl`-style option key (global and per host) that rustls cannot honour,
/// for `check config`.
pub fn unsupported_ssl_options(config: &Config) -> Vec<String> {
    const KEYS: [&str; 4] = ["ssl", "c2s_ssl", "c2s_direct_tls_ssl", "https_ssl"];
    let mut sections: Vec<(String, crate::config::Section<'_>)> =
        vec![("global".into(), config.global())];
    for h in config.host_names() {
        sections.push((h.to_owned(), config.host(h)));
    }
    let mut out = Vec::new();
    for (name, section) in sections {
        for key in KEYS {
            if let Some(Value::Table(t)) = section.get_raw(key) {
                let keys: Vec<&str> = t.entries().keys().map(String::as_str).collect();
                for line in explain_unsupported_ssl_keys(&keys) {
                    let line = line.replacen("ssl.", &format!("{key}."), 1);
                    out.push(format!("{name}: {line}"));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> (tempfile::TempDir, Config) {
        let d = tempfile::tempdir().expect("tmp");
        let path = d.path().join("prosody.cfg.lua");
        std::fs::write(&path, text).expect("write");
        let c = Config::load(&path).expect("load");
        (d, c)
    }

    #[test]
    fn c2s_layers_apply_global_then_host_and_parent_host_tables() {
        let (d, c) = config(
            r#"ssl = { protocol = "tlsv1_2+", certificate = "g.crt" }
c2s_ssl = { protocol = "tlsv1_3" }
VirtualHost "example.test"
    c2s_ssl = { key = "/abs/h.key", ciphersuites = "TLS_AES_128_GCM_SHA256" }
VirtualHost "chat.example.test"
"#,
        );
        let lookup = CertificateLookup::new(d.path().join("certs"));
        let p = starttls_params(&c, &lookup, "example.test");
        assert_eq!(p.protocol, "tlsv1_3");
        assert_eq!(p.certificate, Some(d.path().join("g.crt")));
        assert_eq!(p.key, Some("/abs/h.key".into()));
        assert_eq!(
            p.ciphersuites,
            Some(vec!["TLS_AES_128_GCM_SHA256".to_owned()])
        );
        // A subdomain without its own table takes its parent host's.
        let p = starttls_params(&c, &lookup, "chat.example.test");
        assert_eq!(p.key, Some("/abs/h.key".into()));
    }

    #[test]
    fn default_profile_is_intermediate_and_modern_is_tls13_only() {
        let (_d, c) = config("VirtualHost \"example.test\"\n");
        assert_eq!(profile(&c), TlsProfile::Intermediate);
        let (d, c) = config("tls_profile = \"modern\"\nVirtualHost \"example.test\"\n");
        let lookup = CertificateLookup::new(d.path().join("certs"));
        assert_eq!(
            starttls_params(&c, &lookup, "example.test").protocol,
            "tlsv1_3"
        );
    }

    #[test]
    fn hosts_without_a_certificate_get_no_starttls_acceptor() {
        let (_d, c) = config("VirtualHost \"example.test\"\n");
        assert!(starttls_acceptors(&c, &["example.test"]).is_empty());
        assert!(direct_tls_acceptor(&c, &["example.test"]).is_none());
    }
}
