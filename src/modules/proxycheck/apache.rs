//! Apache site configs: a line parser (sections, quotes, continuations) that also finds what
//! Apache itself rejects — above all a comment after a directive (`ProxyTimeout 900  # 15
//! minutes` stops Apache from starting) — and the checks of each proxy to Lilt's WebSocket path.

use std::path::Path;

use super::target::{check_trusted, Upstream};
use super::{LiltSide, ProxyReport, Severity};

/// A directive or a `<Section>` with its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Directive {
        name: String,
        args: Vec<String>,
        line: usize,
    },
    Section {
        name: String,
        args: Vec<String>,
        line: usize,
        items: Vec<Item>,
    },
}

/// Splits arguments the way Apache does: whitespace-separated, `"…"` quoted.
fn split_args(text: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut word = String::new();
        let quoted = c == '"' || c == '\'';
        if quoted {
            chars.next();
            for ch in chars.by_ref() {
                if ch == c {
                    break;
                }
                word.push(ch);
            }
        } else {
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() {
                    break;
                }
                word.push(ch);
                chars.next();
            }
        }
        out.push((word, quoted));
    }
    out
}

/// Parses a file; syntax Apache would reject is reported as problems on the way.
pub fn parse(file: &Path, text: &str, report: &mut ProxyReport) -> Vec<Item> {
    let mut stack: Vec<(String, Vec<String>, usize, Vec<Item>)> = Vec::new();
    let mut top = Vec::new();
    let mut pending = String::new();
    let mut start = 0;
    for (i, raw) in text.lines().enumerate() {
        if pending.is_empty() {
            start = i + 1;
        }
        if let Some(body) = raw.strip_suffix('\\') {
            pending.push_str(body);
            pending.push(' ');
            continue;
        }
        pending.push_str(raw);
        let line = std::mem::take(&mut pending);
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        if let Some(close) = l.strip_prefix("</") {
            let name = close.trim_end_matches('>').trim();
            match stack.pop() {
                Some((open, args, at, items)) if open.eq_ignore_ascii_case(name) => {
                    let s = Item::Section {
                        name: open,
                        args,
                        line: at,
                        items,
                    };
                    match stack.last_mut() {
                        Some(parent) => parent.3.push(s),
                        None => top.push(s),
                    }
                }
                Some((open, _, at, _)) => {
                    report.push(
                        Severity::Problem,
                        file,
                        start,
                        format!(
                        "Apache would refuse this: </{name}> closes <{open}> opened at line {at}"),
                    );
                    return top;
                }
                None => {
                    report.push(
                        Severity::Problem,
                        file,
                        start,
                        format!("Apache would refuse this: </{name}> without <{name}>"),
                    );
                    return top;
                }
            }
            continue;
        }
        if let Some(open) = l.strip_prefix('<') {
            let Some(inner) = open.strip_suffix('>') else {
                report.push(
                    Severity::Problem,
                    file,
                    start,
                    "Apache would refuse this: section line does not end with '>'",
                );
                continue;
            };
            let mut parts = split_args(inner).into_iter().map(|(w, _)| w);
            let name = parts.next().unwrap_or_default();
            stack.push((name, parts.collect(), start, Vec::new()));
            continue;
        }
        let words = split_args(l);
        let name = words.first().map(|(w, _)| w.clone()).unwrap_or_default();
        if let Some(pos) = words
            .iter()
            .skip(1)
            .position(|(w, q)| !q && w.starts_with('#'))
        {
            report.push(Severity::Problem, file, start, format!(
                "Apache allows no comment after a directive: the words from '#' on become arguments of \
                 {name} and Apache refuses to start (move \"{}\" to a line of its own)",
                words[pos + 1..].iter().map(|(w, _)| w.as_str()).collect::<Vec<_>>().join(" ")));
        }
        let args = words
            .into_iter()
            .skip(1)
            .map(|(w, _)| w)
            .take_while(|w| !w.starts_with('#'))
            .collect();
        let d = Item::Directive {
            name,
            args,
            line: start,
        };
        match stack.last_mut() {
            Some(parent) => parent.3.push(d),
            None => top.push(d),
        }
    }
    if let Some((open, _, at, _)) = stack.last() {
        report.push(
            Severity::Problem,
            file,
            *at,
            format!("Apache would refuse this: <{open}> is never closed"),
        );
    }
    top
}

type Chain<'a> = Vec<(&'a str, &'a [String], &'a [Item])>;

/// The innermost directive of this name along the chain of enclosing sections.
fn find<'a>(chain: &Chain<'a>, name: &str) -> Option<(&'a [String], usize)> {
    chain.iter().rev().find_map(|(_, _, items)| {
        items.iter().rev().find_map(|i| match i {
            Item::Directive {
                name: n,
                args,
                line,
            } if n.eq_ignore_ascii_case(name) => Some((args.as_slice(), *line)),
            _ => None,
        })
    })
}

