//! The options mod_http and mod_http_errors read, as plain data with Prosody's defaults
//! (reference §6). The config slice fills this from the configuration; nothing here reads it.

use std::collections::HashMap;

use super::proxies::TrustedProxies;

/// Global HTTP options.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// `http_default_host`: serves requests whose Host matches no HTTP host (no default).
    pub default_host: Option<String>,
    /// Global `http_paths` (app name -> base path); host sections have their own in `Scope`.
    pub paths: HashMap<String, String>,
    /// `http_max_content_size` (10 MiB): larger request bodies are refused.
    pub max_content_size: usize,
    /// `http_max_buffer_size` (2 × content size); kept for `check config`, hyper streams.
    pub max_buffer_size: usize,
    pub cors: CorsDefaults,
    /// `http_cors_override`: per app name, replaces the app's own `cors` table.
    pub cors_override: HashMap<String, CorsSpec>,
    /// `trusted_proxies`.
    pub trusted_proxies: TrustedProxies,
    pub errors: ErrorPageSettings,
    /// Guide extension `https_redirect = true`: plain-HTTP requests (not made secure by a
    /// trusted proxy) get a 301 to `https://<host>[:port]<path>`. Holds the HTTPS port to
    /// redirect to; `None` (the default, and Prosody's behaviour) serves plain HTTP.
    pub https_redirect: Option<u16>,
    /// `http_external_url` by `Host` name (`""`: the global one): when set, `https_redirect`
    /// sends requests for that host to this base URL plus the request path instead.
    pub https_redirect_urls: HashMap<String, String>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        let max_content_size = 10 * 1024 * 1024;
        HttpSettings {
            default_host: None,
            paths: HashMap::new(),
            max_content_size,
            max_buffer_size: 2 * max_content_size,
            cors: CorsDefaults::default(),
            cors_override: HashMap::new(),
            trusted_proxies: TrustedProxies::default(),
            errors: ErrorPageSettings::default(),
            https_redirect: None,
            https_redirect_urls: HashMap::new(),
        }
    }
}

/// The global `access_control_*` options and `http_default_cors_enabled`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsDefaults {
    /// `http_default_cors_enabled` (true): apps without a `cors` table get CORS.
    pub enabled_by_default: bool,
    /// `access_control_allow_methods` (`GET`, `OPTIONS`); each app adds its routed methods.
    pub methods: Vec<String>,
    /// `access_control_allow_headers` (`Content-Type`).
    pub headers: Vec<String>,
    /// `access_control_allow_credentials` (false).
    pub credentials: bool,
    /// `access_control_max_age` (7200).
    pub max_age: u64,
    /// `access_control_allow_origins`: `None` = any origin. Prosody 0.12.3 never applies a
    /// list here (a bug fixed in 0.12.4); Lilt applies it as 0.12.4 does.
    pub origins: Option<Vec<String>>,
}

impl Default for CorsDefaults {
    fn default() -> Self {
        CorsDefaults {
            enabled_by_default: true,
            methods: vec!["GET".into(), "OPTIONS".into()],
            headers: vec!["Content-Type".into()],
            credentials: false,
            max_age: 7200,
            origins: None,
        }
    }
}

/// An app's `cors` table or its `http_cors_override` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsSpec {
    /// `Some(false)` turns CORS off; `Some(true)` makes the other fields apply; `None` means
    /// "on, with the global defaults" and the other fields are ignored (as in Prosody).
    pub enabled: Option<bool>,
    pub credentials: Option<bool>,
    /// Header name -> add (true) or remove (false) from the allowed headers.
    pub headers: Vec<(String, bool)>,
    /// Allowed origins; a list containing `*` allows any.
    pub origins: Option<Vec<String>>,
}

impl CorsSpec {
    /// `{ enabled = true }`.
    pub fn enabled() -> Self {
        CorsSpec {
            enabled: Some(true),
            ..CorsSpec::default()
        }
    }
}

/// mod_http_errors options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorPageSettings {
    /// `http_errors_detailed` (false): show handlers' private error text.
    pub detailed: bool,
    /// `http_errors_always_show` (true): render a page even for codes without a message;
    /// when false such errors get an empty body.
    pub always_show: bool,
    /// `http_errors_default_message`.
    pub default_message: String,
    /// `http_errors_messages`: status -> messages (the first one is used); merged over ours.
    pub messages: HashMap<u16, Vec<String>>,
}

impl Default for ErrorPageSettings {
    fn default() -> Self {
        ErrorPageSettings {
            detailed: false,
            always_show: true,
            default_message: "There is nothing more to say about it.".into(),
            messages: HashMap::new(),
        }
    }
}
