//! nginx site configs: a small parser (directives, blocks, quotes, comments) and the checks
//! of each `location` that proxies to Lilt's WebSocket path.

use std::path::Path;

use super::target::{check_trusted, parse_nginx_time, Upstream};
use super::{LiltSide, ProxyReport, Severity};

/// One directive: `name args…;` or `name args… { block }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub name: String,
    pub args: Vec<String>,
    pub line: usize,
    pub block: Option<Vec<Directive>>,
}

/// A syntax error nginx would refuse to start with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

#[derive(Debug, PartialEq)]
enum Token {
    Word(String, usize),
    Open(usize),
    Close(usize),
    Semi(usize),
}

fn tokenize(text: &str) -> Result<Vec<Token>, ParseError> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while let Some(&c) = chars.peek() {
        match c {
            '\n' => {
                line += 1;
                chars.next();
            }
            c if c.is_whitespace() => {
                chars.next();
            }
            '#' => {
                while chars.peek().is_some_and(|&c| c != '\n') {
                    chars.next();
                }
            }
            '{' | '}' | ';' => {
                chars.next();
                out.push(match c {
                    '{' => Token::Open(line),
                    '}' => Token::Close(line),
                    _ => Token::Semi(line),
                });
            }
            '"' | '\'' => {
                let start = line;
                chars.next();
                let mut word = String::new();
                loop {
                    match chars.next() {
                        None => {
                            return Err(ParseError {
                                line: start,
                                message: "unterminated quoted string".into(),
                            })
                        }
                        Some('\\') => word.extend(chars.next()),
                        Some(q) if q == c => break,
                        Some(ch) => {
                            if ch == '\n' {
                                line += 1;
                            }
                            word.push(ch);
                        }
                    }
                }
                out.push(Token::Word(word, start));
            }
            _ => {
                let mut word = String::new();
                while let Some(&ch) = chars.peek() {
                    if ch.is_whitespace() || matches!(ch, '{' | '}' | ';') {
                        break;
                    }
                    word.push(ch);
                    chars.next();
                }
                out.push(Token::Word(word, line));
            }
        }
    }
    Ok(out)
}

/// Parses a whole file (or the inside of `http { }`) into directives.
pub fn parse(text: &str) -> Result<Vec<Directive>, ParseError> {
    let tokens = tokenize(text)?;
    let mut pos = 0;
    let list = parse_block(&tokens, &mut pos, false)?;
    Ok(list)
}

fn parse_block(
    tokens: &[Token],
    pos: &mut usize,
    nested: bool,
) -> Result<Vec<Directive>, ParseError> {
    let mut list = Vec::new();
    let mut name: Option<(String, usize)> = None;
    let mut args = Vec::new();
    while *pos < tokens.len() {
        let t = &tokens[*pos];
        *pos += 1;
        match t {
            Token::Word(w, l) => match &name {
                None => name = Some((w.clone(), *l)),
                Some(_) => args.push(w.clone()),
            },
            Token::Semi(l) => {
                let Some((n, line)) = name.take() else {
                    return Err(ParseError {
                        line: *l,
                        message: "unexpected \";\"".into(),
                    });
                };
                list.push(Directive {
                    name: n,
                    args: std::mem::take(&mut args),
                    line,
                    block: None,
                });
            }
            Token::Open(l) => {
                let Some((n, line)) = name.take() else {
                    return Err(ParseError {
                        line: *l,
                        message: "unexpected \"{\"".into(),
                    });
                };
                let block = parse_block(tokens, pos, true)?;
                list.push(Directive {
                    name: n,
                    args: std::mem::take(&mut args),
                    line,
                    block: Some(block),
                });
            }
            Token::Close(l) => {
                if let Some((n, _)) = name {
                    return Err(ParseError {
                        line: *l,
                        message: format!("directive \"{n}\" is not terminated by \";\""),
                    });
                }
                if !nested {
                    return Err(ParseError {
                        line: *l,
                        message: "unexpected \"}\"".into(),
                    });
                }
                return Ok(list);
            }
        }
    }
    if let Some((n, line)) = name {
        return Err(ParseError {
            line,
            message: format!("directive \"{n}\" is not terminated by \";\""),
        });
    }
    if nested {
        let line = tokens.last().map_or(0, |t| match t {
            Token::Word(_, l) | Token::Open(l) | Token::Close(l) | Token::Semi(l) => *l,
        });
        return Err(ParseError {
            line,
            message: "unexpected end of file, expecting \"}\"".into(),
        });
    }
    Ok(list)
}

