//! Metrics in the OpenMetrics text format, like Prosody's mod_http_openmetrics: a registry
//! the drivers bump ([`registry`]), the `connection_monitoring` error rate ([`monitor`]) and
//! the `GET /metrics` HTTP app, open to `openmetrics_allow_ips` / `openmetrics_allow_cidr`.

pub mod families;
pub mod monitor;
pub mod registry;

use std::net::IpAddr;
use std::sync::Arc;

pub use registry::{metrics, LimitKind, Metrics, Transport};

use crate::config::Config;
use crate::modules::http::{App, CorsSpec, Handler, Reply, Request, Response, TrustedProxies};

/// Module name in `modules_enabled` (Prosody's name, so configs carry over).
pub const MODULE_NAME: &str = "http_openmetrics";
/// HTTP app name (for `http_paths`).
pub const APP_NAME: &str = "openmetrics";
/// The content type OpenMetrics scrapers ask for.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Who may scrape.
#[derive(Debug, Clone)]
pub struct Access {
    ips: Vec<IpAddr>,
    cidr: Option<TrustedProxies>,
}

impl Access {
    /// `openmetrics_allow_ips` (default `::1`, `127.0.0.1`) and `openmetrics_allow_cidr`.
    pub fn from_config(config: &Config) -> Access {
        let g = config.global();
        let ips: Vec<String> = if g.get("openmetrics_allow_ips").is_some() {
            g.strings("openmetrics_allow_ips")
        } else {
            vec!["::1".into(), "127.0.0.1".into()]
        };
        let ips = ips
            .iter()
            .filter_map(|s| match s.parse::<IpAddr>() {
                Ok(ip) => Some(ip.to_canonical()),
                Err(_) => {
                    tracing::warn!("openmetrics_allow_ips: '{s}' is not an IP address");
                    None
                }
            })
            .collect();
        let cidr = g.string("openmetrics_allow_cidr").and_then(|c| {
            let (set, bad) = TrustedProxies::parse([c.as_str()]);
            if bad.is_empty() {
                Some(set)
            } else {
                tracing::warn!("openmetrics_allow_cidr: '{c}' is not a CIDR range");
                None
            }
        });
        Access { ips, cidr }
    }

    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.ips.contains(&ip) || self.cidr.as_ref().is_some_and(|c| c.contains(ip))
    }
}

/// The `/metrics` app (global scope). Scrapers are not browsers: no CORS.
pub fn app(access: Arc<Access>) -> App {
    let handler = Handler::new(move |request: &Request, _| handle(request, &access, metrics()));
    App::new(APP_NAME)
        .with_default_path("/metrics")
        .with_cors(CorsSpec {
            enabled: Some(false),
            ..CorsSpec::default()
        })
        .route("GET", handler)
}

/// One scrape: 403 unless the client address (after `trusted_proxies`) is allowed.
pub fn handle(request: &Request, access: &Access, registry: &Metrics) -> Reply {
    if !access.allows(request.ip) {
        tracing::debug!(ip = %request.ip, "refused metrics scrape");
        return Reply::Status(403);
    }
    Reply::Response(
        Response::new(200)
            .with_header("Content-Type", CONTENT_TYPE)
            .with_body(registry.render()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn access(text: &str) -> Access {
        let c = Config::load_str(Path::new("/tmp/om.cfg.lua"), text).expect("config");
        Access::from_config(&c)
    }

    #[test]
    fn default_allows_loopback_only() {
        let a = access("\n");
        assert!(a.allows("127.0.0.1".parse().expect("ip")));
        assert!(a.allows("::1".parse().expect("ip")));
        assert!(!a.allows("10.0.0.1".parse().expect("ip")));
    }

    #[test]
    fn allow_ips_and_cidr_extend_access() {
        let a = access(
            "openmetrics_allow_ips = { \"192.0.2.7\" }\nopenmetrics_allow_cidr = \"10.0.0.0/8\"\n",
        );
        assert!(a.allows("192.0.2.7".parse().expect("ip")));
        assert!(a.allows("10.9.8.7".parse().expect("ip")));
        assert!(
            !a.allows("127.0.0.1".parse().expect("ip")),
            "the list replaces the default"
        );
    }

    #[test]
    fn scrape_answers_openmetrics_or_403() {
        let a = access("\n");
        let m = Metrics::new();
        let ok = Request::new("GET", "/metrics");
        match handle(&ok, &a, &m) {
            Reply::Response(r) => {
                assert_eq!(r.header("Content-Type"), Some(CONTENT_TYPE));
                assert!(String::from_utf8_lossy(&r.body).ends_with("# EOF\n"));
            }
            other => panic!("expected metrics, got {other:?}"),
        }
        let mut far = Request::new("GET", "/metrics");
        far.ip = "203.0.113.9".parse().expect("ip");
        assert!(matches!(handle(&far, &a, &m), Reply::Status(403)));
    }
}
