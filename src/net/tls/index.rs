//! The certificate index of §8.5: every currently valid certificate below the
//! `certificates` directory (three levels of subdirectories) that has a matching key file,
//! keyed by the DNS names it is valid for (`*.domain` for wildcards).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use x509_parser::extensions::GeneralName;
use x509_parser::time::ASN1Time;

use super::CertPaths;

/// How many levels of subdirectories below the certificates directory are searched.
const MAX_DEPTH: usize = 3;
const PEM_CERT_HEADER: &[u8] = b"-----BEGIN CERTIFICATE-----";

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    paths: CertPaths,
    not_after: i64,
}

/// Certificates found by scanning a directory, by lower-cased name.
#[derive(Debug, Clone, Default)]
pub struct CertIndex {
    by_name: BTreeMap<String, Vec<Entry>>,
}

/// The key file Prosody pairs with a certificate file: `X.crt` -> `X.key`,
/// `...fullchain...` -> `...privkey...`.
pub fn matching_key_path(cert: &Path) -> Option<PathBuf> {
    let name = cert.file_name()?.to_str()?;
    if let Some(stem) = name.strip_suffix(".crt") {
        return Some(cert.with_file_name(format!("{stem}.key")));
    }
    if name.contains("fullchain") {
        return Some(cert.with_file_name(name.replacen("fullchain", "privkey", 1)));
    }
    None
}

fn is_candidate(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(".crt") || n.contains("fullchain"))
}

/// Names of a certificate (SAN dNSNames, else subject CNs) if it is valid at `now`.
fn valid_names(pem_bytes: &[u8], now: i64) -> Option<(Vec<String>, i64)> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem_bytes).ok()?;
    let cert = pem.parse_x509().ok()?;
    if !cert
        .validity()
        .is_valid_at(ASN1Time::from_timestamp(now).ok()?)
    {
        return None;
    }
    let mut names: Vec<String> = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            if let GeneralName::DNSName(dns) = name {
                names.push(dns.to_ascii_lowercase());
            }
        }
    }
    // Prosody indexes the subject CN as well as the SAN names.
    for cn in cert.subject().iter_common_name() {
        if let Ok(cn) = cn.as_str() {
            names.push(cn.to_ascii_lowercase());
        }
    }
    names.sort();
    names.dedup();
    Some((names, cert.validity().not_after.timestamp()))
}

impl CertIndex {
    /// Scans `dir` as of the current time. A missing directory yields an empty index.
    pub fn build(dir: &Path) -> CertIndex {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        Self::build_at(dir, now)
    }

    /// Scans `dir`, keeping certificates valid at `now` (seconds since the Unix epoch).
    pub fn build_at(dir: &Path, now: i64) -> CertIndex {
        let mut index = CertIndex::default();
        index.scan(dir, 0, now);
        for entries in index.by_name.values_mut() {
            // Several files for one name: prefer the one that stays valid longest, then
            // path order, so the choice does not depend on directory listing order.
            entries.sort_by(|a, b| {
                b.not_after
                    .cmp(&a.not_after)
                    .then_with(|| a.paths.cert.cmp(&b.paths.cert))
            });
        }
        index
    }

    fn scan(&mut self, dir: &Path, depth: usize, now: i64) {
        let Ok(read) = fs::read_dir(dir) else {
            if depth == 0 {
                tracing::debug!("certificate directory {} not readable", dir.display());
            }
            return;
        };
        let mut paths: Vec<PathBuf> = read.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            if path.is_dir() {
                if depth < MAX_DEPTH {
                    self.scan(&path, depth + 1, now);
                }
            } else if is_candidate(&path) {
                self.consider(path, now);
            }
        }
    }

    fn consider(&mut self, cert: PathBuf, now: i64) {
        let Ok(bytes) = fs::read(&cert) else { return };
        if !bytes.starts_with(PEM_CERT_HEADER) {
            return;
        }
        let Some(key) = matching_key_path(&cert).filter(|k| k.is_file()) else {
            tracing::debug!(
                "certificate {} has no matching key file; not indexed",
                cert.display()
            );
            return;
        };
        let Some((names, not_after)) = valid_names(&bytes, now) else {
            tracing::debug!(
                "certificate {} is unparsable or not currently valid; not indexed",
                cert.display()
            );
            return;
        };
        for name in names {
            let entry = Entry {
                paths: CertPaths {
                    cert: cert.clone(),
                    key: key.clone(),
                },
                not_after,
            };
            self.by_name.entry(name).or_default().push(entry);
        }
    }

    /// The certificate indexed for exactly `name` (which may itself be `*.domain`).
    pub fn get(&self, name: &str) -> Option<&CertPaths> {
        self.by_name
            .get(&name.to_ascii_lowercase())?
            .first()
            .map(|e| &e.paths)
    }

    /// Certificate for `host`: its own entry, else a wildcard for its parent domain.
    pub fn for_host(&self, host: &str) -> Option<&CertPaths> {
        self.get(host).or_else(|| {
            let (_, parent) = host.split_once('.')?;
            self.get(&format!("*.{parent}"))
        })
    }

    /// Any indexed certificate, the first by name: what a direct-TLS service without its
    /// own certificate presents to clients that send no usable SNI.
    pub fn any(&self) -> Option<&CertPaths> {
        self.by_name.values().next()?.first().map(|e| &e.paths)
    }

    /// All indexed names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// True when nothing was indexed.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_path_pairs_crt_with_key_and_fullchain_with_privkey() {
        assert_eq!(
            matching_key_path(Path::new("/c/a.crt")),
            Some(PathBuf::from("/c/a.key"))
        );
        assert_eq!(
            matching_key_path(Path::new("/c/h/fullchain.pem")),
            Some(PathBuf::from("/c/h/privkey.pem"))
        );
        assert_eq!(
            matching_key_path(Path::new("/c/h-fullchain.pem")),
            Some(PathBuf::from("/c/h-privkey.pem"))
        );
        assert_eq!(matching_key_path(Path::new("/c/a.pem")), None);
    }
}
