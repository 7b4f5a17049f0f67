//! The HTTP/1.1 server (hyper) behind the `http`/`https` services: turns wire requests into
//! `modules::http` requests, applies body limits, trusted-proxy rules and connection
//! semantics, and hands upgraded WebSocket sockets to a callback. TLS is done by the caller.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Version;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

use crate::modules::http::router::strip_port;
use crate::modules::http::{pages, HttpSettings, Request, Response, Router};

/// Prosody's limit on the request line plus headers.
const MAX_HEADER_BYTES: usize = 10 * 1024;

/// How long a client may take to send a request head when nothing else is configured
/// (`network_settings.ssl_handshake_timeout`'s default): the slowloris defence.
pub const DEFAULT_HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// A byte stream in both directions: what an upgraded WebSocket connection is.
pub trait AsyncReadWrite: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> AsyncReadWrite for T {}

/// What the WebSocket session needs to know about the HTTP request that was upgraded
/// (Prosody's `session.websocket_request`).
#[derive(Debug, Clone)]
pub struct WsRequest {
    /// The direct TCP peer.
    pub peer: SocketAddr,
    /// Client address after `trusted_proxies` processing (`session.ip`).
    pub ip: IpAddr,
    /// HTTPS, or `X-Forwarded-Proto: https` from a trusted proxy (`request.secure`);
    /// `consider_websocket_secure` is for the session to add.
    pub secure: bool,
    /// `Host` header without port, if any.
    pub host: Option<String>,
    /// The VirtualHost whose route accepted the upgrade (`None`: global registration).
    pub route_host: Option<String>,
    pub path: String,
    pub query: Option<String>,
    /// All request headers, names lower-cased (`origin`, `user-agent`, ...).
    pub headers: Vec<(String, String)>,
}

impl WsRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The socket of an upgraded connection. A plain TCP connection is handed over as the
/// `TcpStream` itself (with any bytes hyper had already read), so an idle session can wait
/// for readiness without holding a read buffer; anything else (TLS) stays boxed.
pub enum WsIo {
    Tcp {
        stream: tokio::net::TcpStream,
        /// Bytes that arrived with or right after the upgrade request.
        prefix: Bytes,
    },
    Other(Box<dyn AsyncReadWrite>),
}

impl WsIo {
    /// The socket as one boxed stream (the prefix is read first).
    pub fn into_boxed(self) -> Box<dyn AsyncReadWrite> {
        match self {
            WsIo::Tcp { stream, prefix } => Box::new(Prefixed { prefix, io: stream }),
            WsIo::Other(io) => io,
        }
    }

    fn from_upgraded(upgraded: hyper::upgrade::Upgraded) -> WsIo {
        match upgraded.downcast::<TokioIo<tokio::net::TcpStream>>() {
            Ok(parts) => WsIo::Tcp {
                stream: parts.io.into_inner(),
                prefix: parts.read_buf,
            },
            Err(upgraded) => WsIo::Other(Box::new(TokioIo::new(upgraded))),
        }
    }
}

/// Called once per upgraded connection, after the 101 was written; it should spawn the
/// session task and return quickly.
pub type WebSocketCallback = Arc<dyn Fn(WsIo, WsRequest) + Send + Sync>;

/// A response body: whole, or streamed (a file being served).
pub type Body = BoxBody<Bytes, std::io::Error>;

/// A whole body as a [`Body`].
pub fn full_body(bytes: Bytes) -> Body {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}

/// A response being produced by a streaming route.
pub type StreamingReply =
    std::pin::Pin<Box<dyn std::future::Future<Output = hyper::Response<Body>> + Send>>;

/// A route that takes the request body as it arrives instead of collected and limited by
/// `http_max_content_size` (Prosody's `streaming_uploads`): mod_http_file_share's PUT and
/// GET. Asked before the router, with the request's head (`body` empty).
pub trait StreamingRoute: Send + Sync {
    /// Whether this route answers `request`.
    fn claims(&self, request: &Request) -> bool;
    /// Answers it, reading `body` as it comes.
    fn serve(&self, request: Request, body: Incoming, settings: &HttpSettings) -> StreamingReply;
}

/// Everything a connection needs: routes, options, and where upgraded sockets go.
pub struct HttpApp {
    pub router: Router,
    /// Asked before `router`; see [`StreamingRoute`].
    pub streaming: Vec<Arc<dyn StreamingRoute>>,
    pub settings: HttpSettings,
    pub on_websocket: WebSocketCallback,
    /// Time allowed for the request line and headers (slowloris defence); the connection
    /// is closed when it runs out. Prosody has no such limit (only `read_timeout`, which a
    /// byte every few seconds resets); Lilt uses `ssl_handshake_timeout` for it.
    pub header_read_timeout: std::time::Duration,
}

impl HttpApp {
    pub fn new(router: Router, settings: HttpSettings, on_websocket: WebSocketCallback) -> Self {
        HttpApp {
            router,
            streaming: Vec::new(),
            settings,
            on_websocket,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
        }
    }

    pub fn with_header_read_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }
}

/// Serves HTTP/1.x on one accepted connection until it closes. `secure` is true for the
/// HTTPS service (the caller already did TLS).
pub async fn serve_connection<IO>(
    io: IO,
    peer: SocketAddr,
    secure: bool,
    app: Arc<HttpApp>,
) -> Result<(), hyper::Error>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let peer = SocketAddr::new(peer.ip().to_canonical(), peer.port());
    let header_timeout = app.header_read_timeout;
    let service = service_fn(move |request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Infallible>(handle(request, peer, secure, app).await) }
    });
    http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_timeout)
        .title_case_headers(true)
        .max_header_size(MAX_HEADER_BYTES)
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades()
        .await
}

