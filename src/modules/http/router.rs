//! The route table of mod_http (reference §6.2–6.4): apps register routes under a base path
//! per host; a request is matched global-first, then by its Host header, and the handler's
//! reply becomes a response (error pages, redirects, CORS headers, HEAD as GET).

use std::collections::HashMap;

use super::app::{base_path, App, Handler, Scope};
use super::cors::Cors;
use super::pages;
use super::request::{Reply, Request, Response};
use super::settings::HttpSettings;

#[derive(Debug, Clone)]
enum Target {
    Handler(Handler),
    /// CORS preflight: 200, empty body.
    Options,
    /// 301 to the same path with a trailing slash (priority below handlers).
    SlashRedirect,
}

#[derive(Debug, Clone)]
struct Route {
    method: String,
    /// `None`: global context.
    host: Option<String>,
    /// Exact path, or the prefix (ending in `/`) of a wildcard route.
    path: String,
    wildcard: bool,
    target: Target,
    app: usize,
}

/// A registered app, for CORS and for telling the caller which host answered.
#[derive(Debug, Clone)]
struct Registered {
    vhost: Option<String>,
    cors: Option<Cors>,
}

/// The outcome of dispatching one request.
#[derive(Debug, Clone)]
pub struct Dispatched {
    pub response: Response,
    /// The VirtualHost whose route answered (`None`: global route or no route).
    pub route_host: Option<String>,
}

/// The HTTP route table shared by all listeners.
#[derive(Debug, Clone, Default)]
pub struct Router {
    routes: Vec<Route>,
    apps: Vec<Registered>,
    /// `http_host` name -> VirtualHost name, for every host with an app.
    hosts: HashMap<String, String>,
}

