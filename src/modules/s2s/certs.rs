//! Certificates on s2s streams (XEP-0178, reference §17.5). TLS itself accepts any peer
//! certificate (a bad one must not break the handshake: Prosody falls back to dialback, or
//! refuses with a stream error that names the problem); after the handshake the peer's
//! chain is checked against the trust anchors (`ssl.cafile`, else the system bundle) and
//! its identity against the domain, as `s2s-check-certificate` does.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::SignatureScheme;
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, Error, RootCertStore};

/// Debian's system trust bundle, Prosody's default trust store there.
pub const SYSTEM_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// The outcome of the certificate check of one peer (Prosody's `cert_chain_status` and
/// `cert_identity_status`; `None` = no certificate was presented).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertStatus {
    None,
    Valid,
    Expired,
    SelfSigned,
    Untrusted,
    /// The chain is good but the certificate does not name the domain.
    WrongName,
}

impl CertStatus {
    pub fn is_valid(self) -> bool {
        self == CertStatus::Valid
    }

    /// Prosody's reason after "Your server's certificate ".
    pub fn reason(self) -> &'static str {
        match self {
            CertStatus::Expired => "has expired",
            CertStatus::SelfSigned => "is self-signed",
            CertStatus::Untrusted => "is not trusted",
            CertStatus::WrongName => "is not valid for this name",
            CertStatus::None | CertStatus::Valid => "could not be validated",
        }
    }
}

/// Trust anchors for peers' chains.
pub fn load_roots(cafile: Option<&Path>) -> RootCertStore {
    let mut roots = RootCertStore::empty();
    let path = cafile.unwrap_or(Path::new(SYSTEM_BUNDLE));
    match std::fs::File::open(path) {
        Ok(f) => {
            let mut reader = std::io::BufReader::new(f);
            let certs = rustls_pemfile::certs(&mut reader).filter_map(Result::ok);
            let (added, _bad) = roots.add_parsable_certificates(certs);
            tracing::debug!("s2s: {added} trust anchors from {}", path.display());
        }
        Err(e) => tracing::warn!("s2s: cannot read trust anchors {}: {e}", path.display()),
    }
    roots
}

/// Checks a peer's certificate chain (`certs[0]` the end entity) for `domain`.
pub struct Checker {
    verifier: Option<Arc<WebPkiServerVerifier>>,
}

impl Checker {
    pub fn new(roots: RootCertStore) -> Self {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| {
                tracing::warn!("s2s: no trust anchors, every certificate is untrusted: {e}")
            })
            .ok();
        Checker { verifier }
    }

    pub fn check(&self, certs: &[CertificateDer<'_>], domain: &str) -> CertStatus {
        let Some((end, intermediates)) = certs.split_first() else {
            return CertStatus::None;
        };
        let Some(verifier) = &self.verifier else {
            return untrusted_or_self_signed(end);
        };
        let Ok(name) = ServerName::try_from(domain.to_owned()) else {
            return CertStatus::WrongName;
        };
        match verifier.verify_server_cert(end, intermediates, &name, &[], UnixTime::now()) {
            Ok(_) => CertStatus::Valid,
            Err(Error::InvalidCertificate(e)) => match e {
                // The chain is good; a certificate without supported SANs may still name
                // the domain in its subject CN (Prosody's util.x509 fallback).
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => {
                    if super::identity::cn_matches(end.as_ref(), domain) {
                        CertStatus::Valid
                    } else {
                        CertStatus::WrongName
                    }
                }
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    CertStatus::Expired
                }
                _ => untrusted_or_self_signed(end),
            },
            Err(_) => untrusted_or_self_signed(end),
        }
    }
}