/// The chain of blocks from the outermost to a location, for inherited directives.
type Scopes<'a> = Vec<&'a [Directive]>;

/// The innermost value of a normally inherited directive.
fn inherited<'a>(scopes: &Scopes<'a>, name: &str) -> Option<&'a Directive> {
    scopes
        .iter()
        .rev()
        .find_map(|s| s.iter().rev().find(|d| d.name == name))
}

/// `proxy_set_header`s in effect: those of the innermost level that has any (nginx inherits
/// them only into levels that define none).
fn headers<'a>(scopes: &Scopes<'a>) -> Vec<&'a Directive> {
    for s in scopes.iter().rev() {
        let here: Vec<&Directive> = s.iter().filter(|d| d.name == "proxy_set_header").collect();
        if !here.is_empty() {
            return here;
        }
    }
    Vec::new()
}

/// Checks a file; returns how many locations proxy to Lilt's WebSocket path.
pub fn check(file: &Path, text: &str, lilt: &LiltSide, report: &mut ProxyReport) -> usize {
    let tree = match parse(text) {
        Ok(t) => t,
        Err(e) => {
            report.push(
                Severity::Problem,
                file,
                e.line,
                format!("nginx would refuse this file: {}", e.message),
            );
            return 0;
        }
    };
    let upstreams = collect_upstreams(&tree);
    let mut found = 0;
    let mut scopes: Scopes = vec![&tree];
    walk(
        file,
        &tree,
        &mut scopes,
        &upstreams,
        lilt,
        report,
        &mut found,
    );
    found
}

fn collect_upstreams(list: &[Directive]) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for d in list {
        if let Some(block) = &d.block {
            if d.name == "upstream" {
                let servers = block
                    .iter()
                    .filter(|s| s.name == "server")
                    .filter_map(|s| s.args.first().cloned())
                    .collect();
                out.push((d.args.first().cloned().unwrap_or_default(), servers));
            } else {
                out.extend(collect_upstreams(block));
            }
        }
    }
    out
}

fn walk<'a>(
    file: &Path,
    list: &'a [Directive],
    scopes: &mut Scopes<'a>,
    upstreams: &[(String, Vec<String>)],
    lilt: &LiltSide,
    report: &mut ProxyReport,
    found: &mut usize,
) {
    for d in list {
        let Some(block) = &d.block else { continue };
        if d.name == "upstream" {
            continue;
        }
        scopes.push(block);
        if d.name == "location" {
            if let Some(pass) = block.iter().find(|x| x.name == "proxy_pass") {
                let loc = d.args.last().cloned().unwrap_or_default();
                if let Some(up) = resolve(pass, upstreams) {
                    if lilt.ports.contains(&up.effective_port()) && up.reaches(&loc, &lilt.ws_path)
                    {
                        *found += 1;
                        check_location(file, d, pass, &up, scopes, lilt, report);
                    } else if lilt.ports.contains(&up.effective_port())
                        && up.reaches(&loc, &lilt.bosh_path)
                    {
                        check_bosh_location(file, d, scopes, lilt, report);
                    }
                }
            }
        }
        walk(file, block, scopes, upstreams, lilt, report, found);
        scopes.pop();
    }
}

