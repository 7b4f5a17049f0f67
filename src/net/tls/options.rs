//! The `ssl` option tables (§8.4) as far as rustls can honour them: layers are applied in
//! Prosody's order (built-in, found certificate, profile, global `ssl`, service/host tables;
//! later wins), and the LuaSec keys rustls cannot express are explained, not ignored.

use std::path::{Path, PathBuf};

use rustls::{SupportedCipherSuite, SupportedProtocolVersion};

use super::profile::{self, TlsProfile};
use super::{CertPaths, TlsError};

/// One `ssl`-style table, reduced to the keys Lilt honours. The config slice fills it and
/// passes the table's key names to [`explain_unsupported_ssl_keys`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SslLayer {
    pub certificate: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// LuaSec `protocol`, e.g. `tlsv1_2+`.
    pub protocol: Option<String>,
    /// LuaSec `ciphersuites` (TLS 1.3 names), split on `:`.
    pub ciphersuites: Option<Vec<String>>,
    /// `alpn`: protocol names offered in order.
    pub alpn: Option<Vec<String>>,
}

impl SslLayer {
    /// Makes relative `certificate`/`key` paths relative to the config directory, as
    /// Prosody resolves every path-like `ssl` key.
    pub fn relative_to(mut self, config_dir: &Path) -> Self {
        for path in [&mut self.certificate, &mut self.key].into_iter().flatten() {
            if path.is_relative() {
                *path = config_dir.join(&*path);
            }
        }
        self
    }
}

/// The merged TLS parameters of one context (a listener, or a host for STARTTLS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsParams {
    pub certificate: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub protocol: String,
    pub ciphersuites: Option<Vec<String>>,
    pub alpn: Vec<String>,
}

impl TlsParams {
    /// Built-in base, then the auto-found certificate, then the profile (§8.4).
    pub fn new(profile: TlsProfile, found: Option<CertPaths>) -> Self {
        let (certificate, key) = match found {
            Some(p) => (Some(p.cert), Some(p.key)),
            None => (None, None),
        };
        TlsParams {
            certificate,
            key,
            protocol: profile.protocol().to_owned(),
            ciphersuites: None,
            alpn: Vec::new(),
        }
    }

    /// The layering of §8.4 in one call: `new(profile, found)`, then each table of
    /// `layers` in order, later winning. For c2s STARTTLS on host H the order is: global
    /// `ssl`, global `c2s_ssl`, H's `ssl` (or its parent domain's), H's `c2s_ssl` (or the
    /// parent's). For a direct-TLS listener: global `ssl`, `ssl[port]`/`ssl[interface]`,
    /// `<svc>_ssl`, `<svc>_ssl[port|interface]`.
    pub fn layered(profile: TlsProfile, found: Option<CertPaths>, layers: &[&SslLayer]) -> Self {
        let mut params = TlsParams::new(profile, found);
        for layer in layers {
            params.apply(layer);
        }
        params
    }

    /// Applies a later layer: every key it sets replaces the earlier value.
    pub fn apply(&mut self, layer: &SslLayer) -> &mut Self {
        if let Some(c) = &layer.certificate {
            self.certificate = Some(c.clone());
        }
        if let Some(k) = &layer.key {
            self.key = Some(k.clone());
        }
        if let Some(p) = &layer.protocol {
            self.protocol = p.clone();
        }
        if let Some(c) = &layer.ciphersuites {
            self.ciphersuites = Some(c.clone());
        }
        if let Some(a) = &layer.alpn {
            self.alpn = a.clone();
        }
        self
    }

    /// The certificate/key pair, if both are set.
    pub fn cert_paths(&self) -> Option<CertPaths> {
        Some(CertPaths {
            cert: self.certificate.clone()?,
            key: self.key.clone()?,
        })
    }

    /// rustls protocol versions for `protocol`.
    pub fn versions(&self) -> Result<Vec<&'static SupportedProtocolVersion>, TlsError> {
        Ok(profile::protocol_versions(profile::parse_protocol(
            &self.protocol,
        )?))
    }

    /// rustls cipher suites for `protocol` and `ciphersuites`.
    pub fn cipher_suites(&self) -> Result<Vec<SupportedCipherSuite>, TlsError> {
        profile::cipher_suites(
            profile::parse_protocol(&self.protocol)?,
            self.ciphersuites.as_deref(),
        )
    }
}

