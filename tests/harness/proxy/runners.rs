//! Runs Debian's nginx and apache2 as this test's own processes on free loopback ports, with
//! configs generated from examples/proxy into a temp dir, and a self-signed certificate.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};

/// Names the test certificate is valid for.
pub const NAMES: [&str; 2] = ["domain1.example", "domain2.example"];
/// The examples' `http_file_share` component name, also on the proxy's certificate.
pub const UPLOAD_NAME: &str = "upload.domain1.example";

/// The binary, or a clear failure (skip only with LILT_SKIP_INTEROP=1). `None`: skip.
pub fn require(binary: &str) -> Option<PathBuf> {
    for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
        let p = Path::new(dir).join(binary);
        if p.exists() {
            return Some(p);
        }
    }
    if std::env::var("LILT_SKIP_INTEROP").as_deref() == Ok("1") {
        eprintln!("{binary} is not installed; skipped because LILT_SKIP_INTEROP=1");
        return None;
    }
    panic!(
        "{binary} is not installed: the proxy interop tests need Debian's nginx and apache2 \
         (apt-get install nginx apache2), or set LILT_SKIP_INTEROP=1 to skip them"
    );
}

/// A self-signed certificate for [`NAMES`] written into `dir`: (cert path, key path, DER).
pub fn certificate(dir: &Path) -> (PathBuf, PathBuf, CertificateDer<'static>) {
    let key = rcgen::KeyPair::generate().expect("key");
    let params = rcgen::CertificateParams::new(
        NAMES
            .iter()
            .map(|s| s.to_string())
            .chain([UPLOAD_NAME.to_owned()])
            .collect::<Vec<_>>(),
    )
    .expect("params");
    let cert = params.self_signed(&key).expect("cert");
    let (c, k) = (dir.join("proxy.crt"), dir.join("proxy.key"));
    std::fs::write(&c, cert.pem()).expect("write cert");
    std::fs::write(&k, key.serialize_pem()).expect("write key");
    (c, k, cert.der().clone())
}

