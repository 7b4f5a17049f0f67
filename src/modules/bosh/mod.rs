//! mod_bosh (XEP-0124/XEP-0206, reference §18): the `bosh` HTTP app at
//! `http_paths.bosh` (default `/http-bind`), session creation with Prosody 0.12's answer
//! attributes, and the routing of each request to its session's task. A BOSH session is
//! the one c2s session over [`framing::BoshFraming`], so SASL, bind, limits, metrics and
//! stream management behave as over TCP and WebSocket.

pub mod body;
pub mod framing;
pub mod records;
pub mod task;
pub mod window;

use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::core::Shared;
use crate::modules::http::{pages, App, CorsSpec, Deferred, Handler, Reply, Request, Response};
use crate::net::c2s::SessionSettings;

use body::{terminate, Creation};
use task::{xml_response, Incoming, Registry, Spawn};

/// App name for `http_paths` / `http_cors_override`.
pub const APP_NAME: &str = "bosh";
/// Base path when `http_paths` does not set one.
pub const DEFAULT_PATH: &str = "/http-bind";

/// mod_bosh's options (global).
#[derive(Debug, Clone, PartialEq)]
pub struct BoshSettings {
    /// `bosh_max_inactivity` (60).
    pub max_inactivity: u64,
    /// `bosh_max_polling` (5), advertised only.
    pub max_polling: u64,
    /// `bosh_max_wait` (120): caps the client's `wait`.
    pub max_wait: u64,
    /// `consider_bosh_secure`.
    pub consider_secure: bool,
}

impl Default for BoshSettings {
    fn default() -> Self {
        BoshSettings {
            max_inactivity: 60,
            max_polling: 5,
            max_wait: 120,
            consider_secure: false,
        }
    }
}

impl BoshSettings {
    pub fn from_config(config: &Config) -> Self {
        let g = config.global();
        let d = BoshSettings::default();
        let secs = |key: &str, default: u64| {
            g.number(key)
                .filter(|n| n.is_finite() && *n >= 0.0)
                .map_or(default, |n| n as u64)
        };
        if g.get_raw("cross_domain_bosh").is_some() {
            tracing::info!("The 'cross_domain_bosh' option has been deprecated");
        }
        BoshSettings {
            max_inactivity: secs("bosh_max_inactivity", d.max_inactivity),
            max_polling: secs("bosh_max_polling", d.max_polling),
            max_wait: secs("bosh_max_wait", d.max_wait),
            consider_secure: g.boolean("consider_bosh_secure").unwrap_or(false),
        }
    }
}

/// Everything the endpoint's handler shares across requests.
pub struct Endpoint {
    pub shared: Arc<Shared>,
    pub settings: BoshSettings,
    pub session_settings: Arc<SessionSettings>,
    pub registry: Arc<Registry>,
}

impl Endpoint {
    pub fn new(shared: Arc<Shared>, max_send_buffer: usize) -> Self {
        let settings = BoshSettings::from_config(&shared.config);
        let mut session = SessionSettings::from_shared(&shared, max_send_buffer);
        // The client's requests are the keepalive; silence is bosh_max_inactivity's.
        session.read_timeout = Duration::from_secs(86_400);
        Endpoint {
            session_settings: Arc::new(session),
            settings,
            registry: Arc::new(Registry::default()),
            shared,
        }
    }
}

/// The app to register: GET (info page) and POST on the path and `path/`, CORS on.
pub fn app(endpoint: Arc<Endpoint>) -> App {
    let get = {
        let e = endpoint.clone();
        Handler::new(move |request, _| Reply::Response(info_page(request, &e.settings)))
    };
    let post = Handler::new(move |request, _| handle_post(request, &endpoint));
    App::new(APP_NAME)
        .with_default_path(DEFAULT_PATH)
        .with_cors(CorsSpec::enabled())
        .route("GET", get.clone())
        .route("GET /", get)
        .route("POST", post.clone())
        .route("POST /", post)
}

