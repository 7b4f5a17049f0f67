//! Public URLs of HTTP apps (reference §6.8, Prosody's `module:http_url()`), for modules
//! that advertise where they live (logs, disco, web client config).

/// An active HTTP service a URL can point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    pub secure: bool,
    pub port: u16,
}

/// The URL of an app whose base path is `base_path`: `http_external_url` when set (its
/// scheme, authority and path, then the base path); else the first HTTPS service, else the
/// first HTTP one, on `host`; default ports omitted. No service: `http://disabled.invalid/`.
///
/// ```
/// use lilt::modules::http::url::{http_url, Service};
/// let services = [Service { secure: false, port: 5280 }, Service { secure: true, port: 5281 }];
/// assert_eq!(http_url(None, "/xmpp-websocket", "example.com", &services),
///            "https://example.com:5281/xmpp-websocket");
/// ```
pub fn http_url(
    external_url: Option<&str>,
    base_path: &str,
    host: &str,
    services: &[Service],
) -> String {
    if let Some(external) = external_url {
        let (scheme, rest) = external.split_once("://").unwrap_or(("https", external));
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let mut path = format!("{}{}", path.trim_end_matches('/'), base_path);
        if path.is_empty() {
            path.push('/');
        }
        return format!("{scheme}://{authority}{path}");
    }
    let chosen = services
        .iter()
        .find(|s| s.secure)
        .or_else(|| services.first());
    let Some(service) = chosen else {
        return "http://disabled.invalid/".to_owned();
    };
    let (scheme, default_port) = if service.secure {
        ("https", 443)
    } else {
        ("http", 80)
    };
    let port = if service.port == default_port {
        String::new()
    } else {
        format!(":{}", service.port)
    };
    let path = if base_path.is_empty() { "/" } else { base_path };
    format!("{scheme}://{host}{port}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_url_replaces_scheme_host_and_prefixes_path() {
        assert_eq!(
            http_url(Some("https://domain1.com/"), "/xmpp-websocket", "x", &[]),
            "https://domain1.com/xmpp-websocket"
        );
        assert_eq!(
            http_url(Some("https://proxy.example:8443/chat/"), "/ws", "x", &[]),
            "https://proxy.example:8443/chat/ws"
        );
    }

    #[test]
    fn prefers_https_and_omits_default_ports() {
        let http_only = [Service {
            secure: false,
            port: 80,
        }];
        assert_eq!(http_url(None, "/a", "h", &http_only), "http://h/a");
        let both = [
            Service {
                secure: false,
                port: 5280,
            },
            Service {
                secure: true,
                port: 443,
            },
        ];
        assert_eq!(http_url(None, "", "h", &both), "https://h/");
    }

    #[test]
    fn no_service_gives_disabled_url() {
        assert_eq!(http_url(None, "/a", "h", &[]), "http://disabled.invalid/");
    }
}
