//! What an HTTP module registers: apps (Prosody's `module:provides("http", ...)` items), their
//! handlers, the scope (global or one host) and how an app's base path is chosen (§6.2).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use super::request::{Reply, Request, Response};
use super::settings::{CorsSpec, HttpSettings};

/// A route handler: gets the request and, for `/prefix/*` routes, the rest of the path.
pub type HandlerFn = dyn Fn(&Request, &str) -> Reply + Send + Sync;

/// What a route runs: a function, or a fixed response (Prosody's non-function handler).
#[derive(Clone)]
pub enum Handler {
    Fn(Arc<HandlerFn>),
    Static(Response),
}

impl Handler {
    pub fn new(f: impl Fn(&Request, &str) -> Reply + Send + Sync + 'static) -> Self {
        Handler::Fn(Arc::new(f))
    }

    pub(crate) fn call(&self, request: &Request, rest: &str) -> Reply {
        match self {
            Handler::Fn(f) => f(request, rest),
            Handler::Static(r) => Reply::Response(r.clone()),
        }
    }
}

impl fmt::Debug for Handler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Handler::Fn(_) => f.write_str("Handler::Fn"),
            Handler::Static(r) => write!(f, "Handler::Static({})", r.status),
        }
    }
}

/// What a module provides as `http` (Prosody's `module:provides("http", {...})`).
///
/// ```
/// use lilt::modules::http::{App, Handler, Reply};
/// let app = App::new("hello").route("GET /*", Handler::new(|_req, rest| {
///     Reply::Status(if rest.is_empty() { 204 } else { 404 })
/// }));
/// ```
#[derive(Debug, Clone)]
pub struct App {
    /// Key for `http_paths` and `http_cors_override`.
    pub name: String,
    /// Base path when `http_paths` has none; `/<name>` when this is unset too.
    pub default_path: Option<String>,
    /// The app's own `cors` table.
    pub cors: Option<CorsSpec>,
    /// Route keys (`GET`, `POST /sub`, `GET /files/*`) and handlers, in registration order.
    pub routes: Vec<(String, Handler)>,
}

impl App {
    pub fn new(name: &str) -> Self {
        App {
            name: name.to_owned(),
            default_path: None,
            cors: None,
            routes: Vec::new(),
        }
    }

    pub fn with_default_path(mut self, path: &str) -> Self {
        self.default_path = Some(path.to_owned());
        self
    }

    pub fn with_cors(mut self, cors: CorsSpec) -> Self {
        self.cors = Some(cors);
        self
    }

    pub fn route(mut self, key: &str, handler: Handler) -> Self {
        self.routes.push((key.to_owned(), handler));
        self
    }
}

/// Where an app is registered: the global HTTP context (any Host) or one host.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// The VirtualHost/Component name; `None` for a global module.
    pub host: Option<String>,
    /// `http_host` of that host when it differs from its name.
    pub http_host: Option<String>,
    /// The host section's own `http_paths`.
    pub http_paths: HashMap<String, String>,
}

impl Scope {
    pub fn global() -> Self {
        Scope::default()
    }

    pub fn host(name: &str) -> Self {
        Scope {
            host: Some(name.to_owned()),
            ..Scope::default()
        }
    }

    pub fn with_http_host(mut self, http_host: &str) -> Self {
        self.http_host = Some(http_host.to_owned());
        self
    }

    pub fn with_path(mut self, app: &str, path: &str) -> Self {
        self.http_paths.insert(app.to_owned(), path.to_owned());
        self
    }

    /// The name requests must carry in `Host` to reach this scope.
    pub(crate) fn request_host(&self) -> Option<&str> {
        self.http_host.as_deref().or(self.host.as_deref())
    }
}

/// An app's base path: host `http_paths`, then global, then `default_path`, then
/// `/<name>`; leading `/` ensured, trailing `/` removed, `$host` expanded.
pub fn base_path(
    scope: &Scope,
    app: &str,
    default_path: Option<&str>,
    settings: &HttpSettings,
) -> String {
    let configured = scope
        .http_paths
        .get(app)
        .or_else(|| settings.paths.get(app))
        .map(String::as_str);
    let raw = match configured.or(default_path) {
        Some(p) => p.to_owned(),
        None => format!("/{app}"),
    };
    let expanded = raw.replace("$host", scope.host.as_deref().unwrap_or("*"));
    let trimmed = expanded.trim_end_matches('/');
    if trimmed.starts_with('/') || trimmed.is_empty() {
        trimmed.to_owned()
    } else {
        format!("/{trimmed}")
    }
}
