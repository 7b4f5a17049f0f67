//! Where a proxy directive sends requests: the upstream URL's parts, whether that reaches
//! Lilt's WebSocket path, and which source address Lilt will see the proxy connect from.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use super::{LiltSide, ProxyReport, Severity};

/// A parsed `scheme://host[:port][/path]` upstream URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    pub scheme: String,
    pub host: String,
    pub port: Option<u16>,
    /// `None` when the URL has no path part (nginx then passes the request path unchanged).
    pub path: Option<String>,
}

impl Upstream {
    pub fn parse(url: &str) -> Option<Upstream> {
        let url = url.trim_matches('"');
        let (scheme, rest) = url.split_once("://")?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], Some(rest[i..].to_owned())),
            None => (rest, None),
        };
        let (host, port) = if let Some(h) = authority.strip_prefix('[') {
            let (h, rest) = h.split_once(']')?;
            (
                h.to_owned(),
                rest.strip_prefix(':').and_then(|p| p.parse().ok()),
            )
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), Some(p.parse().ok()?)),
                None => (authority.to_owned(), None),
            }
        };
        Some(Upstream {
            scheme: scheme.to_ascii_lowercase(),
            host,
            port,
            path,
        })
    }

    /// The port, with the scheme's default.
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or(match self.scheme.as_str() {
            "https" | "wss" => 443,
            _ => 80,
        })
    }

    /// Whether a request for `location` (a path prefix or exact path) sent here reaches
    /// `ws_path` on Lilt.
    pub fn reaches(&self, location: &str, ws_path: &str) -> bool {
        let norm = |p: &str| format!("/{}", p.trim_matches('/'));
        match &self.path {
            // The location prefix is replaced by the URL path.
            Some(p) if p != "/" => norm(p) == norm(ws_path),
            // No path (or `/`): the request path goes through unchanged.
            _ => {
                let loc = norm(location);
                loc == "/" || norm(ws_path).starts_with(&loc)
            }
        }
    }

    /// Addresses the proxy connects from when it talks to this upstream, if knowable: a
    /// loopback upstream is reached from loopback.
    pub fn source_addresses(&self) -> Option<Vec<IpAddr>> {
        let host = self.host.to_ascii_lowercase();
        if host == "localhost" {
            return Some(vec![
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ]);
        }
        match host.parse::<IpAddr>() {
            Ok(ip) if ip.is_loopback() => Some(vec![ip]),
            _ => None,
        }
    }
}

/// Reports when Lilt would not believe this proxy's X-Forwarded-* headers.
pub fn check_trusted(
    file: &Path,
    line: usize,
    upstream: &Upstream,
    bind: Option<&str>,
    lilt: &LiltSide,
    report: &mut ProxyReport,
) {
    let sources = match bind.and_then(|b| b.parse::<IpAddr>().ok()) {
        Some(ip) => Some(vec![ip]),
        None => upstream.source_addresses(),
    };
    match sources {
        Some(list) => {
            let untrusted: Vec<String> = list
                .iter()
                .filter(|ip| !lilt.trusts(**ip))
                .map(IpAddr::to_string)
                .collect();
            if !untrusted.is_empty() {
                report.push(
                    Severity::Problem,
                    file,
                    line,
                    format!(
                        "the proxy connects to Lilt from {} which trusted_proxies does not cover: \
                         Lilt will ignore its X-Forwarded-For/-Proto and log the proxy's address",
                        untrusted.join(" and ")
                    ),
                );
            }
        }
        None => {
            let default_only = ["127.0.0.1", "::1"]
                .iter()
                .filter_map(|s| s.parse::<IpAddr>().ok())
                .all(|ip| lilt.trusts(ip))
                && !lilt.trusts(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)))
                && !lilt.trusts(IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1)))
                && !lilt.trusts(IpAddr::V4(Ipv4Addr::new(172, 16, 0, 1)));
            let severity = if default_only {
                Severity::Problem
            } else {
                Severity::Note
            };
            report.push(
                severity,
                file,
                line,
                format!(
                    "the proxy reaches Lilt at {} from an address of its own: make sure \
                     trusted_proxies lists that address{}",
                    upstream.host,
                    if default_only {
                        " (it only covers loopback now)"
                    } else {
                        ""
                    }
                ),
            );
        }
    }
}

/// nginx-style durations: `900`, `900s`, `15m`, `1h`, `500ms`, `1m30s`.
pub fn parse_nginx_time(text: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut num = String::new();
    let mut chars = text.trim().chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let n: f64 = num.parse().ok()?;
        num.clear();
        let unit = match c {
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                0.001
            }
            'm' => 60.0,
            's' => 1.0,
            'h' => 3600.0,
            'd' => 86400.0,
            'w' => 604800.0,
            _ => return None,
        };
        total += n * unit;
        any = true;
    }
    if !num.is_empty() {
        total += num.parse::<f64>().ok()?;
        any = true;
    }
    any.then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_urls_parse() {
        let u = Upstream::parse("http://localhost:5280/xmpp-websocket").expect("url");
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_deref()),
            ("localhost", Some(5280), Some("/xmpp-websocket"))
        );
        let u = Upstream::parse("ws://[::1]:5280").expect("url");
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_deref()),
            ("::1", Some(5280), None)
        );
        assert!(u.reaches("/xmpp-websocket", "/xmpp-websocket"));
        assert!(u.reaches("/", "/xmpp-websocket"));
        assert!(!u.reaches("/other", "/xmpp-websocket"));
    }

    #[test]
    fn nginx_times_parse() {
        assert_eq!(parse_nginx_time("900s"), Some(900.0));
        assert_eq!(parse_nginx_time("900"), Some(900.0));
        assert_eq!(parse_nginx_time("15m"), Some(900.0));
        assert_eq!(parse_nginx_time("1m30s"), Some(90.0));
        assert_eq!(parse_nginx_time("500ms"), Some(0.5));
        assert_eq!(parse_nginx_time("soon"), None);
    }
}