fn untrusted_or_self_signed(end: &CertificateDer<'_>) -> CertStatus {
    match x509_parser::parse_x509_certificate(end.as_ref()) {
        Ok((_, c)) if c.issuer() == c.subject() => CertStatus::SelfSigned,
        _ => CertStatus::Untrusted,
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Outgoing TLS: any server certificate is accepted at the handshake (signatures are still
/// checked); [`Checker`] judges it afterwards.
#[derive(Debug)]
pub struct AnyServerCert(Arc<CryptoProvider>);

impl AnyServerCert {
    pub fn new() -> Arc<Self> {
        Arc::new(AnyServerCert(provider()))
    }
}

impl ServerCertVerifier for AnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        tls12_signature(&self.0, message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        tls13_signature(&self.0, message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Incoming TLS: a client certificate is asked for but optional, and any is accepted at the
/// handshake; [`Checker`] judges it once the stream names its domain.
#[derive(Debug)]
pub struct AnyClientCert(Arc<CryptoProvider>);

impl AnyClientCert {
    pub fn new() -> Arc<Self> {
        Arc::new(AnyClientCert(provider()))
    }
}

impl ClientCertVerifier for AnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        tls12_signature(&self.0, message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        tls13_signature(&self.0, message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Handshake signatures are still checked with the provider's algorithms, by both the
/// server and the client verifier: only the certificate's trust is judged later.
fn tls12_signature(
    p: &CryptoProvider,
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, Error> {
    let algs = &p.signature_verification_algorithms;
    rustls::crypto::verify_tls12_signature(message, cert, dss, algs)
}

fn tls13_signature(
    p: &CryptoProvider,
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, Error> {
    let algs = &p.signature_verification_algorithms;
    rustls::crypto::verify_tls13_signature(message, cert, dss, algs)
}

/// Our own certificate, offered when a peer asks for a client certificate.
#[derive(Debug)]
pub struct OwnCert(pub Arc<rustls::sign::CertifiedKey>);

impl rustls::client::ResolvesClientCert for OwnCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca() -> (rcgen::Certificate, rcgen::KeyPair) {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "s2s test CA");
        (p.self_signed(&key).expect("ca"), key)
    }

    fn roots(ca: &rcgen::Certificate) -> RootCertStore {
        let mut r = RootCertStore::empty();
        r.add(ca.der().clone()).expect("root");
        r
    }

    #[test]
    fn a_certificate_from_the_trusted_ca_is_valid_only_for_its_names() {
        let (ca, ca_key) = ca();
        let key = rcgen::KeyPair::generate().expect("key");
        let leaf = rcgen::CertificateParams::new(vec!["a.test".to_owned()])
            .expect("params")
            .signed_by(&key, &ca, &ca_key)
            .expect("leaf");
        let checker = Checker::new(roots(&ca));
        let chain = [leaf.der().clone()];
        assert_eq!(checker.check(&chain, "a.test"), CertStatus::Valid);
        assert_eq!(checker.check(&chain, "b.test"), CertStatus::WrongName);
        assert_eq!(checker.check(&[], "a.test"), CertStatus::None);
    }

    #[test]
    fn a_self_signed_certificate_is_reported_as_such() {
        let (ca, _) = ca();
        let key = rcgen::KeyPair::generate().expect("key");
        let own = rcgen::CertificateParams::new(vec!["a.test".to_owned()])
            .expect("params")
            .self_signed(&key)
            .expect("self-signed");
        let checker = Checker::new(roots(&ca));
        let status = checker.check(&[own.der().clone()], "a.test");
        assert_eq!(status, CertStatus::SelfSigned);
        assert_eq!(status.reason(), "is self-signed");
    }

    #[test]
    fn wildcards_cover_one_left_most_label() {
        let (ca, ca_key) = ca();
        let key = rcgen::KeyPair::generate().expect("key");
        let leaf = rcgen::CertificateParams::new(vec!["*.a.test".to_owned()])
            .expect("params")
            .signed_by(&key, &ca, &ca_key)
            .expect("leaf");
        let checker = Checker::new(roots(&ca));
        let chain = [leaf.der().clone()];
        assert_eq!(checker.check(&chain, "muc.a.test"), CertStatus::Valid);
        assert_eq!(checker.check(&chain, "x.muc.a.test"), CertStatus::WrongName);
    }

    #[test]
    fn a_trusted_certificate_without_subject_alt_names_is_valid_for_its_common_name() {
        let (ca, ca_key) = ca();
        let key = rcgen::KeyPair::generate().expect("key");
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "a.test");
        let leaf = p.signed_by(&key, &ca, &ca_key).expect("leaf");
        let checker = Checker::new(roots(&ca));
        let chain = [leaf.der().clone()];
        assert_eq!(checker.check(&chain, "a.test"), CertStatus::Valid);
        assert_eq!(checker.check(&chain, "b.test"), CertStatus::WrongName);
    }
}
