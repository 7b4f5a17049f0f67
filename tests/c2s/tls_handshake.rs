//! Real TLS handshakes over 127.0.0.1: the SNI resolver hands each host its own
//! certificate, and `tls_profile` decides which protocol versions a client may use.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use lilt::net::listener::{bind_service, SocketOptions};
use lilt::net::settings::NetworkSettings;
use lilt::net::tls::{
    accept_tls, build_sni_resolver, server_config, CertPaths, TlsParams, TlsProfile,
};
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore, SupportedProtocolVersion};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// Writes a self-signed certificate for `name` into `dir` and returns its paths and DER.
fn make_cert(dir: &Path, name: &str) -> (CertPaths, CertificateDer<'static>) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec![name.to_string()]).unwrap();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    params.distinguished_name = dn;
    let cert = params.self_signed(&key).unwrap();
    let paths = CertPaths {
        cert: dir.join(format!("{name}.crt")),
        key: dir.join(format!("{name}.key")),
    };
    std::fs::write(&paths.cert, cert.pem()).unwrap();
    std::fs::write(&paths.key, key.serialize_pem()).unwrap();
    (paths, cert.der().clone())
}

/// Starts a TLS listener on 127.0.0.1:0 that greets every client with "ok".
async fn serve(hosts: &[(&str, Option<CertPaths>)], profile: TlsProfile) -> SocketAddr {
    let (resolver, errors) = build_sni_resolver("test port 0", hosts, None);
    assert!(errors.is_empty(), "{errors:?}");
    let config = server_config(Arc::new(resolver), &TlsParams::new(profile, None)).unwrap();
    let acceptor = TlsAcceptor::from(config);
    let settings = NetworkSettings::default();
    let listener = bind_service(
        "test",
        "127.0.0.1:0".parse().unwrap(),
        &settings,
        SocketOptions::from_settings(&settings),
    )
    .unwrap();
    let addr = listener.local_addr();
    let timeout = settings.ssl_handshake_timeout;
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await;
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = accept_tls(&acceptor, tcp, timeout).await {
                    let _ = tls.write_all(b"ok").await;
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    addr
}

fn client(
    trusted: &[CertificateDer<'static>],
    versions: &[&'static SupportedProtocolVersion],
) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    for der in trusted {
        roots.add(der.clone()).unwrap();
    }
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

/// Connects with SNI `name`; returns the server's leaf certificate and protocol version.
async fn connect(
    addr: SocketAddr,
    connector: &TlsConnector,
    name: &str,
) -> std::io::Result<(CertificateDer<'static>, rustls::ProtocolVersion)> {
    let tcp = TcpStream::connect(addr).await?;
    let mut tls = connector
        .connect(ServerName::try_from(name.to_owned()).unwrap(), tcp)
        .await?;
    let mut greeting = [0u8; 2];
    tls.read_exact(&mut greeting).await?;
    assert_eq!(&greeting, b"ok");
    let (_, conn) = tls.get_ref();
    let leaf = conn.peer_certificates().unwrap()[0].clone().into_owned();
    Ok((leaf, conn.protocol_version().unwrap()))
}

const ALL: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13, &rustls::version::TLS12];

#[tokio::test]
async fn sni_gives_each_host_its_own_certificate() {
    let tmp = tempfile::tempdir().unwrap();
    let (a_paths, a_der) = make_cert(tmp.path(), "a.test");
    let (b_paths, b_der) = make_cert(tmp.path(), "b.test");
    let addr = serve(
        &[("a.test", Some(a_paths)), ("b.test", Some(b_paths))],
        TlsProfile::Intermediate,
    )
    .await;
    let connector = client(&[a_der.clone(), b_der.clone()], ALL);
    let (leaf, _) = connect(addr, &connector, "a.test").await.unwrap();
    assert_eq!(leaf, a_der);
    let (leaf, version) = connect(addr, &connector, "b.test").await.unwrap();
    assert_eq!(leaf, b_der);
    assert_eq!(version, rustls::ProtocolVersion::TLSv1_3);
}

#[tokio::test]
async fn unknown_sni_without_default_certificate_fails_the_handshake() {
    let tmp = tempfile::tempdir().unwrap();
    let (a_paths, a_der) = make_cert(tmp.path(), "a.test");
    let addr = serve(
        &[("a.test", Some(a_paths)), ("nocert.test", None)],
        TlsProfile::Intermediate,
    )
    .await;
    let connector = client(&[a_der], ALL);
    // The server refuses (an alert), rather than the client rejecting a wrong certificate.
    for name in ["c.test", "nocert.test"] {
        let err = connect(addr, &connector, name).await.unwrap_err();
        assert!(
            err.to_string().contains("received fatal alert"),
            "{name}: {err}"
        );
    }
    assert!(connect(addr, &connector, "a.test").await.is_ok());
}

#[tokio::test]
async fn modern_profile_refuses_tls12_clients_and_intermediate_accepts_them() {
    let tmp = tempfile::tempdir().unwrap();
    let (paths, der) = make_cert(tmp.path(), "a.test");
    let tls12_only = client(std::slice::from_ref(&der), &[&rustls::version::TLS12]);
    let modern = serve(&[("a.test", Some(paths.clone()))], TlsProfile::Modern).await;
    assert!(connect(modern, &tls12_only, "a.test").await.is_err());
    let intermediate = serve(&[("a.test", Some(paths))], TlsProfile::Intermediate).await;
    let (_, version) = connect(intermediate, &tls12_only, "a.test").await.unwrap();
    assert_eq!(version, rustls::ProtocolVersion::TLSv1_2);
}

#[test]
fn resolver_matches_exact_then_wildcard_then_default() {
    let tmp = tempfile::tempdir().unwrap();
    let (exact, _) = make_cert(tmp.path(), "x.wild.test");
    let (wild, _) = make_cert(tmp.path(), "wildcard");
    let (default, _) = make_cert(tmp.path(), "default.test");
    let (resolver, errors) = build_sni_resolver(
        "t",
        &[
            ("x.wild.test", Some(exact.clone())),
            ("*.wild.test", Some(wild.clone())),
        ],
        Some(&default),
    );
    assert!(errors.is_empty());
    let load = |p: &CertPaths| lilt::net::tls::load_certified_key(p).unwrap().cert[0].clone();
    let pick = |n: Option<&str>| resolver.resolve_name(n).unwrap().cert[0].clone();
    assert_eq!(pick(Some("X.Wild.Test")), load(&exact));
    assert_eq!(pick(Some("y.wild.test")), load(&wild));
    assert_eq!(
        pick(Some("z.y.wild.test")),
        load(&default),
        "wildcards cover one label only"
    );
    assert_eq!(pick(None), load(&default));
}

#[tokio::test]
async fn silent_client_hits_the_handshake_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let (paths, _) = make_cert(tmp.path(), "a.test");
    let (resolver, _) = build_sni_resolver("t", &[("a.test", Some(paths))], None);
    let params = TlsParams::new(TlsProfile::Intermediate, None);
    let acceptor = TlsAcceptor::from(server_config(Arc::new(resolver), &params).unwrap());
    let settings = NetworkSettings::default();
    let options = SocketOptions::from_settings(&settings);
    let listener = bind_service("t", "127.0.0.1:0".parse().unwrap(), &settings, options).unwrap();
    let _silent = TcpStream::connect(listener.local_addr()).await.unwrap();
    let (tcp, _) = listener.accept().await;
    let timeout = std::time::Duration::from_millis(50);
    let err = accept_tls(&acceptor, tcp, timeout).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    assert!(err.to_string().contains("50ms"), "{err}");
}

#[test]
fn broken_host_certificate_is_skipped_and_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let (good, _) = make_cert(tmp.path(), "good.test");
    let (mut bad, _) = make_cert(tmp.path(), "bad.test");
    bad.key = tmp.path().join("missing.key");
    let hosts = [("good.test", Some(good)), ("bad.test", Some(bad))];
    let (resolver, errors) = build_sni_resolver("t", &hosts, None);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].to_string().contains("missing.key"),
        "{}",
        errors[0]
    );
    assert_eq!(resolver.names().collect::<Vec<_>>(), ["good.test"]);
    assert!(!resolver.has_default());
}
