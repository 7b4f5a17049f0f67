//! `tls_profile` and the LuaSec `protocol`/`ciphersuites` keys mapped onto what rustls can
//! do: TLS 1.2 and 1.3 only, ECDHE with AES-GCM or ChaCha20-Poly1305 only.

use rustls::crypto::ring::ALL_CIPHER_SUITES;
use rustls::{CipherSuite, SupportedCipherSuite, SupportedProtocolVersion};

use super::TlsError;

/// Prosody's `tls_profile` presets (Mozilla's server-side TLS recommendations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsProfile {
    /// TLS 1.3 only.
    Modern,
    /// TLS 1.2+ with ECDHE AES-GCM/ChaCha20 suites (Prosody's default).
    #[default]
    Intermediate,
    /// Mozilla "old" (TLS 1.0+, CBC suites); rustls gives the intermediate set.
    Old,
    /// Prosody's built-in base (`tlsv1+`, `HIGH` ciphers); rustls gives the intermediate set.
    Legacy,
}

impl TlsProfile {
    /// Parses a `tls_profile` value; `None` for names Prosody does not know.
    pub fn from_name(name: &str) -> Option<TlsProfile> {
        match name {
            "modern" => Some(TlsProfile::Modern),
            "intermediate" => Some(TlsProfile::Intermediate),
            "old" => Some(TlsProfile::Old),
            "legacy" => Some(TlsProfile::Legacy),
            _ => None,
        }
    }

    /// The LuaSec `protocol` value this profile stands for.
    pub fn protocol(self) -> &'static str {
        match self {
            TlsProfile::Modern => "tlsv1_3",
            TlsProfile::Intermediate => "tlsv1_2+",
            TlsProfile::Old | TlsProfile::Legacy => "tlsv1+",
        }
    }

    /// What Lilt serves differently from Prosody for this profile, for `check config`.
    pub fn note(self) -> Option<&'static str> {
        match self {
            TlsProfile::Modern | TlsProfile::Intermediate => None,
            TlsProfile::Old => Some(
                "tls_profile 'old': rustls has no TLS 1.0/1.1 and no CBC suites; Lilt serves the intermediate profile",
            ),
            TlsProfile::Legacy => Some(
                "tls_profile 'legacy': rustls has no TLS 1.0/1.1, DHE or CBC suites; Lilt serves the intermediate profile",
            ),
        }
    }
}

/// Which of TLS 1.2 / 1.3 a LuaSec `protocol` string allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtocolRange {
    pub tls12: bool,
    pub tls13: bool,
}

/// Parses a LuaSec protocol name: `tlsv1_2`, `tlsv1_3`, `any`/`sslv23`, and the `+` forms
/// meaning "this version and later". Versions below 1.2 are not available in rustls: a
/// `+` range starting there is narrowed to 1.2+, an exact old version is an error.
pub fn parse_protocol(protocol: &str) -> Result<ProtocolRange, TlsError> {
    let both = ProtocolRange {
        tls12: true,
        tls13: true,
    };
    match protocol.trim() {
        "any" | "sslv23" | "tlsv1+" | "tlsv1_1+" | "tlsv1_2+" | "sslv3+" => Ok(both),
        "tlsv1_2" => Ok(ProtocolRange {
            tls12: true,
            tls13: false,
        }),
        "tlsv1_3" | "tlsv1_3+" => Ok(ProtocolRange {
            tls12: false,
            tls13: true,
        }),
        other => Err(TlsError::UnsupportedProtocol(other.to_owned())),
    }
}

/// The rustls protocol versions of a range.
pub fn protocol_versions(range: ProtocolRange) -> Vec<&'static SupportedProtocolVersion> {
    let mut out = Vec::new();
    if range.tls13 {
        out.push(&rustls::version::TLS13);
    }
    if range.tls12 {
        out.push(&rustls::version::TLS12);
    }
    out
}

/// rustls names TLS 1.3 suites `TLS13_*`; OpenSSL and IANA write `TLS_*`.
fn suite_matches(suite: CipherSuite, openssl_name: &str) -> bool {
    let ours = format!("{suite:?}");
    let wanted = openssl_name.trim().to_ascii_uppercase();
    ours == wanted
        || ours
            .strip_prefix("TLS13_")
            .is_some_and(|rest| wanted.strip_prefix("TLS_") == Some(rest))
}

