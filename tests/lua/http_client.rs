//! net.http's outgoing requests (src/lua/http_client.rs, lua/net/http.lua) against a
//! local HTTP server on a free port: the callback form and the promise form, method,
//! headers and body as sent, status, body and headers as received, and a refused
//! connection reported as code 0 / a rejected promise.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::support::Server;

trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Stream for T {}

/// Runs `code` on the core thread (inside its runtime, as a plugin's code runs).
async fn eval(s: &Server, code: &str) -> String {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let code = code.to_owned();
    let _ = s
        .shared
        .core_tx
        .send(lilt::core::CoreMsg::Task(lilt::core::session::CoreTask(
            Box::new(move |core| {
                let _ =
                    tx.send(lilt::lua::eval(core, &code).unwrap_or_else(|e| format!("error: {e}")));
            }),
        )));
    rx.await.expect("core answered")
}

/// Answers every request with 201, a header and a body naming what it received.
async fn http_server() -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
    serve(None).await
}

/// The same over TLS with `acceptor` when given.
async fn serve(
    acceptor: Option<tokio_rustls::TlsAcceptor>,
) -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let tx = tx.clone();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let mut sock: Box<dyn Stream> = match acceptor {
                    None => Box::new(sock),
                    Some(a) => match a.accept(sock).await {
                        Ok(t) => Box::new(t),
                        Err(e) => {
                            let _ = tx.send(format!("TLS refused: {e}"));
                            return;
                        }
                    },
                };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Headers, then the body by Content-Length.
                loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                let text = String::from_utf8_lossy(&buf).to_string();
                let first = text.lines().next().unwrap_or("").to_owned();
                let _ = tx.send(text);
                let body = format!("got {first}");
                let resp = format!(
                    "HTTP/1.1 201 Created\r\nContent-Length: {}\r\nX-Test: yes\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    (port, rx)
}

#[tokio::test(flavor = "multi_thread")]
async fn net_http_requests_reach_a_local_server_by_callback_and_promise() {
    let s = Server::start("http_ports = { 0 }\nhttps_ports = { }\nc2s_ports = { }\ns2s_ports = { }\ndata_path = \"data\"\nVirtualHost \"example.test\"\n").await;
    let (port, mut seen) = http_server().await;
    let started = eval(&s, &format!(r#"local http = require "net.http";
        result_cb, result_p, result_err = nil, nil, nil;
        http.request("http://127.0.0.1:{port}/cb?x=1", {{ method = "PUT", body = "payload", headers = {{ ["X-Plugin"] = "p1" }} }},
            function(body, code, response) result_cb = body .. "|" .. code .. "|" .. tostring(response.headers["x-test"]) end);
        http.request("http://127.0.0.1:{port}/promise"):next(function(r) result_p = r.code .. "|" .. r.body end);
        http.request("http://127.0.0.1:1/refused", nil):catch(function(e) result_err = tostring(e.code) .. "|" .. tostring(e.condition) end);
        return "started""#)).await;
    assert_eq!(started, "started");
    let mut requests = [
        seen.recv().await.expect("request"),
        seen.recv().await.expect("request"),
    ];
    requests.sort();
    assert!(
        requests[0].starts_with("GET /promise HTTP/1.1\r\n"),
        "{}",
        requests[0]
    );
    assert!(
        requests[1].starts_with("PUT /cb?x=1 HTTP/1.1\r\n"),
        "{}",
        requests[1]
    );
    let put = requests[1].to_ascii_lowercase();
    assert!(
        put.contains("x-plugin: p1") && put.contains(&format!("host: 127.0.0.1:{port}")),
        "{put}"
    );
    assert!(requests[1].ends_with("\r\n\r\npayload"), "{}", requests[1]);
    // The answers come back through the core loop: poll until all three settled.
    let mut out = String::new();
    for _ in 0..200 {
        out = eval(&s, "return tostring(result_cb) .. ' ; ' .. tostring(result_p) .. ' ; ' .. tostring(result_err)").await;
        if !out.contains("nil") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(
        out,
        "got PUT /cb?x=1 HTTP/1.1|201|yes ; 201|got GET /promise HTTP/1.1 ; 0|remote-server-timeout"
    );
}

/// A test CA, and an acceptor whose certificate it signed for 127.0.0.1; the CA's PEM
/// is written to `dir/ca.pem`.
fn tls_acceptor(dir: &std::path::Path) -> (tokio_rustls::TlsAcceptor, std::path::PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};
    let ca_key = KeyPair::generate().expect("key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).expect("ca");
    let key = KeyPair::generate().expect("key");
    let mut leaf = CertificateParams::new(Vec::<String>::new()).expect("params");
    leaf.subject_alt_names = vec![SanType::IpAddress("127.0.0.1".parse().expect("ip"))];
    let cert = leaf.signed_by(&key, &ca_cert, &ca_key).expect("leaf");
    let ca_path = dir.join("ca.pem");
    std::fs::write(&ca_path, ca_cert.pem()).expect("write ca");
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
    .expect("server config");
    (
        tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config)),
        ca_path,
    )
}

/// `https://` requests are made over TLS, the server's certificate checked against
/// `ssl.cafile`; a server that the trust anchors do not vouch for fails the request
/// (code 0), as an untrusted certificate does in Prosody's net.http.
#[tokio::test(flavor = "multi_thread")]
async fn net_http_makes_https_requests_checked_against_ssl_cafile() {
    let dir = tempfile::tempdir().expect("tmp");
    let (acceptor, ca) = tls_acceptor(dir.path());
    let (port, mut seen) = serve(Some(acceptor)).await;
    let base = "http_ports = { 0 }\nhttps_ports = { }\nc2s_ports = { }\ns2s_ports = { }\ndata_path = \"data\"\n";
    let trusting = Server::start(&format!(
        "{base}ssl = {{ cafile = \"{}\" }}\nVirtualHost \"example.test\"\n",
        ca.display()
    ))
    .await;
    let probe = format!(
        r#"local http = require "net.http";
        result = nil;
        http.request("https://127.0.0.1:{port}/secure", nil, function(body, code) result = code .. "|" .. body end);
        return "started""#
    );
    assert_eq!(eval(&trusting, &probe).await, "started");
    let request = seen.recv().await.expect("request");
    assert!(request.starts_with("GET /secure HTTP/1.1\r\n"), "{request}");
    let mut out = String::new();
    for _ in 0..300 {
        out = eval(&trusting, "return tostring(result)").await;
        if out != "nil" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(out, "201|got GET /secure HTTP/1.1");

    // The system bundle does not hold the test CA: the handshake fails.
    let doubting = Server::start(&format!("{base}VirtualHost \"example.test\"\n")).await;
    assert_eq!(eval(&doubting, &probe).await, "started");
    let mut out = String::new();
    for _ in 0..300 {
        out = eval(&doubting, "return tostring(result)").await;
        if out != "nil" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(out.starts_with("0|"), "{out}");
    let refused = seen
        .recv()
        .await
        .expect("the server saw the refused handshake");
    assert!(refused.starts_with("TLS refused"), "{refused}");
}
