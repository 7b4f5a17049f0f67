//! mod_http and mod_http_errors as plain Rust: the route table apps register into, host
//! matching, error pages, CORS and trusted proxies (reference §6). No sockets here: the
//! hyper server in `net::http` turns wire requests into [`Request`]s and back.

pub mod app;
pub mod cors;
pub mod pages;
pub mod proxies;
pub mod request;
pub mod router;
pub mod settings;
pub mod url;

pub use app::{base_path, App, Handler, HandlerFn, Scope};
pub use cors::Cors;
pub use proxies::TrustedProxies;
pub use request::{Deferred, Reply, Request, Response};
pub use router::{Dispatched, Router};
pub use settings::{CorsDefaults, CorsSpec, ErrorPageSettings, HttpSettings};
