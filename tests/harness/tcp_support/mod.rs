//! An in-process server with c2s TCP listeners on port 0 and a test CA whose certificate
//! for example.test sits in the config's certs directory, plus a raw XMPP-over-TCP client
//! (plain, STARTTLS, direct TLS) that can send exactly the bytes a test means to.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::scram::ScramClient;
use lilt::config::Config;
use lilt::core::Shared;
use lilt::xmpp::sasl::ScramHash;

pub const HOST: &str = "example.test";
/// A VirtualHost with no certificate (and so no STARTTLS).
pub const NOCERT: &str = "nocert.test";

pub struct TcpServer {
    pub c2s: SocketAddr,
    pub direct_tls: Option<SocketAddr>,
    pub http: SocketAddr,
    pub shared: Arc<Shared>,
    pub dir: tempfile::TempDir,
    pub ca_path: PathBuf,
    _listeners: lilt::net::Listeners,
}

/// Writes a CA and an example.test certificate it signed; returns the CA's PEM path.
fn make_certs(dir: &Path) -> PathBuf {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Lilt test CA");
    let ca = ca_params.self_signed(&ca_key).expect("ca cert");
    let key = KeyPair::generate().expect("leaf key");
    let params = CertificateParams::new(vec![HOST.to_owned()]).expect("leaf params");
    let leaf = params.signed_by(&key, &ca, &ca_key).expect("leaf cert");
    let certs = dir.join("certs");
    std::fs::create_dir_all(&certs).expect("certs dir");
    std::fs::write(certs.join(format!("{HOST}.crt")), leaf.pem()).expect("write crt");
    std::fs::write(certs.join(format!("{HOST}.key")), key.serialize_pem()).expect("write key");
    let ca_path = dir.join("ca.pem");
    std::fs::write(&ca_path, ca.pem()).expect("write ca");
    ca_path
}

impl TcpServer {
    /// Starts a server; `extra` is appended to the global section.
    pub async fn start(extra: &str) -> TcpServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca_path = make_certs(dir.path());
        let data = dir.path().join("data");
        let config = format!(
            r#"
http_ports = {{ 0 }}
s2s_ports = {{ }} -- mod_s2s is autoloaded and would bind 5269
https_ports = {{ }}
c2s_ports = {{ 0 }}
c2s_interfaces = {{ "127.0.0.1" }}
c2s_direct_tls_ports = {{ 0 }}
c2s_direct_tls_interfaces = {{ "127.0.0.1" }}
data_path = {data:?}
modules_enabled = {{ "tls", "websocket", "http", "ping", "disco" }}
{extra}
VirtualHost "{HOST}"
VirtualHost "{NOCERT}"
"#,
            data = data.display().to_string()
        );
        let cfg_path = dir.path().join("prosody.cfg.lua");
        std::fs::write(&cfg_path, config).expect("write config");
        let config = Config::load(&cfg_path).expect("config loads");
        let (shared, rx) = lilt::core::server::build(config);
        lilt::core::server::spawn_core(shared.clone(), rx);
        let listeners = lilt::net::start(shared.clone())
            .await
            .expect("listeners start");
        TcpServer {
            c2s: listeners.c2s_addrs()[0],
            direct_tls: listeners.c2s_direct_tls_addrs().first().copied(),
            http: listeners.http_addrs()[0],
            shared,
            dir,
            ca_path,
            _listeners: listeners,
        }
    }

    pub fn add_user(&self, user: &str, password: &str) {
        self.shared
            .accounts
            .create(HOST, user, password)
            .expect("create account");
    }
}

pub fn client_config(ca_path: &Path) -> Arc<rustls::ClientConfig> {
    client_config_versions(ca_path, rustls::DEFAULT_VERSIONS)
}

