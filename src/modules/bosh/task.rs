//! One BOSH session at run time: a task that owns the session's [`Window`], receives its
//! HTTP requests from the registry, and talks to the session's c2s side (the ordinary c2s
//! driver with [`BoshFraming`]) through an in-process pipe of records.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::body::{Body, Creation};
use super::framing::BoshFraming;
use super::records::{self, Out};
use super::window::{Actions, Request, Window};
use crate::core::Shared;
use crate::modules::http::Response;
use crate::net::c2s::{drive, C2sSession, SessionSettings, Socket};

/// How a request reaches its session's task.
pub struct Incoming {
    pub body: Body,
    pub reply: oneshot::Sender<Response>,
}

/// Requests of one session queued for its task; more waiting than this means a client
/// far outside the window, refused at once.
const QUEUE: usize = 8;

/// Output already written by the c2s side that joins a response about to leave, at most.
const SETTLE_BYTES: usize = 64 * 1024;

/// Bytes the pipe between the task and its c2s session buffers each way.
const PIPE_BYTES: usize = 64 * 1024;

/// Live sessions by `sid`.
#[derive(Default)]
pub struct Registry {
    sessions: Mutex<HashMap<String, mpsc::Sender<Incoming>>>,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::Sender<Incoming>>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands `incoming` to its session; `false` (and it is dropped) when the sid is
    /// unknown or the session's queue is full.
    pub fn route(&self, sid: &str, incoming: Incoming) -> bool {
        let tx = self.lock().get(sid).cloned();
        tx.is_some_and(|tx| tx.try_send(incoming).is_ok())
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a new session needs besides its first request.
pub struct Spawn {
    pub shared: Arc<Shared>,
    pub settings: Arc<SessionSettings>,
    pub registry: Arc<Registry>,
    pub creation: Creation,
    pub max_inactivity: Duration,
    pub ip: std::net::IpAddr,
    pub secure: bool,
    pub encrypted: bool,
}

/// Creates a session for `first` and starts its two tasks.
pub fn spawn(s: Spawn, first: Incoming) {
    let sid = uuid::Uuid::new_v4().to_string();
    let (task_end, c2s_end) = tokio::io::duplex(PIPE_BYTES);
    let id = s.shared.new_session_id();
    let now = Instant::now();
    let session = Box::new(C2sSession::new(
        s.shared.clone(),
        s.settings.clone(),
        BoshFraming::default(),
        id,
        Some(s.ip),
        s.secure,
        s.encrypted,
        now,
    ));
    let span = tracing::info_span!("bosh", id, ip = %s.ip, sid = %sid);
    tokio::spawn(drive(Socket::boxed(Box::new(c2s_end)), session, None).instrument(span.clone()));
    let (tx, rx) = mpsc::channel(QUEUE);
    s.registry.lock().insert(sid.clone(), tx);
    let rid = first.body.rid().unwrap_or(0);
    let first = Request {
        rid,
        terminate: first.body.is_terminate(),
        broken: first.body.broken,
        payload: first.body.payload,
        reply: first.reply,
    };
    let (window, actions) = Window::new(
        sid,
        s.creation,
        s.max_inactivity,
        s.settings.max_send_buffer,
        first,
        now,
    );
    tokio::spawn(run(window, actions, task_end, rx, s.registry).instrument(span));
}

async fn run(
    mut w: Window<oneshot::Sender<Response>>,
    first: Actions<oneshot::Sender<Response>>,
    pipe: tokio::io::DuplexStream,
    mut rx: mpsc::Receiver<Incoming>,
    registry: Arc<Registry>,
) {
    let (mut rd, mut wr) = tokio::io::split(pipe);
    let mut to_c2s = Vec::new();
    let mut out = Output::default();
    let mut ended = apply(first, &mut to_c2s);
    let far = Duration::from_secs(86_400);
    loop {
        if ended {
            break;
        }
        let deadline = w.deadline().unwrap_or_else(|| Instant::now() + far);
        let sleep = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline));
        tokio::select! {
            incoming = rx.recv() => {
                let Some(i) = incoming else { break };
                let req = Request {
                    rid: i.body.rid().unwrap_or(u64::MAX),
                    terminate: i.body.is_terminate(),
                    broken: i.body.broken,
                    payload: i.body.payload,
                    reply: i.reply,
                };
                ended = apply(w.on_request(req, Instant::now()), &mut to_c2s);
            }
            r = rd.read_buf(&mut out.buf) => {
                if matches!(r, Ok(0) | Err(_)) {
                    // The c2s side ended without a close record (it always writes one
                    // when it can): answer like a close.
                    ended = apply(w.on_close(None), &mut to_c2s);
                    continue;
                }
                ended = out.take(&mut w, &mut to_c2s);
                if !ended && w.can_flush() {
                    // Prosody answers a held request as soon as the session has written
                    // what it had. One turn of the scheduler lets the c2s task finish a
                    // write in progress, so a burst still leaves as one response; a
                    // timer here (it was 1 ms, woken late on a loaded machine) cost most
                    // of a BOSH round trip.
                    ended = out.settle(&mut rd, &mut w, &mut to_c2s).await;
                    ended |= apply(w.flush(Instant::now()), &mut to_c2s);
                }
                out.release();
            }
            w_res = wr.write(&to_c2s), if !to_c2s.is_empty() => match w_res {
                Ok(n) if n > 0 => { to_c2s.drain(..n); }
                _ => break,
            },
            () = sleep => {
                ended = apply(w.on_timer(Instant::now()), &mut to_c2s);
            }
        }
    }
    registry.lock().remove(w.sid());
    // Whatever the c2s side must still hear (the client's close, the silence notice).
    if !to_c2s.is_empty() {
        let _ = tokio::time::timeout(Duration::from_secs(5), wr.write_all(&to_c2s)).await;
    }
    let _ = wr.shutdown().await;
}