/// A parsed route key: method, path below the base, wildcard flag.
fn parse_key(key: &str) -> Option<(String, String, bool)> {
    let key = key.trim();
    let (method, path) = match key.split_once(char::is_whitespace) {
        Some((m, p)) => (m, p.trim()),
        None => (key, ""),
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    if !path.is_empty() && !path.starts_with('/') {
        return None;
    }
    let (path, wildcard) = match path.strip_suffix('*') {
        Some(prefix) if prefix.ends_with('/') => (prefix, true),
        Some(_) => return None,
        None => (path, false),
    };
    Some((method.to_ascii_uppercase(), path.to_owned(), wildcard))
}

impl Router {
    pub fn new() -> Self {
        Router::default()
    }

    /// Whether `name` is a registered HTTP host (an `http_host` with at least one app).
    pub fn has_host(&self, name: &str) -> bool {
        self.hosts.contains_key(name)
    }

    /// Registers an app's routes in `scope`. Returns warnings for the operator's log
    /// (invalid keys, duplicate routes).
    pub fn add_app(&mut self, scope: &Scope, app: App, settings: &HttpSettings) -> Vec<String> {
        let mut warnings = Vec::new();
        let base = base_path(scope, &app.name, app.default_path.as_deref(), settings);
        let host = scope.request_host().map(str::to_owned);
        if let (Some(h), Some(vhost)) = (&host, &scope.host) {
            self.hosts.entry(h.clone()).or_insert_with(|| vhost.clone());
        }
        let mut parsed = Vec::new();
        for (key, handler) in app.routes {
            match parse_key(&key) {
                Some(p) => parsed.push((p, handler)),
                None => warnings.push(format!("Invalid route '{key}' in HTTP app '{}'", app.name)),
            }
        }
        let spec = settings.cors_override.get(&app.name).or(app.cors.as_ref());
        let cors = Cors::for_app(
            &settings.cors,
            spec,
            parsed.iter().map(|((m, _, _), _)| m.as_str()),
        );
        let index = self.apps.len();
        let cors_on = cors.is_some();
        self.apps.push(Registered {
            vhost: scope.host.clone(),
            cors,
        });
        for ((method, sub, wildcard), handler) in parsed {
            let mut path = format!("{base}{sub}");
            if path.is_empty() {
                path.push('/');
            }
            let exists = self.routes.iter().any(|r| {
                r.app == index
                    && r.method == method
                    && r.path == path
                    && r.wildcard == wildcard
                    && matches!(r.target, Target::Handler(_))
            });
            if exists {
                warnings.push(format!(
                    "App '{}' added handler twice for {method} {path}",
                    app.name
                ));
                continue;
            }
            let route = |method: &str, path: &str, wildcard, target| Route {
                method: method.to_owned(),
                host: host.clone(),
                path: path.to_owned(),
                wildcard,
                target,
                app: index,
            };
            if path.len() > 1 && path.ends_with('/') {
                let bare = &path[..path.len() - 1];
                self.routes
                    .push(route(&method, bare, false, Target::SlashRedirect));
            }
            if cors_on
                && !self.routes.iter().any(|r| {
                    r.app == index
                        && r.method == "OPTIONS"
                        && r.path == path
                        && r.wildcard == wildcard
                })
            {
                self.routes
                    .push(route("OPTIONS", &path, wildcard, Target::Options));
            }
            self.routes
                .push(route(&method, &path, wildcard, Target::Handler(handler)));
        }
        warnings
    }

    /// Matches a request and produces its response (§6.3): global routes, then the Host
    /// header's routes (falling back to `http_default_host`), HEAD falling back to GET.
    pub fn dispatch(&self, request: &Request, settings: &HttpSettings) -> Dispatched {
        if let Some(response) = https_redirect(request, settings) {
            return Dispatched {
                response,
                route_host: None,
            };
        }
        if let Some(done) = self.run_scope(request, None, settings) {
            return done;
        }
        let host = request
            .header("host")
            .map(strip_port)
            .filter(|h| !h.is_empty());
        let default = settings
            .default_host
            .as_deref()
            .filter(|d| self.has_host(d));
        let chosen = match host {
            Some(h) if self.has_host(h) => Ok(h),
            _ if default.is_some() => Ok(default.unwrap_or_default()),
            Some(h) => Err((404, format!("Unknown host: {h}"))),
            None => Err((400, "Missing or invalid 'Host' header".to_owned())),
        };
        let response = match chosen {
            Ok(h) => match self.run_scope(request, Some(h), settings) {
                Some(done) => return done,
                None => error_response(request, 404, None, None, settings),
            },
            // Host errors are not about a path, so `/` gets no "running" page here.
            Err((status, message)) => {
                pages::error_page(status, Some(&message), None, &settings.errors)
            }
        };
        Dispatched {
            response,
            route_host: None,
        }
    }

    fn run_scope(
        &self,
        request: &Request,
        host: Option<&str>,
        settings: &HttpSettings,
    ) -> Option<Dispatched> {
        let mut methods = vec![request.method.as_str()];
        if request.method == "HEAD" {
            methods.push("GET");
        }
        methods
            .into_iter()
            .find_map(|method| self.run_method(request, method, host, settings))
    }

    fn run_method(
        &self,
        request: &Request,
        method: &str,
        host: Option<&str>,
        settings: &HttpSettings,
    ) -> Option<Dispatched> {
        let here = |r: &&Route| r.method == method && r.host.as_deref() == host;
        let exact = self
            .routes
            .iter()
            .filter(here)
            .filter(|r| !r.wildcard && r.path == request.path)
            .filter(|r| !matches!(r.target, Target::SlashRedirect));
        let mut prefixed: Vec<&Route> = self
            .routes
            .iter()
            .filter(here)
            .filter(|r| r.wildcard && request.path.starts_with(&r.path))
            .collect();
        prefixed.sort_by_key(|r| std::cmp::Reverse(r.path.len()));
        let redirects = self
            .routes
            .iter()
            .filter(here)
            .filter(|r| r.path == request.path && matches!(r.target, Target::SlashRedirect));
        for route in exact.chain(prefixed).chain(redirects) {
            let rest = if route.wildcard {
                &request.path[route.path.len()..]
            } else {
                ""
            };
            let reply = match &route.target {
                Target::Handler(h) => h.call(request, rest),
                Target::Options => Reply::Response(Response::new(200)),
                Target::SlashRedirect => Reply::Response(slash_redirect(request)),
            };
            if let Some(mut response) = finish(reply, request, settings) {
                let app = &self.apps[route.app];
                if let Some(cors) = &app.cors {
                    cors.apply(request.header("origin"), &mut response);
                }
                return Some(Dispatched {
                    response,
                    route_host: app.vhost.clone(),
                });
            }
        }
        None
    }
}

/// The guide's `https_redirect` extension; `None` when off, secure, or without a Host.
fn https_redirect(request: &Request, settings: &HttpSettings) -> Option<Response> {
    let port = settings.https_redirect?;
    if request.secure {
        return None;
    }
    let host = strip_port(request.header("host")?);
    let external = settings
        .https_redirect_urls
        .get(host)
        .or_else(|| settings.https_redirect_urls.get(""))
        .filter(|u| u.starts_with("https://"));
    let mut location = match external {
        Some(base) => format!("{}{}", base.trim_end_matches('/'), request.path),
        None if port == 443 => format!("https://{host}{}", request.path),
        None => format!("https://{host}:{port}{}", request.path),
    };
    if let Some(q) = &request.query {
        location.push('?');
        location.push_str(q);
    }
    Some(Response::new(301).with_header("Location", location))
}

fn slash_redirect(request: &Request) -> Response {
    let mut location = format!("{}/", request.path);
    if let Some(q) = &request.query {
        location.push('?');
        location.push_str(q);
    }
    Response::new(301).with_header("Location", location)
}

/// Turns a handler's reply into a response; `None` lets the next handler try.
fn finish(reply: Reply, request: &Request, settings: &HttpSettings) -> Option<Response> {
    match reply {
        Reply::Pass => None,
        Reply::Status(s) if s >= 400 => Some(error_response(request, s, None, None, settings)),
        Reply::Status(s) => Some(Response::new(s)),
        Reply::Error {
            status,
            message,
            private,
        } => Some(error_response(
            request,
            status,
            message.as_deref(),
            private.as_deref(),
            settings,
        )),
        Reply::Response(r) => Some(r),
    }
}

/// An error page, except that a 404 for `/` (any method) becomes the "running" page, as
/// mod_http_errors does.
fn error_response(
    request: &Request,
    status: u16,
    extra: Option<&str>,
    private: Option<&str>,
    settings: &HttpSettings,
) -> Response {
    if status == 404 && request.path == "/" {
        return pages::running_page();
    }
    pages::error_page(status, extra, private, &settings.errors)
}

/// `example.com:5280` -> `example.com`; `[::1]:5280` -> `[::1]`; no lower-casing.
pub(crate) fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((name, port))
            if port.bytes().all(|b| b.is_ascii_digit())
                && (!name.contains(':') || name.ends_with(']')) =>
        {
            name
        }
        _ => host,
    }
}

#[cfg(test)]
mod tests;