/// The module names of `LoadModule` lines (for pooling across a main config and its sites).
pub fn load_modules(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            w.next().filter(|d| d.eq_ignore_ascii_case("LoadModule"))?;
            w.next().map(str::to_owned)
        })
        .collect()
}

/// Checks a file; `loads` are the modules loaded by the whole setup (empty: unknown).
/// Returns how many proxies to Lilt's WebSocket path it has.
pub fn check(
    file: &Path,
    text: &str,
    loads: &[String],
    lilt: &LiltSide,
    report: &mut ProxyReport,
) -> usize {
    let items = parse(file, text, report);
    let loads: Vec<&str> = loads.iter().map(String::as_str).collect();
    let mut chain: Chain = vec![("", &[], &items)];
    let mut found = 0;
    walk(file, &items, &mut chain, &loads, lilt, report, &mut found);
    found
}

fn walk<'a>(
    file: &Path,
    items: &'a [Item],
    chain: &mut Chain<'a>,
    loads: &[&str],
    lilt: &LiltSide,
    report: &mut ProxyReport,
    found: &mut usize,
) {
    let in_location = chain.last().and_then(|(n, a, _)| {
        (n.eq_ignore_ascii_case("Location")).then(|| a.first().cloned().unwrap_or_default())
    });
    for item in items {
        match item {
            Item::Section {
                name, args, items, ..
            } => {
                chain.push((name, args, items));
                walk(file, items, chain, loads, lilt, report, found);
                chain.pop();
            }
            Item::Directive { name, args, line } if name.eq_ignore_ascii_case("ProxyPass") => {
                let (path, url, params) = match &in_location {
                    Some(loc) => {
                        if args.len() >= 2 && args[1].contains("://") {
                            report.push(Severity::Problem, file, *line,
                                "Apache would refuse this: ProxyPass inside <Location> takes no path (give only the URL)");
                            continue;
                        }
                        (loc.clone(), args.first(), args.get(1..).unwrap_or(&[]))
                    }
                    None => (
                        args.first().cloned().unwrap_or_default(),
                        args.get(1),
                        args.get(2..).unwrap_or(&[]),
                    ),
                };
                let Some(up) = url.and_then(|u| Upstream::parse(u)) else {
                    continue;
                };
                if lilt.ports.contains(&up.effective_port()) && up.reaches(&path, &lilt.bosh_path) {
                    check_bosh(file, *line, params, chain, lilt, report);
                    continue;
                }
                if !lilt.ports.contains(&up.effective_port()) || !up.reaches(&path, &lilt.ws_path) {
                    continue;
                }
                *found += 1;
                check_proxy(file, *line, &up, params, chain, loads, lilt, report);
            }
            Item::Directive { .. } => {}
        }
    }
}

/// A ProxyPass to Lilt's BOSH path: Host preserved, and a timeout above `bosh_max_wait`
/// so held long polls are not cut.
fn check_bosh(
    file: &Path,
    line: usize,
    params: &[String],
    chain: &Chain,
    lilt: &LiltSide,
    report: &mut ProxyReport,
) {
    let preserved = find(chain, "ProxyPreserveHost")
        .is_some_and(|(a, _)| a.first().is_some_and(|v| v.eq_ignore_ascii_case("on")));
    if !preserved {
        report.push(Severity::Problem, file, line, "BOSH: Host is not forwarded: add ProxyPreserveHost On, or Lilt cannot pick the VirtualHost");
    }
    let need = lilt.bosh_max_wait;
    let timeout = param(params, "timeout")
        .and_then(|v| v.parse::<f64>().ok().map(|t| (t, line, "timeout=")))
        .or_else(|| {
            find(chain, "ProxyTimeout")
                .and_then(|(a, l)| Some((a.first()?.parse().ok()?, l, "ProxyTimeout")))
        });
    match timeout {
        Some((t, _, _)) if t > need => {}
        Some((t, l, name)) => report.push(Severity::Problem, file, l, format!(
            "BOSH: {name} is {t}s, not above bosh_max_wait ({need}s): Apache answers held long polls with 502/504")),
        None if need >= 60.0 => report.push(Severity::Problem, file, line, format!(
            "BOSH: ProxyTimeout is not set (Apache default 60s), not above bosh_max_wait ({need}s): held long polls are cut")),
        None => {}
    }
}