/// The upstream URL of a `proxy_pass`, with `upstream` block names replaced by their first
/// server.
fn resolve(pass: &Directive, upstreams: &[(String, Vec<String>)]) -> Option<Upstream> {
    let url = pass.args.first()?;
    let mut up = Upstream::parse(url)?;
    if up.port.is_none() {
        if let Some((_, servers)) = upstreams.iter().find(|(n, _)| *n == up.host) {
            let server = servers.first()?;
            let named = Upstream::parse(&format!("{}://{server}", up.scheme))?;
            up.host = named.host;
            up.port = named.port;
        }
    }
    Some(up)
}

fn value_of<'a>(headers: &[&'a Directive], name: &str) -> Option<&'a Directive> {
    headers
        .iter()
        .rev()
        .find(|d| d.args.first().is_some_and(|n| n.eq_ignore_ascii_case(name)))
        .copied()
}

fn check_location(
    file: &Path,
    location: &Directive,
    pass: &Directive,
    up: &Upstream,
    scopes: &Scopes,
    lilt: &LiltSide,
    report: &mut ProxyReport,
) {
    let at = location.line;
    let mut problem = |line: usize, m: String| report.push(Severity::Problem, file, line, m);
    let version = inherited(scopes, "proxy_http_version").and_then(|d| d.args.first().cloned());
    if version.as_deref() != Some("1.1") {
        problem(at, "proxy_http_version 1.1 is missing: nginx speaks HTTP/1.0 upstream and the WebSocket upgrade cannot happen".into());
    }
    let hs = headers(scopes);
    let arg = |d: &Directive| d.args.get(1).cloned().unwrap_or_default();
    match value_of(&hs, "Upgrade") {
        Some(d) if arg(d) == "$http_upgrade" || arg(d).eq_ignore_ascii_case("websocket") => {}
        Some(d) => problem(d.line, format!("Upgrade is set to {:?}; use $http_upgrade", arg(d))),
        None => problem(at, "proxy_set_header Upgrade $http_upgrade is missing: the upgrade request never reaches Lilt".into()),
    }
    match value_of(&hs, "Connection") {
        Some(d) if arg(d).eq_ignore_ascii_case("upgrade") || arg(d).starts_with('$') => {}
        Some(d) => problem(d.line, format!("Connection is set to {:?}; use \"Upgrade\"", arg(d))),
        None => problem(at, "proxy_set_header Connection \"Upgrade\" is missing: nginx sends Connection: close and the upgrade fails".into()),
    }
    match value_of(&hs, "Host") {
        Some(d) if arg(d) == "$proxy_host" => problem(d.line, "Host is set to $proxy_host: Lilt cannot pick the VirtualHost; use $host".into()),
        Some(_) => {}
        None => problem(at, "Host is not forwarded (proxy_set_header Host $host): Lilt sees the upstream's name and cannot pick the VirtualHost".into()),
    }
    if value_of(&hs, "X-Forwarded-For").is_none() {
        problem(at, "X-Forwarded-For is not set (proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for): Lilt logs the proxy's address instead of the client's".into());
    }
    match value_of(&hs, "X-Forwarded-Proto") {
        Some(d) if arg(d) == "$scheme" || arg(d) == "https" => {}
        Some(d) => report.push(Severity::Warning, file, d.line, format!("X-Forwarded-Proto is {:?}: only \"https\" makes a session secure", arg(d))),
        None => report.push(Severity::Problem, file, at, "X-Forwarded-Proto is not set (proxy_set_header X-Forwarded-Proto $scheme): Lilt cannot tell the client used TLS and treats the session as insecure"),
    }
    let need = lilt.keepalive_secs();
    match inherited(scopes, "proxy_read_timeout") {
        Some(d) => match d.args.first().and_then(|a| parse_nginx_time(a)) {
            Some(t) if t > need => {}
            Some(t) => report.push(Severity::Problem, file, d.line, format!(
                "proxy_read_timeout is {t}s, not above Lilt's {} ({need}s): idle sessions are cut by the proxy", lilt.keepalive_name())),
            None => report.push(Severity::Problem, file, d.line, "proxy_read_timeout has an invalid time"),
        },
        None => report.push(Severity::Problem, file, at, format!(
            "proxy_read_timeout is not set (nginx default 60s), not above Lilt's {} ({need}s): idle sessions are cut by the proxy", lilt.keepalive_name())),
    }
    if let Some(d) = inherited(scopes, "proxy_buffering") {
        if d.args.first().is_some_and(|a| a == "on") {
            report.push(Severity::Warning, file, d.line, "proxy_buffering is on: turn it off for the WebSocket location (the guide's proxy_buffering off)");
        }
    }
    let bind = inherited(scopes, "proxy_bind").and_then(|d| d.args.first().map(String::as_str));
    check_trusted(file, pass.line, up, bind, lilt, report);
}

