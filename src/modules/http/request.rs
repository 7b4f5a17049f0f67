//! The request, response and handler-reply types HTTP routes work with: plain data, no
//! hyper types, so routes are testable without sockets.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use bytes::Bytes;

/// One parsed HTTP request as a route handler sees it.
#[derive(Debug, Clone)]
pub struct Request {
    /// Upper-case method (`GET`, `HEAD`, ...).
    pub method: String,
    /// Path of the request target, without the query string.
    pub path: String,
    /// Query string without the `?`, if the target had one.
    pub query: Option<String>,
    /// Header names lower-cased; repeated headers joined with `,` (as Prosody does).
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// The direct TCP peer.
    pub peer: SocketAddr,
    /// Client address after `trusted_proxies` / `X-Forwarded-For` processing (§6.6).
    pub ip: IpAddr,
    /// HTTPS listener, or a trusted proxy said `X-Forwarded-Proto: https`.
    pub secure: bool,
}

impl Request {
    /// A request from 127.0.0.1 with no headers, body or TLS; `target` may carry a query.
    pub fn new(method: &str, target: &str) -> Self {
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (target.to_owned(), None),
        };
        let peer = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
        Request {
            method: method.to_ascii_uppercase(),
            path,
            query,
            headers: Vec::new(),
            body: Bytes::new(),
            peer,
            ip: peer.ip(),
            secure: false,
        }
    }

    /// Adds a header, joining with an existing one of the same name by `,`.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.add_header(name, value);
        self
    }

    /// Adds a header, joining with an existing one of the same name by `,`.
    pub fn add_header(&mut self, name: &str, value: &str) {
        let name = name.to_ascii_lowercase();
        match self.headers.iter_mut().find(|(n, _)| *n == name) {
            Some((_, existing)) => {
                existing.push(',');
                existing.push_str(value);
            }
            None => self.headers.push((name, value.to_owned())),
        }
    }

    /// A header value by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A response; header names are kept as written (the server title-cases them on the wire).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// Set on a `101` from the WebSocket route: the server hands the socket over after it.
    pub upgrade: bool,
    /// A response that comes later (a BOSH long poll): the server waits for it and sends
    /// its status, headers and body with this response's headers (CORS) under them.
    pub deferred: Option<Deferred>,
}

/// The receiving end of a response a handler answers later; dropped unanswered, the
/// server sends this placeholder's own status and body.
#[derive(Clone)]
pub struct Deferred(
    std::sync::Arc<std::sync::Mutex<Option<tokio::sync::oneshot::Receiver<Response>>>>,
);

impl Deferred {
    /// A deferred response and the sender that completes it.
    pub fn channel() -> (tokio::sync::oneshot::Sender<Response>, Deferred) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        (
            tx,
            Deferred(std::sync::Arc::new(std::sync::Mutex::new(Some(rx)))),
        )
    }

    /// Takes the receiver (once); `None` if it was already taken.
    pub fn take(&self) -> Option<tokio::sync::oneshot::Receiver<Response>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

impl std::fmt::Debug for Deferred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Deferred")
    }
}

impl PartialEq for Deferred {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Deferred {}

impl Response {
    /// An empty response with `status`.
    pub fn new(status: u16) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
            upgrade: false,
            deferred: None,
        }
    }

    /// A `text/html; charset=utf-8` response.
    pub fn html(status: u16, body: impl Into<String>) -> Self {
        Response::new(status)
            .with_header("Content-Type", "text/html; charset=utf-8")
            .with_body(body.into())
    }

    /// Sets a header, replacing any of the same (case-insensitive) name.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.set_header(name, value);
        self
    }

    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets a header, replacing any of the same (case-insensitive) name.
    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self
            .headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some((_, v)) => *v = value,
            None => self.headers.push((name.to_owned(), value)),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What a route handler returns, mirroring the result kinds of a Prosody HTTP handler (§6.4).
#[derive(Debug, Clone)]
pub enum Reply {
    /// Not handled (Prosody's `nil`): the next handler is tried, finally 404.
    Pass,
    /// A bare status; `>= 400` renders an HTML error page.
    Status(u16),
    /// An error page with a public message and a private one shown only with
    /// `http_errors_detailed`.
    Error {
        status: u16,
        message: Option<String>,
        private: Option<String>,
    },
    /// A full response, sent as is.
    Response(Response),
}
