//! mod_http_files: serves a directory over HTTP as the app `files` (reference §6.2: the
//! app name is the module name minus `http_`, so without `http_paths` it lives under
//! `/files`). Options as Prosody's: `http_files_dir` (relative to the config directory;
//! `http_path` is the old name), `http_index_files` (default `index.html`, `index.htm`).
//! Paths are URL-decoded per segment, `..` may not climb out of the directory (400),
//! missing files are 404, a directory without its trailing slash is redirected (301), a
//! directory without an index file is 403 (no directory listings), and `ETag` /
//! `Last-Modified` allow 304 answers.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use crate::config::Config;
use crate::modules::http::{App, Handler, Reply, Request, Response};

/// Name for `http_paths`.
pub const APP_NAME: &str = "files";

/// What one host serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilesSettings {
    pub dir: Option<PathBuf>,
    pub index_files: Vec<String>,
}

impl FilesSettings {
    pub fn from_config(config: &Config, host: &str) -> Self {
        let s = config.host(host);
        let dir = s
            .path("http_files_dir", config.config_dir())
            .or_else(|| s.path("http_path", config.config_dir()));
        let index_files = if s.get("http_index_files").is_some() {
            s.strings("http_index_files")
        } else {
            vec!["index.html".into(), "index.htm".into()]
        };
        FilesSettings { dir, index_files }
    }
}

/// The app: `GET /*` under the base path.
pub fn app(settings: Arc<FilesSettings>) -> App {
    App::new(APP_NAME).route(
        "GET /*",
        Handler::new(move |req, rest| serve(req, rest, &settings)),
    )
}

/// Content types Prosody knows without `/etc/mime.types`, then that file.
pub fn content_type(ext: &str) -> Option<String> {
    let known = match ext.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html",
        "xml" => "application/xml",
        "txt" => "text/plain",
        "css" => "text/css",
        "js" => "application/javascript",
        "png" => "image/png",
        "gif" => "image/gif",
        "jpeg" | "jpg" => "image/jpeg",
        "svg" => "image/svg+xml",
        other => return mime_types_lookup(other),
    };
    Some(known.to_owned())
}

fn mime_types_lookup(ext: &str) -> Option<String> {
    let text = std::fs::read_to_string("/etc/mime.types").ok()?;
    let found = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let mut parts = line.split_whitespace();
            let typ = parts.next()?;
            parts.any(|e| e == ext).then(|| typ.to_owned())
        });
    Some(found.unwrap_or_else(|| "application/octet-stream".to_owned()))
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        if let Some(v) = hex
            .filter(|_| b[i] == b'%')
            .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Prosody's sanitize_path: decoded segments, `.` dropped, `..` popping (never above the
/// root), `/` or NUL inside a segment refused. Keeps a trailing slash.
pub fn sanitize(path: &str) -> Option<String> {
    let mut out: Vec<String> = Vec::new();
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        let seg = percent_decode(seg)?;
        if seg.contains('/') || seg.contains('\0') {
            return None;
        }
        match seg.as_str() {
            "." => {}
            ".." => {
                out.pop()?;
            }
            _ => out.push(seg),
        }
    }
    let mut s = format!("/{}", out.join("/"));
    if path.ends_with('/') && !s.ends_with('/') {
        s.push('/');
    }
    Some(s)
}

fn serve(req: &Request, rest: &str, settings: &FilesSettings) -> Reply {
    let Some(base) = &settings.dir else {
        return Reply::Status(404);
    };
    let Some(path) = sanitize(rest) else {
        return Reply::Status(400);
    };
    serve_path(req, base, &path, settings, true)
}

fn serve_path(
    req: &Request,
    base: &Path,
    path: &str,
    settings: &FilesSettings,
    index: bool,
) -> Reply {
    let full = base.join(path.trim_start_matches('/'));
    let Ok(meta) = std::fs::metadata(&full) else {
        return Reply::Status(404);
    };
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let last_modified = httpdate::fmt_http_date(UNIX_EPOCH + std::time::Duration::from_secs(mtime));
    let etag = format!("\"{:x}-{:x}-{:x}\"", mtime, meta.len(), mtime);
    let inm = req.header("if-none-match");
    if inm == Some(etag.as_str())
        || (inm.is_none() && req.header("if-modified-since") == Some(last_modified.as_str()))
    {
        return Reply::Response(
            Response::new(304)
                .with_header("ETag", etag)
                .with_header("Last-Modified", last_modified),
        );
    }
    if meta.is_dir() {
        if !path.ends_with('/') {
            // The request path as the client sent it, plus the slash.
            let location = format!("{}/", req.path.trim_end_matches('/'));
            return Reply::Response(Response::new(301).with_header("Location", location));
        }
        if index {
            for name in &settings.index_files {
                if full.join(name).is_file() {
                    return serve_path(req, base, &format!("{path}{name}"), settings, false);
                }
            }
        }
        return Reply::Status(403);
    }
    let Ok(body) = std::fs::read(&full) else {
        return Reply::Status(403);
    };
    let mut resp = Response::new(200)
        .with_header("ETag", etag)
        .with_header("Last-Modified", last_modified)
        .with_body(body);
    if let Some(ct) = full
        .extension()
        .and_then(|e| e.to_str())
        .and_then(content_type)
    {
        resp.set_header("Content-Type", ct);
    }
    Reply::Response(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_keeps_paths_inside_the_root() {
        assert_eq!(sanitize("/a/./b/../c.txt").as_deref(), Some("/a/c.txt"));
        assert_eq!(sanitize("/../etc/passwd"), None);
        assert_eq!(sanitize("/a%2fb"), None, "an encoded slash is refused");
        assert_eq!(sanitize("/dir/").as_deref(), Some("/dir/"));
        assert_eq!(sanitize("").as_deref(), Some("/"));
        assert_eq!(sanitize("/sp%20ace.html").as_deref(), Some("/sp ace.html"));
    }

    #[test]
    fn known_types_need_no_mime_database() {
        assert_eq!(
            content_type("JS").as_deref(),
            Some("application/javascript")
        );
        assert_eq!(content_type("html").as_deref(), Some("text/html"));
    }
}
