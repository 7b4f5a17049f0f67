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

/// Output is sent once the session has been quiet this long after its last element...
const SETTLE: Duration = Duration::from_millis(1);
/// ...or this long after the first unsent one.
const SETTLE_MAX: Duration = Duration::from_millis(10);

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
    let mut from_c2s = Vec::new();
    let mut error: Option<String> = None;
    let mut ended = apply(first, &mut to_c2s);
    let far = Duration::from_secs(86_400);
    // Output waiting to be flushed: at the latest at `settle`, or once quiet at `quiet_at`.
    let mut settle: Option<Instant> = None;
    let mut quiet_at = Instant::now();
    loop {
        if ended {
            break;
        }
        let mut deadline = w.deadline().unwrap_or_else(|| Instant::now() + far);
        if let Some(cap) = settle {
            if w.can_flush() {
                deadline = deadline.min(cap.min(quiet_at));
            } else {
                settle = None;
            }
        }
        let sleep = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline));
        tokio::select! {
            incoming = rx.recv() => {
                let Some(i) = incoming else { break };
                let req = Request {
                    rid: i.body.rid().unwrap_or(u64::MAX),
                    terminate: i.body.is_terminate(),
                    payload: i.body.payload,
                    reply: i.reply,
                };
                ended = apply(w.on_request(req, Instant::now()), &mut to_c2s);
            }
            r = rd.read_buf(&mut from_c2s) => {
                if matches!(r, Ok(0) | Err(_)) {
                    // The c2s side ended without a close record (it always writes one
                    // when it can): answer like a close.
                    ended = apply(w.on_close(None), &mut to_c2s);
                    continue;
                }
                let now = Instant::now();
                while let Some((tag, bytes)) = records::take(&mut from_c2s) {
                    let text = String::from_utf8_lossy(&bytes);
                    let a = match Out::from_tag(tag) {
                        Some(Out::Element) => {
                            settle.get_or_insert(now + SETTLE_MAX);
                            quiet_at = now + SETTLE;
                            w.buffer_element(&text)
                        }
                        Some(Out::Error) => {
                            error = Some(text.into_owned());
                            continue;
                        }
                        Some(Out::Restart) => {
                            w.on_restart();
                            continue;
                        }
                        Some(Out::Close) | None => w.on_close(error.as_deref()),
                    };
                    ended |= apply(a, &mut to_c2s);
                }
                if from_c2s.capacity() > PIPE_BYTES && from_c2s.is_empty() {
                    from_c2s = Vec::new();
                }
            }
            w_res = wr.write(&to_c2s), if !to_c2s.is_empty() => match w_res {
                Ok(n) if n > 0 => { to_c2s.drain(..n); }
                _ => break,
            },
            () = sleep => {
                let now = Instant::now();
                if settle.is_some_and(|cap| cap.min(quiet_at) <= now) {
                    settle = None;
                    ended = apply(w.flush(now), &mut to_c2s);
                }
                ended |= apply(w.on_timer(now), &mut to_c2s);
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