/// Cipher suites for a protocol range. `ciphersuites` (the LuaSec TLS 1.3 list, already
/// split on `:`) narrows and orders the TLS 1.3 suites; TLS 1.2 suites are always the
/// ECDHE AES-GCM/ChaCha20 set, which is Mozilla's intermediate list minus DHE.
pub fn cipher_suites(
    range: ProtocolRange,
    ciphersuites: Option<&[String]>,
) -> Result<Vec<SupportedCipherSuite>, TlsError> {
    let tls13: Vec<SupportedCipherSuite> = match ciphersuites {
        Some(names) => {
            let picked: Vec<SupportedCipherSuite> = names
                .iter()
                .filter_map(|n| {
                    ALL_CIPHER_SUITES
                        .iter()
                        .find(|s| {
                            s.version() == &rustls::version::TLS13 && suite_matches(s.suite(), n)
                        })
                        .copied()
                })
                .collect();
            if picked.is_empty() && range.tls13 {
                return Err(TlsError::NoCipherSuites(names.join(":")));
            }
            picked
        }
        None => ALL_CIPHER_SUITES
            .iter()
            .filter(|s| s.version() == &rustls::version::TLS13)
            .copied()
            .collect(),
    };
    let mut out = Vec::new();
    if range.tls13 {
        out.extend(tls13);
    }
    if range.tls12 {
        out.extend(
            ALL_CIPHER_SUITES
                .iter()
                .filter(|s| s.version() == &rustls::version::TLS12)
                .copied(),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_map_to_protocol_ranges() {
        let range = |p: TlsProfile| parse_protocol(p.protocol()).unwrap();
        assert_eq!(
            range(TlsProfile::Modern),
            ProtocolRange {
                tls12: false,
                tls13: true
            }
        );
        assert_eq!(
            range(TlsProfile::Intermediate),
            ProtocolRange {
                tls12: true,
                tls13: true
            }
        );
        assert_eq!(
            range(TlsProfile::Legacy),
            ProtocolRange {
                tls12: true,
                tls13: true
            }
        );
        assert!(TlsProfile::Old.note().is_some());
        assert!(TlsProfile::Intermediate.note().is_none());
        assert_eq!(TlsProfile::default(), TlsProfile::Intermediate);
        assert_eq!(TlsProfile::from_name("modern"), Some(TlsProfile::Modern));
        assert_eq!(TlsProfile::from_name("paranoid"), None);
    }

    #[test]
    fn exact_old_protocol_versions_are_refused() {
        assert!(matches!(
            parse_protocol("tlsv1"),
            Err(TlsError::UnsupportedProtocol(_))
        ));
        assert!(matches!(
            parse_protocol("tlsv1_1"),
            Err(TlsError::UnsupportedProtocol(_))
        ));
        assert_eq!(
            parse_protocol("tlsv1_2").unwrap(),
            ProtocolRange {
                tls12: true,
                tls13: false
            }
        );
    }

    #[test]
    fn intermediate_suites_are_ecdhe_aead_only() {
        let suites = cipher_suites(parse_protocol("tlsv1_2+").unwrap(), None).unwrap();
        assert_eq!(suites.len(), 9);
        for s in suites
            .iter()
            .filter(|s| s.version() == &rustls::version::TLS12)
        {
            let name = format!("{:?}", s.suite());
            assert!(name.contains("ECDHE"), "{name}");
            assert!(name.contains("GCM") || name.contains("CHACHA20"), "{name}");
        }
        let modern = cipher_suites(parse_protocol("tlsv1_3").unwrap(), None).unwrap();
        assert!(modern
            .iter()
            .all(|s| s.version() == &rustls::version::TLS13));
        assert_eq!(modern.len(), 3);
    }

    #[test]
    fn ciphersuites_narrow_and_order_tls13_suites() {
        let names = vec![
            "TLS_CHACHA20_POLY1305_SHA256".to_owned(),
            "TLS_AES_256_GCM_SHA384".to_owned(),
        ];
        let range = ProtocolRange {
            tls12: false,
            tls13: true,
        };
        let suites = cipher_suites(range, Some(&names)).unwrap();
        let got: Vec<String> = suites.iter().map(|s| format!("{:?}", s.suite())).collect();
        assert_eq!(
            got,
            ["TLS13_CHACHA20_POLY1305_SHA256", "TLS13_AES_256_GCM_SHA384"]
        );
        let bogus = vec!["TLS_AES_128_CCM_SHA256".to_owned()];
        assert!(matches!(
            cipher_suites(range, Some(&bogus)),
            Err(TlsError::NoCipherSuites(_))
        ));
    }
}
