//! Through real proxies: Debian's nginx and apache2 run the configs of examples/proxy with a
//! self-signed certificate; a client logs in over wss:// to each of two VirtualHosts chosen
//! by the Host header, Lilt sees the client's forwarded address and the session is secure by
//! X-Forwarded-Proto; a forged X-Forwarded-For sent straight to Lilt is ignored.

use crate::proxy;

use std::time::Duration;

use proxy::runners::{self, Setup, NAMES};
use proxy::{free_port, logs, start_lilt, Ws};

/// Lilt behind the proxy: encryption required (so only X-Forwarded-Proto can make the
/// session secure), only 127.0.0.1 trusted, the WebSocket app on each VirtualHost only.
fn lilt_config() -> String {
    format!(
        r#"
http_ports = {{ 0 }}
c2s_ports = {{ }}
http_interfaces = {{ "127.0.0.1" }}
https_ports = {{ }}
data_path = "DATA"
trusted_proxies = {{ "127.0.0.1" }}
VirtualHost "{}"
    modules_enabled = {{ "websocket" }}
VirtualHost "{}"
    modules_enabled = {{ "websocket" }}
"#,
        NAMES[0], NAMES[1]
    )
}

fn logged_ip_of(jid_prefix: &str) -> Option<String> {
    let text = logs();
    let line = text
        .lines()
        .find(|l| l.contains("Session bound") && l.contains(jid_prefix))?;
    let start = line.find("ip=")? + 3;
    let rest = &line[start..];
    Some(rest[..rest.find(['}', ' ']).unwrap_or(rest.len())].to_owned())
}

enum Which {
    Nginx,
    Apache,
}

async fn through(which: Which) {
    let binary = match which {
        Which::Nginx => runners::require("nginx"),
        Which::Apache => runners::require("apache2"),
    };
    let Some(binary) = binary else { return };
    let tag = match which {
        Which::Nginx => "ngx",
        Which::Apache => "apa",
    };
    let lilt = start_lilt(&lilt_config()).await;
    let prefix = tempfile::tempdir().expect("prefix");
    let (cert, key, der) = runners::certificate(prefix.path());
    let setup = Setup {
        tls_port: free_port(),
        plain_port: free_port(),
        lilt_port: lilt.addr.port(),
        cert,
        key,
    };
    let proxy = match which {
        Which::Nginx => runners::nginx(&binary, prefix.path(), &setup).await,
        Which::Apache => runners::apache(&binary, prefix.path(), &setup).await,
    };
    let tls_addr = std::net::SocketAddr::from(([127, 0, 0, 1], setup.tls_port));
    let connector = runners::connector(&der);
    for (i, host) in NAMES.iter().enumerate() {
        let user = format!("{tag}{i}");
        lilt.add_user(host, &user, "secret");
        let source = format!("127.0.0.{}", 10 + i);
        let tls = runners::tls_connect(&connector, &source, tls_addr, host).await;
        let mut ws = Ws::open(tls, host, "").await;
        let jid = ws.login(host, &user, "secret").await;
        assert_eq!(
            jid,
            format!("{user}@{host}/edge"),
            "{}",
            std::fs::read_to_string(&proxy.log).unwrap_or_default()
        );
        assert_eq!(
            logged_ip_of(&format!("{user}@{host}")),
            Some(source.clone()),
            "Lilt saw the forwarded client address"
        );
    }
    // The plain-HTTP server of the example redirects to HTTPS.
    let plain = tokio::net::TcpStream::connect(("127.0.0.1", setup.plain_port))
        .await
        .expect("connect");
    let (head, _, _) = proxy::request(
        plain,
        &format!(
            "GET /xmpp-websocket HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            NAMES[0]
        ),
    )
    .await;
    assert!(head.contains(" 301 "), "{head}");
    assert!(head.contains(&format!("https://{}/", NAMES[0])), "{head}");
    // Straight to Lilt from an untrusted address, a forged X-Forwarded-For is ignored.
    let user = format!("{tag}direct");
    lilt.add_user(NAMES[0], &user, "secret");
    let tcp = proxy::connect_from("127.0.0.66", lilt.addr).await;
    let mut ws = Ws::open(
        tcp,
        NAMES[0],
        "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n",
    )
    .await;
    ws.send_text(&format!(
        "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='{}' version='1.0'/>",
        NAMES[0]
    ))
    .await;
    let mut all = String::new();
    while let Some(proxy::Frame::Text(t)) = ws.next_frame(Duration::from_secs(5)).await {
        all.push_str(&t);
    }
    assert!(
        all.contains("undefined-condition") && !all.contains("<mechanism>"),
        "the forged proto did not make it secure: {all}"
    );
    drop(proxy);
}

#[tokio::test]
async fn login_over_wss_through_nginx_to_two_virtual_hosts() {
    through(Which::Nginx).await;
}

#[tokio::test]
async fn login_over_wss_through_apache_to_two_virtual_hosts() {
    through(Which::Apache).await;
}

#[test]
fn apache_itself_rejects_the_guides_trailing_comment() {
    let Some(binary) = runners::require("apache2") else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let (ok, said) = runners::apache_syntax_ok(&binary, dir.path(), "ProxyTimeout 900");
    assert!(ok, "the plain directive is fine: {said}");
    let (ok, said) = runners::apache_syntax_ok(
        &binary,
        dir.path(),
        "ProxyTimeout 900  # 15 minutes (MUST be > 840s)",
    );
    assert!(!ok, "Apache accepted a trailing comment: {said}");
}
