//! The per-host and per-service certificate fallback chains of §8.5, over the index and
//! the conventional file layouts (`H.crt`+`H.key`, `H/fullchain.pem`+`privkey.pem`, `H.pem`).

use std::path::{Path, PathBuf};

use super::index::CertIndex;
use super::CertPaths;

/// File layouts tried inside a certificates directory for a name, in order:
/// (certificate, key) relative to the directory.
fn layouts(name: &str) -> [(String, String); 3] {
    [
        (format!("{name}.crt"), format!("{name}.key")),
        (
            format!("{name}/fullchain.pem"),
            format!("{name}/privkey.pem"),
        ),
        // One file holding both certificate and key.
        (format!("{name}.pem"), format!("{name}.pem")),
    ]
}

/// Looks for a certificate and key for `name` at `location`: if it is a file, that file
/// (key: `.crt`->`.key`, `fullchain.pem`->`privkey.pem`, else the same file); if it is a
/// directory, the three layouts inside it.
pub fn find_cert_in(location: &Path, name: &str) -> Option<CertPaths> {
    if location.is_file() {
        let key =
            super::index::matching_key_path(location).unwrap_or_else(|| location.to_path_buf());
        return key.is_file().then(|| CertPaths {
            cert: location.to_path_buf(),
            key,
        });
    }
    // A name that could climb out of the directory is never a certificate name.
    if name.is_empty() || name.contains('/') || name.contains('\\') || name.starts_with('.') {
        return None;
    }
    layouts(name).into_iter().find_map(|(cert, key)| {
        let (cert, key) = (location.join(cert), location.join(key));
        (cert.is_file() && key.is_file()).then_some(CertPaths { cert, key })
    })
}

/// The certificates directory with its index, answering "which certificate for H?".
#[derive(Debug, Clone)]
pub struct CertificateLookup {
    certs_dir: PathBuf,
    index: CertIndex,
}

impl CertificateLookup {
    /// Indexes `certs_dir` now (the `certificates` option, already resolved against the
    /// config directory).
    pub fn new(certs_dir: impl Into<PathBuf>) -> Self {
        let certs_dir = certs_dir.into();
        let index = CertIndex::build(&certs_dir);
        CertificateLookup { certs_dir, index }
    }

    /// Uses a prebuilt index (tests pass one built at a fixed time).
    pub fn with_index(certs_dir: impl Into<PathBuf>, index: CertIndex) -> Self {
        CertificateLookup {
            certs_dir: certs_dir.into(),
            index,
        }
    }

    /// The certificates directory.
    pub fn certs_dir(&self) -> &Path {
        &self.certs_dir
    }

    /// The index built from it.
    pub fn index(&self) -> &CertIndex {
        &self.index
    }

    /// Certificate for `host`: index entry for it or its `*.parent` wildcard, then the
    /// host's `certificate` option (file, or a directory searched instead of the certificates
    /// directory, as Prosody does), else the certificates directory layouts; then all of
    /// this again for the parent domain. `certificate_option(h)` returns host `h`'s
    /// `certificate` option resolved against the config directory.
    pub fn find_host_cert(
        &self,
        host: &str,
        certificate_option: &dyn Fn(&str) -> Option<PathBuf>,
    ) -> Option<CertPaths> {
        let mut name = host.trim_end_matches('.').to_ascii_lowercase();
        loop {
            if let Some(found) = self.index.for_host(&name) {
                return Some(found.clone());
            }
            let location = certificate_option(&name).unwrap_or_else(|| self.certs_dir.clone());
            if let Some(found) = find_cert_in(&location, &name) {
                return Some(found);
            }
            match name.split_once('.') {
                Some((_, parent)) if !parent.is_empty() => name = parent.to_owned(),
                _ => return None,
            }
        }
    }

    /// Default certificate of a direct-TLS service (e.g. `https`): any indexed certificate,
    /// else the `<service>_certificate` option (already narrowed to this port or `default`),
    /// else `<certs>/<service>.crt` and the other layouts.
    pub fn find_service_cert(
        &self,
        service: &str,
        certificate_option: Option<&Path>,
    ) -> Option<CertPaths> {
        if let Some(found) = self.index.any() {
            return Some(found.clone());
        }
        find_cert_in(certificate_option.unwrap_or(&self.certs_dir), service)
    }
}