fn info_page(request: &Request, settings: &BoshSettings) -> Response {
    let secure = settings.consider_secure || request.secure;
    pages::message_page(
        "Lilt BOSH endpoint",
        "It works! Now point your BOSH client to this URL to connect to Lilt.",
        (!secure).then_some("This endpoint is not considered secure!"),
    )
}

/// One POST: a new session (no `sid`) or a request of a live one, answered later.
pub fn handle_post(request: &Request, e: &Endpoint) -> Reply {
    let limit = e.shared.c2s.stanza_size_limit;
    let parsed = body::parse(&request.body, limit);
    // A session's request whose payload did not parse still reaches the session: forbidden
    // XML ends it (`bad-format`, as Prosody's parser callbacks end it), a syntax error
    // refuses the request once its rid has counted.
    let kind = match &parsed {
        Err(body::BodyError::Forbidden(_)) => Some(body::Broken::Forbidden),
        Err(body::BodyError::Xml(_)) => Some(body::Broken::Syntax),
        _ => None,
    };
    let broken = kind
        .and_then(|k| body::start_tag(&request.body, limit, k))
        .filter(|b| b.sid().is_some());
    let body = match (parsed, broken) {
        (Ok(b), _) => b,
        (Err(err), Some(b)) => {
            tracing::warn!(ip = %request.ip, "Error parsing BOSH request payload; {err}");
            b
        }
        (Err(body::BodyError::Incomplete), None) => {
            // Prosody: "Unable to associate request with a session (incomplete request?)".
            return now(terminate("item-not-found", true, true));
        }
        (Err(err), None) => {
            tracing::warn!(ip = %request.ip, "Error parsing BOSH payload; {err}");
            return now(terminate("bad-request", true, false));
        }
    };
    let (tx, deferred) = Deferred::channel();
    let mut placeholder = xml_response(terminate("item-not-found", false, false));
    placeholder.deferred = Some(deferred);
    let incoming = Incoming { body, reply: tx };
    match incoming.body.sid().map(str::to_owned) {
        Some(sid) => {
            if !e.registry.route(&sid, incoming) {
                tracing::info!("Client tried to use sid '{sid}' which we don't know about");
                return now(terminate("item-not-found", false, false));
            }
        }
        None => {
            if let Some(refusal) = create(request, e, incoming) {
                return now(refusal);
            }
        }
    }
    Reply::Response(placeholder)
}

/// Session creation (§18.2); `Some(body)` when refused.
fn create(request: &Request, e: &Endpoint, incoming: Incoming) -> Option<String> {
    let b = &incoming.body;
    let to = b.attr("to").map(|t| t.trim().to_lowercase());
    let known = to.as_deref().is_some_and(|h| {
        !h.is_empty() && e.shared.policies.contains_key(h) && !e.shared.config.is_component(h)
    });
    let Some(to) = to.filter(|_| known) else {
        return Some(terminate("improper-addressing", true, false));
    };
    let wait = b.attr("wait").and_then(|w| w.trim().parse::<u64>().ok());
    let (Some(_), Some(wait)) = (b.rid(), wait) else {
        tracing::debug!("BOSH client sent invalid rid or wait attributes");
        return Some(terminate("bad-request", true, false));
    };
    let s = &e.settings;
    let spawn = Spawn {
        shared: e.shared.clone(),
        settings: e.session_settings.clone(),
        registry: e.registry.clone(),
        creation: Creation {
            inactivity: s.max_inactivity,
            polling: s.max_polling,
            wait: wait.min(s.max_wait),
            from: to,
        },
        max_inactivity: Duration::from_secs(s.max_inactivity),
        ip: request.ip,
        secure: s.consider_secure || request.secure,
        encrypted: request.secure,
    };
    task::spawn(spawn, incoming);
    None
}

fn now(body: String) -> Reply {
    Reply::Response(xml_response(body))
}
