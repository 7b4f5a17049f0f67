//! The options of one `http_file_share` host (reference wave 2 §19.1), read once at load
//! with Prosody's defaults, plus where the host's files and URLs live.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use crate::config::{Config, Value};
use crate::modules::http::url::{http_url, Service};

/// The HTTP app name (`http_paths` key); its default path is `/file_share`.
pub const APP_NAME: &str = "file_share";

/// The module name, which is also the directory the files live in.
pub const MODULE: &str = "http_file_share";

/// Everything the slot handler, the HTTP routes and the cleanup job need to agree on.
#[derive(Debug, Clone)]
pub struct Settings {
    pub host: String,
    /// The name shown in disco (`name`, default "HTTP File Upload").
    pub name: String,
    pub size_limit: u64,
    pub daily_quota: u64,
    /// `None`: unlimited.
    pub global_quota: Option<u64>,
    /// Seconds; negative keeps files forever.
    pub expires_after: i64,
    pub allowed_types: BTreeSet<String>,
    pub safe_types: BTreeSet<String>,
    pub access: BTreeSet<String>,
    pub secret: String,
    pub external_base_url: Option<String>,
    /// Base URL of the app (`_base_url` or the app's `http_url`), without trailing `/`.
    pub base_url: String,
    /// Path below which the app is served (`/file_share` unless `http_paths` says so).
    pub base_path: String,
    /// The `Host` header the files are served under (`http_host` or the host name).
    pub http_host: String,
    /// Hosts served by this server, for the default access rule.
    pub local_hosts: BTreeSet<String>,
}

/// The secret used when `http_file_share_secret` is unset: random, once per process, so
/// tokens die with a restart as Prosody's do, and the XMPP and HTTP sides agree.
fn process_secret() -> &'static str {
    static SECRET: OnceLock<String> = OnceLock::new();
    SECRET.get_or_init(|| {
        use base64::Engine;
        let bytes: [u8; 24] = rand::random();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    })
}

fn number(config: &Config, host: &str, key: &str) -> Option<f64> {
    config.host(host).number(key).filter(|n| n.is_finite())
}

fn set(config: &Config, host: &str, key: &str, default: &[&str]) -> BTreeSet<String> {
    let s = config.host(host);
    if s.get(key).is_some() {
        s.strings(key).into_iter().collect()
    } else {
        default.iter().map(|d| (*d).to_owned()).collect()
    }
}

fn ports(config: &Config, key: &str, default: u16) -> Vec<u16> {
    match config.global().get(key) {
        Some(Value::Table(t)) => t
            .seq()
            .iter()
            .filter_map(|v| match v {
                Value::Integer(n) => u16::try_from(*n).ok(),
                Value::Number(n) => Some(*n as u16),
                Value::String(s) => s.parse().ok(),
                _ => None,
            })
            .collect(),
        Some(Value::Integer(n)) => u16::try_from(*n).into_iter().collect(),
        Some(Value::Number(n)) => vec![*n as u16],
        _ => vec![default],
    }
}

impl Settings {
    pub fn from_config(config: &Config, host: &str) -> Settings {
        let s = config.host(host);
        let size_limit = number(config, host, "http_file_share_size_limit")
            .map_or(10 * 1024 * 1024, |n| n.max(0.0) as u64);
        let daily_quota = number(config, host, "http_file_share_daily_quota")
            .map_or(size_limit.saturating_mul(10), |n| n.max(0.0) as u64);
        let global_quota =
            number(config, host, "http_file_share_global_quota").map(|n| n.max(0.0) as u64);
        let expires_after =
            number(config, host, "http_file_share_expires_after").map_or(7 * 86400, |n| n as i64);
        let secret = s
            .string("http_file_share_secret")
            .unwrap_or_else(|| process_secret().to_owned());
        let external_base_url = s.string("http_file_share_base_url");
        let http_host = s.string("http_host").unwrap_or_else(|| host.to_owned());
        let base_path = app_path(config, host);
        let base_url = match &external_base_url {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None => {
                let mut services: Vec<Service> = ports(config, "https_ports", 5281)
                    .into_iter()
                    .map(|port| Service { secure: true, port })
                    .collect();
                services.extend(ports(config, "http_ports", 5280).into_iter().map(|port| {
                    Service {
                        secure: false,
                        port,
                    }
                }));
                let url = http_url(
                    s.string("http_external_url").as_deref(),
                    &base_path,
                    &http_host,
                    &services,
                );
                url.trim_end_matches('/').to_owned()
            }
        };
        Settings {
            host: host.to_owned(),
            name: s
                .string("name")
                .unwrap_or_else(|| "HTTP File Upload".to_owned()),
            size_limit,
            daily_quota,
            global_quota,
            expires_after,
            allowed_types: set(config, host, "http_file_share_allowed_file_types", &[]),
            safe_types: set(
                config,
                host,
                "http_file_share_safe_file_types",
                &["image/*", "video/*", "audio/*", "text/plain"],
            ),
            access: set(config, host, "http_file_share_access", &[]),
            secret,
            external_base_url,
            base_url,
            base_path,
            http_host,
            local_hosts: config
                .virtual_hosts()
                .into_iter()
                .chain(config.components())
                .map(str::to_owned)
                .collect(),
        }
    }

    /// Whether files expire and this server prunes them (not with an external base URL).
    pub fn prunes(&self) -> bool {
        self.expires_after >= 0 && self.external_base_url.is_none()
    }
}

/// The app's base path: the host's (or global) `http_paths.file_share`, else `/file_share`.
fn app_path(config: &Config, host: &str) -> String {
    let configured = [
        config.host(host).get("http_paths"),
        config.global().get("http_paths"),
    ]
    .into_iter()
    .flatten()
    .find_map(|v| match v {
        Value::Table(t) => t.get(APP_NAME).and_then(|p| match p {
            Value::String(s) => Some(s.clone()),
            _ => None,
        }),
        _ => None,
    });
    let raw = configured.unwrap_or_else(|| format!("/{APP_NAME}"));
    let raw = raw.replace("$host", host);
    let trimmed = raw.trim_end_matches('/');
    if trimmed.starts_with('/') {
        trimmed.to_owned()
    } else {
        format!("/{trimmed}")
    }
}

/// Whether `typ` is in `set` as itself or as `major/*`.
pub fn type_in(set: &BTreeSet<String>, typ: &str) -> bool {
    if set.contains(typ) {
        return true;
    }
    let major = typ.split('/').next().unwrap_or(typ);
    set.contains(&format!("{major}/*"))
}