fn param<'a>(params: &'a [String], key: &str) -> Option<&'a str> {
    params.iter().find_map(|p| {
        p.split_once('=')
            .filter(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

#[allow(clippy::too_many_arguments)]
fn check_proxy(
    file: &Path,
    line: usize,
    up: &Upstream,
    params: &[String],
    chain: &Chain,
    loads: &[&str],
    lilt: &LiltSide,
    report: &mut ProxyReport,
) {
    let mut problem = |l: usize, m: String| report.push(Severity::Problem, file, l, m);
    match up.scheme.as_str() {
        "ws" | "wss" => {
            if !loads.is_empty() && !loads.iter().any(|m| m.eq_ignore_ascii_case("proxy_wstunnel_module")) {
                problem(line, "ProxyPass to ws:// needs mod_proxy_wstunnel, which is not loaded here".into());
            }
        }
        _ if param(params, "upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket")) => {}
        _ => problem(line, "no Upgrade/Connection handling: proxy to ws:// (mod_proxy_wstunnel) or add upgrade=websocket to this ProxyPass".into()),
    }
    let guarded = chain.iter().any(|(n, a, _)| {
        n.eq_ignore_ascii_case("IfModule") && a.first().is_some_and(|m| m.contains("proxy"))
    });
    if guarded {
        report.push(Severity::Warning, file, line, "this proxy sits inside <IfModule mod_proxy…>: when the module is not loaded Apache silently drops it; load the modules and remove the guard".to_string());
    }
    let on = |name: &str| {
        find(chain, name).map(|(a, l)| (a.first().is_some_and(|v| v.eq_ignore_ascii_case("on")), l))
    };
    match on("ProxyPreserveHost") {
        Some((true, _)) => {}
        _ => report.push(
            Severity::Problem,
            file,
            line,
            "Host is not forwarded: add ProxyPreserveHost On, or Lilt cannot pick the VirtualHost",
        ),
    }
    if let Some((a, l)) = find(chain, "ProxyAddHeaders") {
        if a.first().is_some_and(|v| v.eq_ignore_ascii_case("off")) {
            report.push(Severity::Problem, file, l, "ProxyAddHeaders Off: X-Forwarded-For is not sent and Lilt logs the proxy's address");
        }
    }
    let proto = chain.iter().any(|(_, _, items)| {
        items.iter().any(|i| {
            matches!(i, Item::Directive { name, args, .. }
            if name.eq_ignore_ascii_case("RequestHeader")
                && args.get(1).is_some_and(|h| h.eq_ignore_ascii_case("X-Forwarded-Proto")))
        })
    });
    if !proto {
        report.push(Severity::Problem, file, line, "X-Forwarded-Proto is not set (RequestHeader set X-Forwarded-Proto \"https\"): Apache does not send it, so Lilt treats the session as insecure");
    }
    let need = lilt.keepalive_secs();
    let timeout = param(params, "timeout")
        .and_then(|v| v.parse::<f64>().ok().map(|t| (t, line, "timeout=")))
        .or_else(|| {
            find(chain, "ProxyTimeout")
                .and_then(|(a, l)| Some((a.first()?.parse().ok()?, l, "ProxyTimeout")))
        })
        .or_else(|| {
            find(chain, "Timeout").and_then(|(a, l)| Some((a.first()?.parse().ok()?, l, "Timeout")))
        });
    match timeout {
        Some((t, _, _)) if t > need => {}
        Some((t, l, name)) => report.push(Severity::Problem, file, l, format!(
            "{name} is {t}s, not above Lilt's {} ({need}s): idle sessions are cut by the proxy", lilt.keepalive_name())),
        None => report.push(Severity::Problem, file, line, format!(
            "ProxyTimeout is not set (Apache default 60s), not above Lilt's {} ({need}s): idle sessions are cut by the proxy", lilt.keepalive_name())),
    }
    if param(params, "flushpackets").is_some_and(|v| v.eq_ignore_ascii_case("off")) {
        report.push(
            Severity::Warning,
            file,
            line,
            "flushpackets=off buffers responses; leave it unset or on for WebSocket",
        );
    }
    check_trusted(file, line, up, None, lilt, report);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_comment_is_a_problem_and_quotes_protect_hashes() {
        let mut r = ProxyReport::default();
        parse(
            Path::new("a.conf"),
            "ProxyTimeout 900  # 15 minutes\nHeader set X \"a # b\"\n",
            &mut r,
        );
        assert_eq!(r.findings.len(), 1, "{r:?}");
        assert_eq!(r.findings[0].line, 1);
    }

    #[test]
    fn sections_nest_and_mismatches_are_reported() {
        let mut r = ProxyReport::default();
        let items = parse(
            Path::new("a.conf"),
            "<VirtualHost *:443>\n<Location /x>\nProxyPass ws://h/\n</Location>\n</VirtualHost>\n",
            &mut r,
        );
        assert!(r.findings.is_empty());
        assert!(
            matches!(&items[0], Item::Section { name, items, .. } if name == "VirtualHost" && items.len() == 1)
        );
        let mut r = ProxyReport::default();
        parse(
            Path::new("a.conf"),
            "<VirtualHost *:443>\n</Location>\n",
            &mut r,
        );
        assert!(r.has_problems());
    }
}
