//! The HTTP side (reference §19.3–19.4), a streaming route of the HTTP server: `PUT
//! <base>/<slot>/<name>` with the slot's token writes the body to `<slot>.bin~` as it
//! arrives and renames it into place only when complete (an aborted or short upload
//! leaves nothing served); `GET`/`HEAD` stream the file back in chunks with Prosody's
//! headers, resumption ranges and `If-Modified-Since`. Neither direction holds a file in
//! memory, and neither runs on the core thread.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming};
use tokio::io::{AsyncRead, AsyncSeekExt, AsyncWriteExt};

use crate::modules::http::router::strip_port;
use crate::modules::http::{pages, Cors, CorsSpec, HttpSettings, Request, Response};
use crate::net::http::{to_wire, Body, StreamingReply, StreamingRoute};
use crate::storage::Storage;

use super::options::{type_in, Settings, APP_NAME};
use super::slot::urlencode;
use super::store::{self, Record};
use super::{now, token};

/// Bytes read from disk per chunk of a download (tokio's file reads go through the
/// blocking pool, so a chunk is one hop there).
const CHUNK: usize = 256 * 1024;

/// The route of one upload host.
pub struct FileShareRoute {
    settings: Arc<Settings>,
    store: Arc<Storage>,
}

impl FileShareRoute {
    pub fn new(settings: Arc<Settings>, store: Arc<Storage>) -> Self {
        FileShareRoute { settings, store }
    }

    /// The path below the app's base (`""` for the base itself), if `path` is ours.
    fn rest<'a>(&self, path: &'a str) -> Option<&'a str> {
        let rest = path.strip_prefix(self.settings.base_path.as_str())?;
        if rest.is_empty() {
            return Some("");
        }
        rest.strip_prefix('/')
    }
}

/// The routes of every host that loads the module and serves its files itself (no
/// `http_file_share_base_url`), for the HTTP server.
pub fn routes(shared: &crate::core::Shared) -> Vec<Arc<dyn StreamingRoute>> {
    let config = &shared.config;
    let mut hosts: Vec<&str> = config.virtual_hosts();
    hosts.extend(config.components());
    hosts
        .into_iter()
        .filter(|h| {
            let mods = if config.is_component(h) {
                crate::core::server::component_modules(config, h)
            } else {
                crate::core::server::host_modules(config, h)
            };
            mods.contains(super::options::MODULE)
        })
        .map(|h| Arc::new(Settings::from_config(config, h)))
        .filter(|s| s.external_base_url.is_none())
        .map(|s| Arc::new(FileShareRoute::new(s, shared.store.clone())) as Arc<dyn StreamingRoute>)
        .collect()
}

impl StreamingRoute for FileShareRoute {
    fn claims(&self, request: &Request) -> bool {
        let host_ok = request
            .header("host")
            .map(strip_port)
            .is_some_and(|h| h.eq_ignore_ascii_case(&self.settings.http_host));
        let method_ok = matches!(request.method.as_str(), "PUT" | "GET" | "HEAD" | "OPTIONS");
        host_ok && method_ok && self.rest(&request.path).is_some()
    }

    fn serve(&self, request: Request, body: Incoming, settings: &HttpSettings) -> StreamingReply {
        let settings = settings.clone();
        let me = (self.settings.clone(), self.store.clone());
        let rest = self.rest(&request.path).unwrap_or("").to_owned();
        Box::pin(async move {
            let (share, store) = me;
            let cors = cors(&settings);
            let origin = request.header("origin").map(str::to_owned);
            let finish = |mut r: Response| {
                if let Some(c) = &cors {
                    c.apply(origin.as_deref(), &mut r);
                }
                r
            };
            let errors = |status: u16| pages::error_page(status, None, None, &settings.errors);
            match request.method.as_str() {
                "OPTIONS" => to_wire(finish(Response::new(200))),
                "PUT" => {
                    let r = put(&share, &store, &request, &rest, body).await;
                    to_wire(finish(r.unwrap_or_else(|(s, extra)| {
                        let mut e = errors(s);
                        for (k, v) in extra {
                            e.set_header(k, v);
                        }
                        e
                    })))
                }
                _ if rest.is_empty() => to_wire(finish(endpoint_page(&request))),
                _ => match get(&share, &store, &request, &rest).await {
                    Ok((head, body)) => {
                        let mut wire = to_wire(finish(head));
                        if let Some(b) = body {
                            *wire.body_mut() = b;
                        }
                        wire
                    }
                    Err(s) => to_wire(finish(errors(s))),
                },
            }
        })
    }
}