/// Accepts plain-HTTP connections forever, one task each (the `http` service without TLS).
pub async fn serve_listener(listener: TcpListener, app: Arc<HttpApp>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of descriptors and similar: keep the service up, do not spin.
                tracing::warn!(%err, "http accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            if let Err(err) = serve_connection(stream, peer, false, app).await {
                tracing::debug!(%peer, %err, "http connection ended with error");
            }
        });
    }
}

async fn handle(
    mut wire: hyper::Request<Incoming>,
    peer: SocketAddr,
    secure: bool,
    app: Arc<HttpApp>,
) -> hyper::Response<Body> {
    let on_upgrade = hyper::upgrade::on(&mut wire);
    let (parts, body) = wire.into_parts();
    let persistent = is_persistent(parts.version, &parts.headers);
    let mut request = request_head(&parts, peer, secure, &app.settings);
    if let Some(route) = app.streaming.iter().find(|r| r.claims(&request)) {
        let mut response = route.serve(request, body, &app.settings).await;
        let value = if persistent { "Keep-Alive" } else { "close" };
        if persistent || parts.version == Version::HTTP_11 {
            response
                .headers_mut()
                .insert(hyper::header::CONNECTION, HeaderValue::from_static(value));
        }
        return response;
    }
    let limit = app.settings.max_content_size;
    let announced = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        return too_large(&app.settings);
    }
    request.body = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return too_large(&app.settings),
    };
    let (ip, secure) = (request.ip, request.secure);

    let dispatched = app.router.dispatch(&request, &app.settings);
    let mut response = dispatched.response;
    // hyper only hands over the socket for HTTP/1.1 requests that carry `Upgrade`; Prosody
    // does not look at that header, but without it there is nothing to switch to.
    let can_upgrade =
        parts.version == Version::HTTP_11 && parts.headers.contains_key(hyper::header::UPGRADE);
    if response.upgrade && !can_upgrade {
        response = pages::error_page(
            400,
            Some("A WebSocket upgrade needs HTTP/1.1 and an 'Upgrade: websocket' header."),
            None,
            &app.settings.errors,
        );
    }
    if response.upgrade {
        let ws = WsRequest {
            peer,
            ip,
            secure,
            host: request.header("host").map(|h| strip_port(h).to_owned()),
            route_host: dispatched.route_host,
            path: request.path.clone(),
            query: request.query.clone(),
            headers: request.headers.clone(),
        };
        let callback = Arc::clone(&app.on_websocket);
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(upgraded) => callback(WsIo::from_upgraded(upgraded), ws),
                Err(err) => {
                    tracing::debug!(ip = %ws.ip, peer = %ws.peer, %err, "websocket upgrade failed")
                }
            }
        });
    } else if persistent {
        response.set_header("Connection", "Keep-Alive");
    } else if parts.version == Version::HTTP_11 {
        response.set_header("Connection", "close");
    }
    to_wire(response)
}

/// The request as routes see it, without its body: headers, and the client address and
/// security after `trusted_proxies`.
fn request_head(
    parts: &hyper::http::request::Parts,
    peer: SocketAddr,
    secure: bool,
    settings: &HttpSettings,
) -> Request {
    let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let mut request = Request::new(parts.method.as_str(), target);
    for (name, value) in &parts.headers {
        request.add_header(name.as_str(), &String::from_utf8_lossy(value.as_bytes()));
    }
    if let Some(authority) = parts.uri.authority() {
        // An absolute-URI request line overrides the Host header (RFC 9112 3.2.2).
        request.headers.retain(|(n, _)| n != "host");
        request.add_header("host", authority.as_str());
    }
    request.peer = peer;
    let (ip, secure) = settings.trusted_proxies.resolve(
        peer.ip(),
        secure,
        request.header("x-forwarded-for"),
        request.header("x-forwarded-proto"),
    );
    request.ip = ip;
    request.secure = secure;
    request
}

/// Prosody's rule: `Connection: keep-alive`, or HTTP/1.1 without `Connection: close`.
fn is_persistent(version: Version, headers: &hyper::HeaderMap) -> bool {
    let has = |token: &str| {
        headers
            .get_all(hyper::header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    has("keep-alive") || (version == Version::HTTP_11 && !has("close"))
}

/// `http_max_content_size` exceeded: Prosody drops the connection; we say why first.
fn too_large(settings: &HttpSettings) -> hyper::Response<Body> {
    let mut response = pages::error_page(413, None, None, &settings.errors);
    response.set_header("Connection", "close");
    to_wire(response)
}

/// A route's response as hyper sends it.
pub fn to_wire(response: Response) -> hyper::Response<Body> {
    let mut wire = hyper::Response::new(full_body(response.body));
    *wire.status_mut() = hyper::StatusCode::from_u16(response.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = wire.headers_mut();
    for (name, value) in response.headers {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            (Ok(n), Ok(v)) => {
                headers.append(n, v);
            }
            _ => tracing::warn!(%name, "dropping response header that is not valid HTTP"),
        }
    }
    wire
}

/// A stream whose first bytes were already read by someone else.
struct Prefixed<IO> {
    prefix: Bytes,
    io: IO,
}

impl<IO: AsyncRead + Unpin> AsyncRead for Prefixed<IO> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            let head = self.prefix.split_to(n);
            buf.put_slice(&head);
            return std::task::Poll::Ready(Ok(()));
        }
        std::pin::Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Prefixed<IO> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.io).poll_write(cx, data)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