/// A client trusting only the test CA, limited to `versions`.
pub fn client_config_versions(
    ca_path: &Path,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<rustls::ClientConfig> {
    let pem = std::fs::read(ca_path).expect("read ca");
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots.add(cert.expect("ca pem")).expect("add root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(cfg)
}

enum Sock {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

pub struct XmppClient {
    sock: Option<Sock>,
    /// Received text not yet consumed by `read_until`.
    pub buf: Vec<u8>,
}

pub const STREAM_HEADER_END: &str = "version='1.0'>";

impl XmppClient {
    pub async fn plain(addr: SocketAddr) -> XmppClient {
        let s = TcpStream::connect(addr).await.expect("connect");
        XmppClient {
            sock: Some(Sock::Plain(s)),
            buf: Vec::new(),
        }
    }

    pub async fn direct_tls(addr: SocketAddr, ca_path: &Path) -> XmppClient {
        Self::direct_tls_with(addr, client_config(ca_path)).await
    }

    pub async fn direct_tls_with(
        addr: SocketAddr,
        config: Arc<rustls::ClientConfig>,
    ) -> XmppClient {
        let s = TcpStream::connect(addr).await.expect("connect");
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(ServerName::try_from(HOST).expect("name"), s)
            .await
            .expect("direct TLS handshake");
        XmppClient {
            sock: Some(Sock::Tls(Box::new(tls))),
            buf: Vec::new(),
        }
    }

    pub async fn send(&mut self, data: &str) {
        let r = match self.sock.as_mut().expect("socket") {
            Sock::Plain(s) => s.write_all(data.as_bytes()).await,
            Sock::Tls(s) => s.write_all(data.as_bytes()).await,
        };
        r.expect("write");
    }

    /// Reads more bytes; 0 means the server closed the connection.
    async fn read_more(&mut self, wait: Duration) -> Option<usize> {
        let mut chunk = [0u8; 8192];
        let fut = async {
            match self.sock.as_mut().expect("socket") {
                Sock::Plain(s) => s.read(&mut chunk).await,
                Sock::Tls(s) => s.read(&mut chunk).await,
            }
        };
        let n = match tokio::time::timeout(wait, fut).await {
            Err(_) => return None,
            Ok(r) => r.unwrap_or(0),
        };
        self.buf.extend_from_slice(&chunk[..n]);
        Some(n)
    }

    /// Everything up to and including `needle`, consumed from the buffer.
    pub async fn read_until(&mut self, needle: &str) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(p) = find(&self.buf, needle.as_bytes()) {
                let end = p + needle.len();
                let out = String::from_utf8_lossy(&self.buf[..end]).to_string();
                self.buf.drain(..end);
                return out;
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.read_more(left).await {
                Some(0) => panic!(
                    "connection closed before {needle:?}; got {:?}",
                    String::from_utf8_lossy(&self.buf)
                ),
                Some(_) => {}
                None => panic!(
                    "timed out waiting for {needle:?}; got {:?}",
                    String::from_utf8_lossy(&self.buf)
                ),
            }
        }
    }

    /// Reads until the server closes the connection (within `limit`); returns all text
    /// and whether it closed.
    pub async fn read_to_close(&mut self, limit: Duration) -> (String, bool) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.read_more(left).await {
                Some(0) => return (String::from_utf8_lossy(&self.buf).to_string(), true),
                Some(_) => {}
                None => return (String::from_utf8_lossy(&self.buf).to_string(), false),
            }
        }
    }

    /// Sends a stream header to `to` and returns the server's header and features.
    pub async fn open(&mut self, to: &str) -> String {
        self.send(&format!(
            "<?xml version='1.0'?><stream:stream to='{to}' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
        ))
        .await;
        self.read_until("</stream:features>").await
    }

    /// `<starttls/>`, `<proceed/>`, TLS handshake trusting `ca_path`.
    pub async fn starttls(&mut self, ca_path: &Path) {
        self.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
            .await;
        self.read_until("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
            .await;
        assert!(self.buf.is_empty(), "nothing after <proceed/>");
        let Some(Sock::Plain(s)) = self.sock.take() else {
            panic!("STARTTLS on a TLS socket");
        };
        let tls = tokio_rustls::TlsConnector::from(client_config(ca_path))
            .connect(ServerName::try_from(HOST).expect("name"), s)
            .await
            .expect("STARTTLS handshake");
        self.sock = Some(Sock::Tls(Box::new(tls)));
    }

    /// The RFC 9266 `tls-exporter` value of the connection.
    pub fn exporter(&self) -> Option<Vec<u8>> {
        let Some(Sock::Tls(s)) = &self.sock else {
            return None;
        };
        let mut out = vec![0u8; 32];
        s.get_ref()
            .1
            .export_keying_material(&mut out, b"EXPORTER-Channel-Binding", None)
            .ok()?;
        Some(out)
    }

    /// PLAIN auth; returns the server's `<success/>` or `<failure>..</failure>`.
    pub async fn auth_plain(&mut self, user: &str, password: &str) -> String {
        let payload = B64.encode(format!("\0{user}\0{password}"));
        self.send(&format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{payload}</auth>"
        ))
        .await;
        self.read_sasl_outcome().await
    }

    async fn read_sasl_outcome(&mut self) -> String {
        loop {
            let s = String::from_utf8_lossy(&self.buf).to_string();
            if let Some(p) = s.find("</failure>") {
                self.buf.drain(..p + 10);
                return s[..p + 10].to_string();
            }
            if let Some(p) = s.find("<success") {
                if let Some(e) = s[p..].find("/>").filter(|e| !s[p..p + e].contains('>')) {
                    self.buf.drain(..p + e + 2);
                    return s[..p + e + 2].to_string();
                }
                if let Some(e) = s[p..].find("</success>") {
                    self.buf.drain(..p + e + 10);
                    return s[..p + e + 10].to_string();
                }
            }
            assert!(
                self.read_more(Duration::from_secs(10)).await.unwrap_or(0) > 0,
                "no SASL outcome: {s:?}"
            );
        }
    }

    /// SCRAM-SHA-1 (or -PLUS with `binding` = the tls-exporter value to send).
    pub async fn auth_scram_sha1(
        &mut self,
        user: &str,
        password: &str,
        binding: Option<&[u8]>,
    ) -> String {
        let mut scram = ScramClient::new(ScramHash::Sha1, user, "rOprNGfwEbeRWgbNEkqO", binding);
        self.send(&format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='{}'>{}</auth>",
            scram.mechanism(),
            B64.encode(scram.client_first())
        ))
        .await;
        let got = self.read_until("</challenge>").await;
        let start = got.find('>').expect("challenge start") + 1;
        let server_first =
            String::from_utf8(B64.decode(&got[start..got.len() - 12]).expect("b64")).expect("utf8");
        let final_msg = scram.client_final(&server_first, password);
        self.send(&format!(
            "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</response>",
            B64.encode(final_msg)
        ))
        .await;
        self.read_sasl_outcome().await
    }

    /// After a successful auth: restart and bind; returns the full JID.
    pub async fn bind(&mut self, resource: &str) -> String {
        let features = self.open(HOST).await;
        assert!(
            features.contains("urn:ietf:params:xml:ns:xmpp-bind"),
            "{features}"
        );
        self.send(&format!(
            "<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{resource}</resource></bind></iq>"
        ))
        .await;
        let got = self.read_until("</iq>").await;
        let start = got.find("<jid>").expect("jid") + 5;
        let end = got.find("</jid>").expect("jid end");
        got[start..end].to_string()
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
