//! Loading certificate/key files into rustls and choosing one per SNI name: exact host,
//! then a `*.parent` wildcard entry, then the listener's default.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::{CertPaths, TlsError};

/// Reads a PEM certificate chain and its private key, and checks they belong together.
pub fn load_certified_key(paths: &CertPaths) -> Result<Arc<CertifiedKey>, TlsError> {
    let open = |path: &Path| {
        File::open(path)
            .map(BufReader::new)
            .map_err(|source| TlsError::Read {
                path: path.to_owned(),
                source,
            })
    };
    let certs = rustls_pemfile::certs(&mut open(&paths.cert)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Read {
            path: paths.cert.clone(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            path: paths.cert.clone(),
        });
    }
    let key = rustls_pemfile::private_key(&mut open(&paths.key)?)
        .map_err(|source| TlsError::Read {
            path: paths.key.clone(),
            source,
        })?
        .ok_or_else(|| TlsError::NoPrivateKey {
            path: paths.key.clone(),
        })?;
    let provider = rustls::crypto::ring::default_provider();
    let signing_key =
        provider
            .key_provider
            .load_private_key(key)
            .map_err(|e| TlsError::UnsupportedKey {
                path: paths.key.clone(),
                reason: e.to_string(),
            })?;
    let certified = CertifiedKey::new(certs, signing_key);
    match certified.keys_match() {
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            Err(TlsError::KeyMismatch {
                cert: paths.cert.clone(),
                key: paths.key.clone(),
            })
        }
        // `Unknown` means the key type cannot tell; the handshake will show any mismatch.
        _ => Ok(Arc::new(certified)),
    }
}

/// Chooses a certificate by the client's SNI name, falling back to a default.
///
/// ```ignore
/// let mut sni = SniResolver::new();
/// sni.add("example.com", load_certified_key(&paths)?);
/// ```
#[derive(Debug, Default, Clone)]
pub struct SniResolver {
    by_name: HashMap<String, Arc<CertifiedKey>>,
    default: Option<Arc<CertifiedKey>>,
}

impl SniResolver {
    /// An empty resolver: every handshake fails until certificates are added.
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves `key` to clients asking for `name` (`*.domain` matches one label below it).
    pub fn add(&mut self, name: &str, key: Arc<CertifiedKey>) {
        self.by_name
            .insert(name.trim_end_matches('.').to_ascii_lowercase(), key);
    }

    /// Serves `key` when SNI is absent or names nothing known.
    pub fn set_default(&mut self, key: Arc<CertifiedKey>) {
        self.default = Some(key);
    }

    /// Builder form of [`SniResolver::set_default`].
    pub fn with_default(mut self, key: Arc<CertifiedKey>) -> Self {
        self.set_default(key);
        self
    }

    /// True when a certificate is served without SNI.
    pub fn has_default(&self) -> bool {
        self.default.is_some()
    }

    /// Names with their own certificate.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// The certificate for an SNI name (or for no SNI).
    pub fn resolve_name(&self, server_name: Option<&str>) -> Option<Arc<CertifiedKey>> {
        let found = server_name.and_then(|name| {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            self.by_name.get(&name).or_else(|| {
                let (_, parent) = name.split_once('.')?;
                self.by_name.get(&format!("*.{parent}"))
            })
        });
        found.or(self.default.as_ref()).cloned()
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let chosen = self.resolve_name(client_hello.server_name());
        if chosen.is_none() {
            tracing::debug!(sni = ?client_hello.server_name(), "no certificate for this TLS client");
        }
        chosen
    }
}