/// Prosody's `cors` table for the app (credentials, `Authorization`), unless
/// `http_cors_override` changes it.
fn cors(settings: &HttpSettings) -> Option<Cors> {
    let own = CorsSpec {
        enabled: Some(true),
        credentials: Some(true),
        headers: vec![("Authorization".to_owned(), true)],
        origins: None,
    };
    let spec = settings.cors_override.get(APP_NAME).unwrap_or(&own);
    Cors::for_app(&settings.cors, Some(spec), ["PUT", "GET"])
}

fn endpoint_page(request: &Request) -> Response {
    let warning = (!request.secure).then_some("This endpoint is not considered secure!");
    pages::message_page(
        "HTTP Upload endpoint",
        "This is where files will be uploaded to, and served from.",
        warning,
    )
}

type PutError = (u16, Vec<(&'static str, &'static str)>);

fn status(s: u16) -> PutError {
    (s, Vec::new())
}

/// Removes the partial file unless the upload completed.
struct Partial {
    path: PathBuf,
    done: bool,
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

async fn put(
    share: &Settings,
    store: &Storage,
    request: &Request,
    rest: &str,
    mut body: Incoming,
) -> Result<Response, PutError> {
    let Some(tok) = request
        .header("authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
    else {
        return Err((401, vec![("WWW-Authenticate", "Bearer")]));
    };
    let payload = token::verify(&share.secret, tok).map_err(|_| status(401))?;
    let claims = token::Claims::from_payload(&payload).ok_or(status(401))?;
    if claims.exp < now() {
        return Err(status(410));
    }
    if rest.split('/').next() != Some(claims.slot.as_str()) || claims.slot.is_empty() {
        return Err(status(400));
    }
    if let Some(len) = request.header("content-length") {
        if len.trim().parse::<u64>().ok() != Some(claims.filesize) {
            return Err(status(413));
        }
    }
    let target = store::file_path(store, &share.host, &claims.slot).map_err(|_| status(500))?;
    if tokio::fs::metadata(&target).await.is_ok() {
        return Err(status(409));
    }
    if let Some(dir) = target.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|_| status(500))?;
    }
    let mut partial_name = target.clone().into_os_string();
    partial_name.push("~");
    let mut partial = Partial {
        path: PathBuf::from(partial_name),
        done: false,
    };
    let mut file = tokio::fs::File::create(&partial.path).await.map_err(|e| {
        tracing::error!(path = %partial.path.display(), %e, "could not open upload for writing");
        status(500)
    })?;
    let mut written: u64 = 0;
    while let Some(frame) = body.frame().await {
        // A client that goes away mid-body: the partial file goes with `partial`.
        let frame = frame.map_err(|_| status(400))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        written += data.len() as u64;
        if written > claims.filesize {
            return Err(status(413));
        }
        file.write_all(&data).await.map_err(|_| status(500))?;
    }
    file.flush().await.map_err(|_| status(500))?;
    drop(file);
    if written != claims.filesize {
        // Too short as well as too long: Prosody says the same.
        return Err(status(413));
    }
    tokio::fs::rename(&partial.path, &target)
        .await
        .map_err(|_| status(500))?;
    partial.done = true;
    tracing::debug!(slot = %claims.slot, size = written, "upload complete");
    Ok(Response::new(201))
}

async fn get(
    share: &Settings,
    store: &Arc<Storage>,
    request: &Request,
    rest: &str,
) -> Result<(Response, Option<Body>), u16> {
    let slot = rest.split('/').next().unwrap_or("").to_owned();
    let (st, host, s) = (store.clone(), share.host.clone(), slot.clone());
    let record = tokio::task::spawn_blocking(move || {
        let rec = store::lookup(&st, &host, &s);
        let path = store::file_path(&st, &host, &s);
        (rec, path)
    })
    .await
    .map_err(|_| 500u16)?;
    let (Ok(Some(rec)), Ok(path)) = record else {
        return Err(404);
    };
    download(share, request, &rec, &path).await
}

/// The `Last-Modified` form of a Unix time.
fn http_date(when: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(when.max(0) as u64);
    httpdate::fmt_http_date(t)
}

