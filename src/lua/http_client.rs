//! The native half of `net.http.request`: one outgoing HTTP/1.1 request per call, made
//! on a task (hyper's client connection over a TCP stream), its answer handed back to
//! the core thread, where `lua/net/http.lua` runs the plugin's callback or settles its
//! promise. `https://` goes over rustls, the server's certificate checked against
//! `ssl.cafile` from the global section (else the system bundle) for the URL's host.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use mlua::{Function, Lua, Table};

use super::bridge::{rt, with_core, CoreGuard};
use super::LuaHost;
use crate::core::session::CoreTask;
use crate::core::CoreMsg;

/// Longest a request may take, connection included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// What came back: (status, body, headers with lower-case names) or why nothing did.
type Answer = Result<(u16, Vec<u8>, Vec<(String, String)>), String>;

struct Call {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    /// Trust anchors for `https://` (`None`: the system bundle).
    cafile: Option<PathBuf>,
}

/// A connection to make the request over.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static> Io for T {}

async fn perform(call: Call) -> Answer {
    let uri: hyper::Uri = call.url.parse().map_err(|e| format!("invalid URL: {e}"))?;
    let tls = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        Some(other) => return Err(format!("unsupported URL scheme '{other}'")),
        None => return Err("invalid URL: no scheme".into()),
    };
    let host = uri.host().ok_or("invalid URL: no host")?.to_owned();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let bare_host = host.trim_matches(['[', ']']).to_owned();
    let stream = tokio::net::TcpStream::connect((bare_host.as_str(), port))
        .await
        .map_err(|e| format!("connection refused: {e}"))?;
    if tls {
        let name = rustls::pki_types::ServerName::try_from(bare_host)
            .map_err(|e| format!("invalid URL host: {e}"))?;
        let roots = crate::modules::s2s::certs::load_roots(call.cafile.as_deref());
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, stream)
            .await
            .map_err(|e| format!("TLS handshake failed: {e}"))?;
        exchange(stream, call, &uri, host).await
    } else {
        exchange(stream, call, &uri, host).await
    }
}

/// Sends the request over `stream` and reads the whole answer.
async fn exchange(stream: impl Io, call: Call, uri: &hyper::Uri, host: String) -> Answer {
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    let mut req = hyper::Request::builder()
        .method(call.method.as_str())
        .uri(path);
    let authority = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .unwrap_or(host);
    let mut has_host = false;
    for (k, v) in &call.headers {
        has_host |= k.eq_ignore_ascii_case("host");
        req = req.header(k.as_str(), v.as_str());
    }
    if !has_host {
        req = req.header("host", authority);
    }
    let req = req
        .body(Full::new(Bytes::from(call.body.unwrap_or_default())))
        .map_err(|e| e.to_string())?;
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes()
        .to_vec();
    Ok((status, body, headers))
}

/// Runs the Lua side's `http_response(id, err, code, body, headers)` on the core thread.
fn deliver(core: &mut crate::core::Core, id: u64, answer: Answer) {
    let Some(lua) = core.lua.as_ref().map(|h| h.lua.clone()) else {
        return;
    };
    let guard = CoreGuard::enter(core);
    super::sandbox::reset_budget(&lua);
    let r = (|| -> mlua::Result<()> {
        let f: Function = LuaHost::internal(&lua)?.get("http_response")?;
        match answer {
            Ok((code, body, headers)) => {
                let h = lua.create_table()?;
                for (k, v) in headers {
                    // Repeated headers are joined, as Prosody's parser does.
                    let joined = match h.get::<Option<String>>(k.as_str())? {
                        Some(prev) => format!("{prev},{v}"),
                        None => v,
                    };
                    h.set(k, joined)?;
                }
                f.call::<()>((id, mlua::Value::Nil, code, lua.create_string(&body)?, h))
            }
            Err(e) => f.call::<()>((id, e)),
        }
    })();
    drop(guard);
    if let Err(e) = r {
        tracing::error!(target: "lua", "Error in HTTP response callback: {e}");
    }
    super::flush_filtered(core);
}

pub fn install(lua: &Lua, n: &Table) -> mlua::Result<()> {
    n.set(
        "http_request",
        lua.create_function(
            |_,
             (id, method, url, headers, body): (
                u64,
                String,
                String,
                Option<Table>,
                Option<mlua::String>,
            )| {
                let mut hs = Vec::new();
                if let Some(t) = headers {
                    for pair in t.pairs::<String, String>() {
                        hs.push(pair?);
                    }
                }
                let (tx, cafile) = with_core(|c| {
                    let config = &c.shared.config;
                    let cafile = match config.global().get_raw("ssl") {
                        Some(crate::config::Value::Table(t)) => t
                            .get("cafile")
                            .and_then(crate::config::Value::as_str)
                            .map(|p| config.config_dir().join(p)),
                        _ => None,
                    };
                    (c.shared.core_tx.clone(), cafile)
                })?;
                let call = Call {
                    method,
                    url,
                    headers: hs,
                    body: body.map(|b| b.as_bytes().to_vec()),
                    cafile,
                };
                let handle = tokio::runtime::Handle::try_current()
                    .map_err(|_| rt("no runtime to make HTTP requests on"))?;
                handle.spawn(async move {
                    let answer = match tokio::time::timeout(REQUEST_TIMEOUT, perform(call)).await {
                        Ok(a) => a,
                        Err(_) => Err("request timed out".into()),
                    };
                    let _ = tx.send(CoreMsg::Task(CoreTask(Box::new(move |core| {
                        deliver(core, id, answer)
                    }))));
                });
                Ok(())
            },
        )?,
    )?;
    Ok(())
}