/// The session's output records as they come off the pipe.
#[derive(Default)]
struct Output {
    buf: Vec<u8>,
    /// The serialised `<stream:error>` before a close.
    error: Option<String>,
}

impl Output {
    /// Hands every complete record to the window; `true` when the session is over.
    fn take(&mut self, w: &mut Window<oneshot::Sender<Response>>, to_c2s: &mut Vec<u8>) -> bool {
        let mut ended = false;
        while let Some((tag, bytes)) = records::take(&mut self.buf) {
            let text = String::from_utf8_lossy(&bytes);
            let a = match Out::from_tag(tag) {
                Some(Out::Element) => w.buffer_element(&text),
                Some(Out::Error) => {
                    self.error = Some(text.into_owned());
                    continue;
                }
                Some(Out::Restart) => {
                    w.on_restart();
                    continue;
                }
                Some(Out::Close) | None => w.on_close(self.error.as_deref()),
            };
            ended |= apply(a, to_c2s);
        }
        ended
    }

    /// Yields once, then takes whatever more the c2s side has already written, up to
    /// [`SETTLE_BYTES`] and without waiting for it; `true` when the session is over.
    async fn settle<R: tokio::io::AsyncRead + Unpin>(
        &mut self,
        rd: &mut R,
        w: &mut Window<oneshot::Sender<Response>>,
        to_c2s: &mut Vec<u8>,
    ) -> bool {
        tokio::task::yield_now().await;
        let mut taken = 0;
        while taken < SETTLE_BYTES {
            let before = self.buf.len();
            match now_or_never(rd.read_buf(&mut self.buf)) {
                Some(Ok(n)) if n > 0 => taken += self.buf.len() - before,
                // Nothing more yet, or the end (seen again on the next read).
                _ => return false,
            }
            if self.take(w, to_c2s) {
                return true;
            }
        }
        false
    }

    fn release(&mut self) {
        if self.buf.capacity() > PIPE_BYTES && self.buf.is_empty() {
            self.buf = Vec::new();
        }
    }
}

/// Polls `f` once: its output if it is ready now (a read that would wait is dropped; the
/// next real poll registers the task's waker).
fn now_or_never<F: std::future::Future>(f: F) -> Option<F::Output> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::pin!(f).poll(&mut cx) {
        std::task::Poll::Ready(v) => Some(v),
        std::task::Poll::Pending => None,
    }
}

/// Sends the answers and queues the records; `true` when the session is over.
fn apply(a: Actions<oneshot::Sender<Response>>, to_c2s: &mut Vec<u8>) -> bool {
    for (reply, body) in a.answers {
        let _ = reply.send(xml_response(body));
    }
    for (tag, bytes) in a.feed {
        records::put(to_c2s, tag as u8, &bytes);
    }
    a.end
}

/// A BOSH answer: HTTP 200 `text/xml; charset=utf-8`, even for terminations.
pub fn xml_response(body: String) -> Response {
    Response::new(200)
        .with_header("Content-Type", "text/xml; charset=utf-8")
        .with_body(body)
}
