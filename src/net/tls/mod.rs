//! TLS for listeners and STARTTLS: finding certificates the way Prosody does (§8.5),
//! merging `ssl` options (§8.4) into rustls terms, and choosing a certificate per SNI name.
//! Apart from the bounded handshake in [`accept`], it does no network IO; transports wrap
//! their sockets with tokio-rustls.

use std::path::{Path, PathBuf};

pub mod accept;
pub mod index;
pub mod lookup;
pub mod options;
pub mod profile;
pub mod server;
pub mod sni;

pub use accept::accept_tls;
pub use index::CertIndex;
pub use lookup::{find_cert_in, CertificateLookup};
pub use options::{explain_unsupported_ssl_keys, SslLayer, TlsParams};
pub use profile::TlsProfile;
pub use server::{build_sni_resolver, server_config};
pub use sni::{load_certified_key, SniResolver};

/// A certificate chain file and its private key file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CertPaths {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// TLS setup failures. Bad files and unsupported settings are the operator's to fix, and
/// every message names the file or option at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "certificate file {path}: no certificate found (expected '-----BEGIN CERTIFICATE-----')"
    )]
    NoCertificate { path: PathBuf },
    #[error("key file {path}: no private key found (encrypted keys are not supported)")]
    NoPrivateKey { path: PathBuf },
    #[error("key file {path}: unsupported private key: {reason}")]
    UnsupportedKey { path: PathBuf, reason: String },
    #[error("key file {key} does not belong to certificate file {cert}")]
    KeyMismatch { cert: PathBuf, key: PathBuf },
    #[error("ssl protocol '{0}' is not available: rustls supports TLS 1.2 and 1.3 only (try 'tlsv1_2+')")]
    UnsupportedProtocol(String),
    #[error("ssl ciphersuites '{0}': none is a TLS 1.3 suite Lilt supports")]
    NoCipherSuites(String),
    #[error("TLS settings rejected: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Certificate for `host` from `certs_dir` alone (no `certificate` options): index entry,
/// then the file layouts, then the parent domains (§8.5). Indexes the directory on every
/// call; keep a [`CertificateLookup`] when resolving many hosts.
pub fn find_certificate(certs_dir: &Path, host: &str) -> Option<CertPaths> {
    CertificateLookup::new(certs_dir).find_host_cert(host, &|_| None)
}

/// The certificates directory: the `certificates` option (default `certs`) resolved
/// against the config directory.
pub fn certs_dir(config_dir: &Path, certificates_option: Option<&str>) -> PathBuf {
    config_dir.join(certificates_option.unwrap_or("certs"))
}