/// A TLS connector that trusts only `der`.
pub fn connector(der: &CertificateDer<'static>) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der.clone()).expect("root");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// TLS to `addr` with SNI `name`, from the loopback address `source`.
pub async fn tls_connect(
    connector: &tokio_rustls::TlsConnector,
    source: &str,
    addr: SocketAddr,
    name: &str,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let tcp = super::connect_from(source, addr).await;
    connector
        .connect(ServerName::try_from(name.to_owned()).expect("name"), tcp)
        .await
        .expect("TLS handshake with the proxy")
}

/// Ports and files of one proxy instance.
pub struct Setup {
    pub tls_port: u16,
    pub plain_port: u16,
    pub lilt_port: u16,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Setup {
    /// The example text with its public addresses replaced by this test's.
    fn localise(&self, text: &str) -> String {
        text.replace("localhost:5280", &format!("127.0.0.1:{}", self.lilt_port))
            .replace(
                "/etc/ssl/certs/lilt-proxy.crt",
                &self.cert.display().to_string(),
            )
            .replace(
                "/etc/ssl/private/lilt-proxy.key",
                &self.key.display().to_string(),
            )
    }
}

/// A running proxy; killed when dropped.
pub struct Proxy {
    child: Child,
    pub log: PathBuf,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn example(path: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/proxy")
        .join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

async fn wait_listening(port: u16, child: &mut Child, log: &Path) {
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "proxy exited ({status}): {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "proxy did not listen on {port}: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

fn spawn(cmd: &mut Command, log: &Path) -> Child {
    let out = std::fs::File::create(log).expect("log file");
    let err = out.try_clone().expect("log file");
    cmd.stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("start proxy")
}

/// The proxy `which` ("nginx" or "apache2", as [`require`] names it) on the examples.
pub async fn start(which: &str, binary: &Path, prefix: &Path, setup: &Setup) -> Proxy {
    if which == "nginx" {
        nginx(binary, prefix, setup).await
    } else {
        apache(binary, prefix, setup).await
    }
}

/// nginx with examples/proxy/nginx (`nginx -c FILE -p PREFIX -g 'daemon off;'`).
pub async fn nginx(binary: &Path, prefix: &Path, setup: &Setup) -> Proxy {
    for d in ["tmp", "logs"] {
        std::fs::create_dir_all(prefix.join(d)).expect("dir");
    }
    let site = setup
        .localise(&example("nginx/lilt-websocket.conf"))
        .replace(
            "listen 443 ssl;",
            &format!("listen 127.0.0.1:{} ssl;", setup.tls_port),
        )
        .replace(
            "listen 80;",
            &format!("listen 127.0.0.1:{};", setup.plain_port),
        );
    std::fs::write(prefix.join("lilt-websocket.conf"), site).expect("site");
    std::fs::write(prefix.join("nginx.conf"), example("nginx/nginx.conf")).expect("main");
    let log = prefix.join("proxy.log");
    let mut child = spawn(
        Command::new(binary)
            .arg("-p")
            .arg(prefix)
            .arg("-c")
            .arg(prefix.join("nginx.conf"))
            .args(["-g", "daemon off;"]),
        &log,
    );
    wait_listening(setup.tls_port, &mut child, &log).await;
    Proxy { child, log }
}

/// apache2 with examples/proxy/apache (`apache2 -f FILE -DFOREGROUND`).
pub async fn apache(binary: &Path, prefix: &Path, setup: &Setup) -> Proxy {
    let site = setup
        .localise(&example("apache/lilt-websocket.conf"))
        .replace(
            "<VirtualHost *:443>",
            &format!("<VirtualHost 127.0.0.1:{}>", setup.tls_port),
        )
        .replace(
            "<VirtualHost *:80>",
            &format!("<VirtualHost 127.0.0.1:{}>", setup.plain_port),
        );
    std::fs::write(prefix.join("lilt-websocket.conf"), site).expect("site");
    let log = prefix.join("proxy.log");
    let main = example("apache/apache2.conf")
        .replace(
            "ServerRoot \".\"",
            &format!("ServerRoot \"{}\"", prefix.display()),
        )
        .replace(
            "ErrorLog /dev/stderr",
            &format!("ErrorLog {}", prefix.join("error.log").display()),
        )
        .replace(
            "Listen 443",
            &format!("Listen 127.0.0.1:{}", setup.tls_port),
        )
        .replace(
            "Listen 80",
            &format!("Listen 127.0.0.1:{}", setup.plain_port),
        );
    std::fs::write(prefix.join("apache2.conf"), main).expect("main");
    let mut child = spawn(
        Command::new(binary)
            .arg("-d")
            .arg(prefix)
            .arg("-f")
            .arg(prefix.join("apache2.conf"))
            .arg("-DFOREGROUND")
            .env_remove("APACHE_CONFDIR"),
        &log,
    );
    wait_listening(setup.tls_port, &mut child, &log).await;
    Proxy { child, log }
}

/// Runs `apache2 -t` on a config text (as a full main config) and returns whether Apache
/// accepts it and what it said.
pub fn apache_syntax_ok(binary: &Path, prefix: &Path, extra: &str) -> (bool, String) {
    let main = format!(
        "ServerRoot \"{}\"\nServerName localhost\nPidFile apache2.pid\nDefaultRuntimeDir .\nErrorLog error.log\n\
         LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so\n\
         LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so\n\
         LoadModule proxy_module /usr/lib/apache2/modules/mod_proxy.so\n{extra}\n",
        prefix.display()
    );
    let file = prefix.join("syntax.conf");
    std::fs::write(&file, main).expect("write");
    let out = Command::new(binary)
        .arg("-d")
        .arg(prefix)
        .arg("-f")
        .arg(&file)
        .arg("-t")
        .output()
        .expect("apache2 -t");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}
