//! The contained test network: a test CA, in-process Lilt servers each on its own loopback
//! address (127.0.0.2, 127.0.0.3, ...) with c2s on 127.0.0.1, and the test DNS server
//! publishing their SRV and A records.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lilt::config::Config;
use lilt::core::Shared;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

use super::dns::TestDns;

/// The test CA (its key signs each server's certificate).
pub struct TestCa {
    pub cert: rcgen::Certificate,
    key: KeyPair,
}

impl TestCa {
    pub fn new() -> TestCa {
        let key = KeyPair::generate().expect("ca key");
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name
            .push(DnType::CommonName, "Lilt s2s test CA");
        let cert = p.self_signed(&key).expect("ca cert");
        TestCa { cert, key }
    }

    /// Writes `certs/<domain>.crt|key` under `dir`, signed by the CA (or self-signed).
    pub fn issue(&self, dir: &Path, domain: &str, self_signed: bool) {
        let key = KeyPair::generate().expect("leaf key");
        let mut p = CertificateParams::new(vec![domain.to_owned()]).expect("leaf params");
        p.distinguished_name.push(DnType::CommonName, domain);
        let cert = if self_signed {
            p.self_signed(&key).expect("self-signed")
        } else {
            p.signed_by(&key, &self.cert, &self.key).expect("signed")
        };
        let certs = dir.join("certs");
        std::fs::create_dir_all(&certs).expect("certs dir");
        std::fs::write(certs.join(format!("{domain}.crt")), cert.pem()).expect("crt");
        std::fs::write(certs.join(format!("{domain}.key")), key.serialize_pem()).expect("key");
    }

    pub fn write_pem(&self, path: &Path) {
        std::fs::write(path, self.cert.pem()).expect("ca pem");
    }
}

/// How a node's certificate is made.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Cert {
    FromCa,
    SelfSigned,
}

pub struct NodeSpec<'a> {
    pub domain: &'a str,
    pub ip: Ipv4Addr,
    pub cert: Cert,
    /// Appended to the global section.
    pub extra: &'a str,
    /// Publish SRV + A records for it.
    pub publish: bool,
    /// Load mod_dialback (else only certificates can authenticate).
    pub dialback: bool,
    /// Listen for direct TLS (XEP-0368) too and publish only `_xmpps-server`.
    pub direct_tls_only: bool,
    /// More hosts of this server (Components declared in `extra`): each gets a
    /// certificate from the CA and, when published, SRV + A records.
    pub also: &'a [&'a str],
}

impl<'a> NodeSpec<'a> {
    pub fn new(domain: &'a str, ip: Ipv4Addr) -> Self {
        NodeSpec {
            domain,
            ip,
            cert: Cert::FromCa,
            extra: "",
            publish: true,
            dialback: true,
            direct_tls_only: false,
            also: &[],
        }
    }

    pub fn self_signed(mut self) -> Self {
        self.cert = Cert::SelfSigned;
        self
    }

    pub fn direct_tls_only(mut self) -> Self {
        self.direct_tls_only = true;
        self
    }

    pub fn without_dialback(mut self) -> Self {
        self.dialback = false;
        self
    }

    pub fn extra(mut self, extra: &'a str) -> Self {
        self.extra = extra;
        self
    }
}

/// A running in-process Lilt.
pub struct Node {
    pub domain: String,
    pub c2s: SocketAddr,
    pub s2s: SocketAddr,
    pub shared: Arc<Shared>,
    /// Config, certificates and data; removed when the node is dropped.
    _dir: tempfile::TempDir,
    listeners: Option<lilt::net::Listeners>,
}

pub const PASSWORD: &str = "secret";

impl Node {
    pub async fn start(spec: NodeSpec<'_>, ca: &TestCa, dns: &TestDns) -> Node {
        let dir = tempfile::tempdir().expect("tempdir");
        ca.issue(dir.path(), spec.domain, spec.cert == Cert::SelfSigned);
        for host in spec.also {
            ca.issue(dir.path(), host, spec.cert == Cert::SelfSigned);
        }
        let ca_path: PathBuf = dir.path().join("ca.pem");
        ca.write_pem(&ca_path);
        let data = dir.path().join("data");
        let config = format!(
            r#"
http_ports = {{ }}
https_ports = {{ }}
c2s_ports = {{ 0 }}
c2s_interfaces = {{ "127.0.0.1" }}
c2s_direct_tls_ports = {{ }}
s2s_ports = {{ 0 }}
s2s_interfaces = {{ "{ip}" }}
s2s_direct_tls_ports = {{ {direct} }}
s2s_direct_tls_interfaces = {{ "{ip}" }}
s2s_resolver = "{dns}"
ssl = {{ cafile = {ca:?} }}
data_path = {data:?}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
modules_enabled = {{ "tls", {dialback}"roster", "ping", "disco", "saslauth" }}
{extra}
VirtualHost "{domain}"
"#,
            ip = spec.ip,
            dns = dns.addr,
            ca = ca_path.display().to_string(),
            data = data.display().to_string(),
            extra = spec.extra,
            dialback = if spec.dialback { "\"dialback\", " } else { "" },
            domain = spec.domain,
            direct = if spec.direct_tls_only { "0" } else { "" },
        );
        let cfg_path = dir.path().join("prosody.cfg.lua");
        std::fs::write(&cfg_path, config).expect("write config");
        let config = Config::load(&cfg_path).expect("config loads");
        let (shared, rx) = lilt::core::server::build(config);
        lilt::core::server::spawn_core(shared.clone(), rx);
        let listeners = lilt::net::start(shared.clone()).await.expect("listeners");
        let s2s = *listeners
            .s2s_addrs()
            .starttls
            .first()
            .expect("an s2s listener");
        if spec.publish {
            dns.srv(
                spec.domain,
                false,
                &format!("xmpp.{}", spec.domain),
                s2s.port(),
            );
            dns.a(&format!("xmpp.{}", spec.domain), spec.ip);
            for host in spec.also {
                dns.srv(host, false, &format!("xmpp.{}", spec.domain), s2s.port());
            }
        }
        Node {
            domain: spec.domain.to_owned(),
            c2s: listeners.c2s_addrs()[0],
            s2s,
            shared,
            _dir: dir,
            listeners: Some(listeners),
        }
    }

    pub fn add_user(&self, user: &str) {
        self.shared
            .accounts
            .create(&self.domain, user, PASSWORD)
            .expect("create account");
    }

    pub fn jid(&self, user: &str) -> String {
        format!("{user}@{}", self.domain)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        drop(self.listeners.take());
        let (tx, _rx) = tokio::sync::oneshot::channel();
        let _ = self.shared.core_tx.send(lilt::core::CoreMsg::Shutdown {
            reason: None,
            done: tx,
        });
    }
}
