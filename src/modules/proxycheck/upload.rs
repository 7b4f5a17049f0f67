//! The upload part of `lilt check proxy`: a proxy in front of `http_file_share` must let
//! request bodies as large as `http_file_share_size_limit` through, or uploads the server
//! issued slots for die at the proxy with 413. nginx's `client_max_body_size` (default
//! 1m; innermost of http, server, location wins) and Apache's `LimitRequestBody` (0 =
//! unlimited) on the upload location are compared with the limit.

use std::path::Path;

use super::apache::{self, Item};
use super::nginx::{self, Directive};
use super::{detect, Flavour, ProxyReport, Severity};
use crate::config::Config;

/// nginx's default `client_max_body_size`.
const NGINX_DEFAULT: u64 = 1024 * 1024;

/// The upload side of Lilt: the app path and the largest size limit of any upload host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSide {
    pub path: String,
    pub size_limit: u64,
}

/// `None` when no host loads `http_file_share` or all use an external base URL.
pub fn from_config(config: &Config) -> Option<UploadSide> {
    let mut hosts = config.virtual_hosts();
    hosts.extend(config.components());
    hosts
        .into_iter()
        .filter(|h| {
            config.component_module(h) == Some("http_file_share")
                || config.modules_for_host(h).contains("http_file_share")
        })
        .map(|h| crate::modules::http_file_share::Settings::from_config(config, h))
        .filter(|s| s.external_base_url.is_none())
        .map(|s| UploadSide {
            path: s.base_path,
            size_limit: s.size_limit,
        })
        .max_by_key(|u| u.size_limit)
}

/// nginx sizes: bytes, or with `k`/`m`/`g`.
pub fn parse_nginx_size(text: &str) -> Option<u64> {
    let t = text.trim().to_ascii_lowercase();
    let (num, mult) = match t.chars().last()? {
        'k' => (&t[..t.len() - 1], 1024),
        'm' => (&t[..t.len() - 1], 1024 * 1024),
        'g' => (&t[..t.len() - 1], 1024 * 1024 * 1024),
        _ => (t.as_str(), 1),
    };
    num.parse::<u64>().ok().map(|n| n * mult)
}

fn warn(
    report: &mut ProxyReport,
    file: &Path,
    line: usize,
    what: &str,
    have: u64,
    side: &UploadSide,
) {
    report.push(
        Severity::Warning,
        file,
        line,
        format!(
            "{what} allows {have} bytes, below http_file_share_size_limit ({}): larger uploads \
             fail at the proxy with 413",
            side.size_limit
        ),
    );
}

/// Checks one file's upload locations.
pub fn check(file: &Path, text: &str, side: &UploadSide, report: &mut ProxyReport) {
    match detect(text) {
        Flavour::Nginx => {
            if let Ok(tree) = nginx::parse(text) {
                nginx_walk(file, &tree, None, side, report);
            }
        }
        Flavour::Apache => {
            let mut scratch = ProxyReport::default();
            let items = apache::parse(file, text, &mut scratch);
            apache_walk(file, &items, None, side, report);
        }
    }
}

fn covers(location: &str, path: &str) -> bool {
    let loc = location.trim_end_matches('/');
    !loc.is_empty() && (path == loc || path.starts_with(&format!("{loc}/")))
}

fn nginx_walk(
    file: &Path,
    list: &[Directive],
    inherited: Option<(u64, usize)>,
    side: &UploadSide,
    report: &mut ProxyReport,
) {
    let here = list
        .iter()
        .rev()
        .find(|d| d.name == "client_max_body_size")
        .and_then(|d| Some((parse_nginx_size(d.args.first()?)?, d.line)))
        .or(inherited);
    for d in list {
        let Some(block) = &d.block else { continue };
        if d.name == "location" && d.args.last().is_some_and(|p| covers(p, &side.path)) {
            let own = block
                .iter()
                .rev()
                .find(|c| c.name == "client_max_body_size")
                .and_then(|c| Some((parse_nginx_size(c.args.first()?)?, c.line)));
            let (limit, line) = own.or(here).unwrap_or((NGINX_DEFAULT, d.line));
            if limit != 0 && limit < side.size_limit {
                let what = if own.or(here).is_some() {
                    "client_max_body_size"
                } else {
                    "nginx's default client_max_body_size (1m)"
                };
                warn(report, file, line, what, limit, side);
            }
        } else {
            nginx_walk(file, block, here, side, report);
        }
    }
}

fn apache_walk(
    file: &Path,
    items: &[Item],
    inherited: Option<(u64, usize)>,
    side: &UploadSide,
    report: &mut ProxyReport,
) {
    let limit_of = |items: &[Item]| {
        items.iter().rev().find_map(|i| match i {
            Item::Directive { name, args, line }
                if name.eq_ignore_ascii_case("LimitRequestBody") =>
            {
                Some((args.first()?.parse::<u64>().ok()?, *line))
            }
            _ => None,
        })
    };
    let here = limit_of(items).or(inherited);
    for i in items {
        let Item::Section {
            name,
            args,
            items: inner,
            ..
        } = i
        else {
            continue;
        };
        let is_upload = name.eq_ignore_ascii_case("Location")
            && args.first().is_some_and(|p| covers(p, &side.path));
        if is_upload {
            if let Some((limit, line)) = limit_of(inner).or(here) {
                if limit != 0 && limit < side.size_limit {
                    warn(report, file, line, "LimitRequestBody", limit, side);
                }
            }
        } else {
            apache_walk(file, inner, here, side, report);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side() -> UploadSide {
        UploadSide {
            path: "/file_share".into(),
            size_limit: 10 * 1024 * 1024,
        }
    }

    fn run(text: &str) -> Vec<String> {
        let mut r = ProxyReport::default();
        check(Path::new("x.conf"), text, &side(), &mut r);
        r.messages(Severity::Warning)
    }

    #[test]
    fn nginx_default_body_limit_is_below_the_upload_limit() {
        let w =
            run("server {\n location /file_share {\n proxy_pass http://localhost:5280;\n }\n}\n");
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("default client_max_body_size"), "{w:?}");
    }

    #[test]
    fn nginx_limits_inherit_and_the_innermost_wins() {
        assert!(
            run("http { client_max_body_size 20m; server { location /file_share/ { } } }")
                .is_empty()
        );
        let w = run("server { client_max_body_size 20m; location /file_share { client_max_body_size 2m; } }");
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(run("server { location /file_share { client_max_body_size 0; } }").is_empty());
        assert!(
            run("server { location /other { } }").is_empty(),
            "no upload location, nothing to say"
        );
    }

    #[test]
    fn apache_limit_request_body_is_compared() {
        let conf = "<VirtualHost *:443>\nLimitRequestBody 1048576\n<Location \"/file_share\">\nProxyPass \"http://localhost:5280/file_share\"\n</Location>\n</VirtualHost>\n";
        let w = run(conf);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].starts_with("2:") && w[0].contains("LimitRequestBody"),
            "{w:?}"
        );
        let ok = conf.replace("LimitRequestBody 1048576", "LimitRequestBody 0");
        assert!(run(&ok).is_empty());
    }

    #[test]
    fn sizes_read_as_nginx_reads_them() {
        assert_eq!(parse_nginx_size("10m"), Some(10 * 1024 * 1024));
        assert_eq!(parse_nginx_size("512K"), Some(512 * 1024));
        assert_eq!(parse_nginx_size("100"), Some(100));
        assert_eq!(parse_nginx_size("x"), None);
    }
}