/// A location proxying to Lilt's BOSH path: the headers Lilt needs, and a long poll held
/// for up to `bosh_max_wait` must neither time out in nginx nor sit in its buffers.
fn check_bosh_location(
    file: &Path,
    location: &Directive,
    scopes: &Scopes,
    lilt: &LiltSide,
    report: &mut ProxyReport,
) {
    let at = location.line;
    let hs = headers(scopes);
    if value_of(&hs, "Host").is_none() {
        report.push(Severity::Problem, file, at, "BOSH: Host is not forwarded (proxy_set_header Host $host): Lilt cannot pick the VirtualHost");
    }
    if value_of(&hs, "X-Forwarded-For").is_none() {
        report.push(Severity::Problem, file, at, "BOSH: X-Forwarded-For is not set (proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for): Lilt logs the proxy's address instead of the client's");
    }
    if value_of(&hs, "X-Forwarded-Proto").is_none() {
        report.push(Severity::Problem, file, at, "BOSH: X-Forwarded-Proto is not set (proxy_set_header X-Forwarded-Proto $scheme): Lilt treats the session as insecure");
    }
    let need = lilt.bosh_max_wait;
    match inherited(scopes, "proxy_read_timeout") {
        Some(d) => match d.args.first().and_then(|a| parse_nginx_time(a)) {
            Some(t) if t > need => {}
            Some(t) => report.push(Severity::Problem, file, d.line, format!(
                "BOSH: proxy_read_timeout is {t}s, not above bosh_max_wait ({need}s): nginx answers held long polls with 504")),
            None => report.push(Severity::Problem, file, d.line, "proxy_read_timeout has an invalid time"),
        },
        None if need >= 60.0 => report.push(Severity::Problem, file, at, format!(
            "BOSH: proxy_read_timeout is not set (nginx default 60s), not above bosh_max_wait ({need}s): nginx answers held long polls with 504")),
        None => {}
    }
    let off = inherited(scopes, "proxy_buffering")
        .is_some_and(|d| d.args.first().is_some_and(|a| a == "off"));
    if !off {
        let line = inherited(scopes, "proxy_buffering").map_or(at, |d| d.line);
        report.push(Severity::Warning, file, line, "BOSH: proxy_buffering is on (nginx's default): set proxy_buffering off so long-poll answers are not held in nginx's buffers");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_blocks_quotes_and_comments() {
        let t = parse("server { listen 443 ssl; # c\n location /x { proxy_set_header Connection \"Upgrade\"; } }").expect("parse");
        assert_eq!(t[0].name, "server");
        let block = t[0].block.as_ref().expect("block");
        assert_eq!(block[0].args, vec!["443", "ssl"]);
        let loc = block[1].block.as_ref().expect("loc");
        assert_eq!(loc[0].args, vec!["Connection", "Upgrade"]);
        assert_eq!(block[1].line, 2);
    }

    #[test]
    fn syntax_errors_have_lines() {
        assert_eq!(parse("server {\n listen 80\n}").map_err(|e| e.line), Err(3));
        assert!(parse("server {\n").is_err());
        assert!(parse("}").is_err());
    }
}
