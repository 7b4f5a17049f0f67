//! net.http's outgoing requests (src/lua/http_client.rs, lua/net/http.lua) against a
//! local HTTP server on a free port: the callback form and the promise form, method,
//! headers and body as sent, status, body and headers as received, and a refused
//! connection reported as code 0 / a rejected promise.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::support::Server;

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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
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