/// Prosody's resumption ranges: `bytes=N-` or `bytes=N-<size>` with N > 0. `Ok(None)`:
/// serve the whole file; `Err(())`: 416.
fn range(header: Option<&str>, size: u64) -> Result<Option<u64>, ()> {
    let Some(spec) = header.and_then(|h| h.strip_prefix("bytes=")) else {
        return Ok(None);
    };
    let Some((start, end)) = spec.split_once('-') else {
        return Ok(None);
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if start.is_empty() || !digits(start) || !digits(end) {
        return Ok(None);
    }
    if start == "0" || !(end.is_empty() || end == size.to_string()) {
        return Ok(None);
    }
    match start.parse::<u64>() {
        Ok(pos) if pos < size => Ok(Some(pos)),
        _ => Err(()),
    }
}

async fn download(
    share: &Settings,
    request: &Request,
    rec: &Record,
    path: &std::path::Path,
) -> Result<(Response, Option<Body>), u16> {
    let last_modified = http_date(rec.when);
    // Lilt adds an ETag: the slot id names immutable content.
    let etag = format!("\"{}\"", rec.slot);
    if request.header("if-modified-since") == Some(last_modified.as_str())
        || request.header("if-none-match") == Some(etag.as_str())
    {
        return Ok((Response::new(304), None));
    }
    let mut file = tokio::fs::File::open(path).await.map_err(|_| 410u16)?;
    let start = range(request.header("range"), rec.size).map_err(|()| 416u16)?;
    let pos = start.unwrap_or(0);
    if pos > 0 {
        file.seek(std::io::SeekFrom::Start(pos))
            .await
            .map_err(|_| 416u16)?;
    }
    let filetype = rec
        .filetype
        .clone()
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    let disposition = if type_in(&share.safe_types, &filetype) {
        "inline"
    } else {
        "attachment"
    };
    let length = rec.size - pos;
    let mut head = Response::new(if start.is_some() { 206 } else { 200 })
        .with_header("Last-Modified", last_modified)
        .with_header("ETag", etag)
        .with_header("Content-Length", length.to_string())
        .with_header("Content-Type", filetype)
        .with_header(
            "Content-Disposition",
            format!(
                "{disposition}; filename*=UTF-8''{}",
                urlencode(&rec.filename)
            ),
        );
    if start.is_some() {
        head.set_header(
            "Content-Range",
            format!("bytes {pos}-{}/{}", rec.size, rec.size),
        );
    }
    for (k, v) in [
        ("Accept-Ranges", "bytes"),
        ("Cache-Control", "max-age=31556952, immutable"),
        (
            "Content-Security-Policy",
            "default-src 'none'; frame-ancestors 'none';",
        ),
        ("Strict-Transport-Security", "max-age=31556952"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("X-XSS-Protection", "1; mode=block"),
    ] {
        head.set_header(k, v);
    }
    if request.method == "HEAD" {
        return Ok((head, None));
    }
    Ok((head, Some(file_body(file, length))))
}

/// `length` bytes of `file` from where it stands, one chunk at a time.
fn file_body(file: tokio::fs::File, length: u64) -> Body {
    FileBody { file, left: length }.boxed()
}

/// A download: reads the next chunk only when hyper asks for it, so a slow reader holds
/// one chunk, not the file.
struct FileBody {
    file: tokio::fs::File,
    left: u64,
}

impl hyper::body::Body for FileBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        use std::task::Poll;
        let me = self.get_mut();
        if me.left == 0 {
            return Poll::Ready(None);
        }
        let want = CHUNK.min(usize::try_from(me.left).unwrap_or(CHUNK));
        // A fresh buffer per chunk becomes the frame itself, with no copy; a pending read
        // keeps its data inside tokio's file, so nothing is lost by dropping this one.
        let mut chunk = bytes::BytesMut::zeroed(want);
        let mut rb = tokio::io::ReadBuf::new(&mut chunk[..]);
        match std::pin::Pin::new(&mut me.file).poll_read(cx, &mut rb) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => {
                me.left = 0;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(Ok(())) if rb.filled().is_empty() => {
                me.left = 0;
                Poll::Ready(Some(Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "upload shorter than its record",
                ))))
            }
            Poll::Ready(Ok(())) => {
                let n = rb.filled().len();
                chunk.truncate(n);
                me.left -= n as u64;
                Poll::Ready(Some(Ok(Frame::data(chunk.freeze()))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.left)
    }
}

#[cfg(test)]
mod tests {
    use super::range;

    #[test]
    fn only_resumption_ranges_are_honoured() {
        assert_eq!(range(Some("bytes=10-"), 100), Ok(Some(10)));
        assert_eq!(range(Some("bytes=10-100"), 100), Ok(Some(10)));
        assert_eq!(range(Some("bytes=0-"), 100), Ok(None));
        assert_eq!(range(Some("bytes=10-20"), 100), Ok(None));
        assert_eq!(range(Some("bytes=-20"), 100), Ok(None));
        assert_eq!(range(Some("bytes=100-"), 100), Err(()));
        assert_eq!(range(None, 100), Ok(None));
    }
}
