//! `wss://` on `https_ports`: the certificate is found the way Prosody finds it
//! (`certs/<host>.crt` + `.key` next to the config), the handshake uses SNI, and a session
//! over HTTPS is secure, so SASL is offered even where encryption is required.

use crate::support;

use std::sync::Arc;

use rcgen::{CertificateParams, KeyPair};
use rustls::pki_types::{CertificateDer, ServerName};
use support::*;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

fn make_cert(dir: &std::path::Path, name: &str) -> CertificateDer<'static> {
    let key = KeyPair::generate().expect("key");
    let cert = CertificateParams::new(vec![name.to_owned()])
        .expect("params")
        .self_signed(&key)
        .expect("self-signed");
    std::fs::create_dir_all(dir).expect("certs dir");
    std::fs::write(dir.join(format!("{name}.crt")), cert.pem()).expect("crt");
    std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).expect("key");
    cert.der().clone()
}

#[tokio::test]
async fn wss_on_https_ports_uses_the_certificate_from_the_certs_directory() {
    let mut der = None;
    let config = base_config("")
        .replace(
            "https_ports = { }",
            "https_ports = { 0 }\nhttps_interfaces = { \"127.0.0.1\" }",
        )
        .replace(
            "c2s_require_encryption = false",
            "c2s_require_encryption = true",
        );
    let s = Server::start_with(&config, |dir| {
        der = Some(make_cert(&dir.join("certs"), HOST))
    })
    .await;
    let addr = s.https_addr.expect("https is listening");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der.expect("certificate made")).expect("trust it");
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let tls = TlsConnector::from(Arc::new(client))
        .connect(ServerName::try_from(HOST).expect("name"), tcp)
        .await
        .expect("TLS handshake with the discovered certificate");
    s.add_user("alice", "secret");
    let mut c = WsClient::upgrade_on(tls, HOST).await;
    // Secure session: PLAIN is offered although encryption is required, and login works.
    let jid = c.login("alice", "secret", "tls").await;
    assert_eq!(jid, format!("alice@{HOST}/tls"));
    c.send_text(&format!("<iq xmlns='jabber:client' type='get' id='p' to='{HOST}'><ping xmlns='urn:xmpp:ping'/></iq>")).await;
    assert!(c.next_text().await.contains("id='p'"));
}

#[tokio::test]
async fn https_without_any_certificate_is_not_served_but_http_is() {
    let config = base_config("").replace(
        "https_ports = { }",
        "https_ports = { 0 }\nhttps_interfaces = { \"127.0.0.1\" }",
    );
    let s = Server::start(&config).await;
    assert!(s.https_addr.is_none());
    let c = WsClient::connect(s.addr).await;
    assert!(c.response_head.starts_with("HTTP/1.1 101"));
}