/// Why a LuaSec key has no effect in Lilt, or `None` when Lilt honours it.
fn unsupported_reason(key: &str) -> Option<&'static str> {
    Some(match key {
        "certificate" | "key" | "protocol" | "ciphersuites" | "alpn" => return None,
        "dhparam" => "rustls has no finite-field Diffie-Hellman; ECDHE is always used",
        "ciphers" => {
            "OpenSSL cipher strings cannot be expressed in rustls; the tls_profile's suites apply"
        }
        "curve" | "curveslist" => "rustls negotiates X25519, P-256 or P-384 itself",
        "options" => "OpenSSL option flags have no rustls equivalent",
        // s2s reads `cafile` itself (trust anchors for peers' certificates, docs/s2s.md).
        "cafile" => return None,
        "verify" | "verifyext" | "depth" | "capath" => {
            "s2s checks peer certificates against cafile (or the system bundle) itself; c2s never requests client certificates"
        }
        "password" => "encrypted private keys are not supported; store the key unencrypted",
        "mode" => "set by Lilt for each context",
        _ => "not a LuaSec option Lilt knows",
    })
}

/// For each key of an `ssl` table that rustls cannot honour, one line `ssl.<key>: why`.
pub fn explain_unsupported_ssl_keys<S: AsRef<str>>(ssl_table_keys: &[S]) -> Vec<String> {
    ssl_table_keys
        .iter()
        .filter_map(|k| {
            unsupported_reason(k.as_ref()).map(|why| format!("ssl.{}: {why}", k.as_ref()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(c: &str, k: &str) -> CertPaths {
        CertPaths {
            cert: c.into(),
            key: k.into(),
        }
    }

    #[test]
    fn later_layers_win_key_by_key() {
        let mut params = TlsParams::new(
            TlsProfile::Intermediate,
            Some(paths("/auto.crt", "/auto.key")),
        );
        assert_eq!(params.protocol, "tlsv1_2+");
        params.apply(&SslLayer {
            protocol: Some("tlsv1_3".into()),
            ..Default::default()
        });
        params.apply(&SslLayer {
            certificate: Some("/host.crt".into()),
            ..Default::default()
        });
        assert_eq!(params.protocol, "tlsv1_3");
        assert_eq!(params.cert_paths(), Some(paths("/host.crt", "/auto.key")));
        assert_eq!(params.versions().unwrap(), vec![&rustls::version::TLS13]);
    }

    #[test]
    fn layered_applies_tables_in_order_after_the_profile() {
        let global = SslLayer {
            protocol: Some("tlsv1_2".into()),
            ..Default::default()
        };
        let host = SslLayer {
            protocol: Some("tlsv1_3".into()),
            key: Some("/h.key".into()),
            ..Default::default()
        };
        let p = TlsParams::layered(
            TlsProfile::Intermediate,
            Some(paths("/a.crt", "/a.key")),
            &[&global, &host],
        );
        assert_eq!(p.protocol, "tlsv1_3");
        assert_eq!(p.cert_paths(), Some(paths("/a.crt", "/h.key")));
        let p = TlsParams::layered(TlsProfile::Modern, None, &[]);
        assert_eq!(p.protocol, "tlsv1_3");
        assert_eq!(p.cert_paths(), None);
    }

    #[test]
    fn ssl_paths_are_relative_to_the_config_directory() {
        let layer = SslLayer {
            certificate: Some("certs/a.crt".into()),
            key: Some("/abs/a.key".into()),
            ..Default::default()
        }
        .relative_to(Path::new("/etc/prosody"));
        assert_eq!(
            layer.certificate,
            Some(PathBuf::from("/etc/prosody/certs/a.crt"))
        );
        assert_eq!(layer.key, Some(PathBuf::from("/abs/a.key")));
    }

    #[test]
    fn unsupported_keys_are_explained_and_honoured_keys_are_not() {
        let lines = explain_unsupported_ssl_keys(&[
            "certificate",
            "dhparam",
            "ciphers",
            "curveslist",
            "options",
            "key",
        ]);
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("ssl.dhparam: "));
        assert!(lines[1].starts_with("ssl.ciphers: "));
        assert!(lines
            .iter()
            .all(|l| !l.starts_with("ssl.certificate") && !l.starts_with("ssl.key")));
    }
}
