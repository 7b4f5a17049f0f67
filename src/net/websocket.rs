//! The connection task of one XMPP-over-WebSocket session: RFC 6455 frames in and out,
//! RFC 7395 framing conversion, the XML stream parser and the c2s state machine, with
//! the keepalive, unauthenticated and close timers (reference §5.4–5.7).

use std::sync::Arc;
use std::time::Duration;

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf, ReadHalf, WriteHalf};
use tokio::time::Instant;
use tracing::Instrument;

use crate::core::{CoreMsg, Outbound, Shared};
use crate::modules::c2s::stream::{Action, C2sStream};
use crate::modules::limits::{SessionKind, SessionLimits};
use crate::modules::openmetrics::{metrics, monitor, LimitKind, Transport};
use crate::modules::websocket::conversion::{frame_to_stream, open_frame, CLOSE_FRAME};
use crate::modules::websocket::framing::{
    encode_close, encode_ping, encode_pong, encode_text, Frame, FrameDecoder, FrameError,
};
use crate::modules::websocket::keepalive::{Keepalive, KeepaliveAction, KeepaliveConfig};
use crate::modules::websocket::options::{EdgeOptions, Monitoring};
use crate::net::c2s_session;
use crate::net::http::{AsyncReadWrite, WsIo};
use crate::xml::{Element, Limits, StreamEvent, StreamParser, XmlError};
use crate::xmpp::error::stream_error;
use crate::xmpp::ns;

/// What the HTTP layer knows about the upgraded request.
#[derive(Debug, Clone)]
pub struct WsInfo {
    pub ip: Option<std::net::IpAddr>,
    pub secure: bool,
    /// `network_settings.max_send_buffer_size`: output the peer has not taken yet beyond
    /// this drops the session.
    pub max_send_buffer: usize,
}

thread_local! {
    /// Serialisation scratch of the worker thread running a connection's task; used
    /// between awaits only, so sessions share it instead of each holding one.
    static SCRATCH: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Largest scratch string kept after a serialisation (a rare large stanza gives its
/// buffer back).
const SCRATCH_KEEP: usize = 16 * 1024;

/// A busy stream quiet this long gives back its parser and frame buffers.
const IDLE_TRIM: Duration = Duration::from_secs(2);

/// Reads closer together than this count towards making a stream busy.
const BUSY_GAP: Duration = Duration::from_millis(100);

/// Quick reads in a row after which a stream keeps its parser and frame buffers between
/// stanzas (about ten allocations a stanza saved) until it is quiet for [`IDLE_TRIM`].
/// Fewer, and they are given back after each read as before: logins and idle sessions
/// (a handful of stanzas, then silence) never hold them, so thousands of sessions logging
/// in together do not all hold buffers at once.
const WARM_AFTER: u8 = 8;

/// Appends `el` to `out` as one text frame. Serialised into the worker thread's scratch
/// string first: on a busy stream neither allocates (`out` keeps its capacity until the
/// idle trim).
fn frame_element(el: &Element, out: &mut Vec<u8>) {
    SCRATCH.with_borrow_mut(|text| {
        text.clear();
        write_element_frame(el, text);
        encode_text(text, out);
        if text.capacity() > SCRATCH_KEEP {
            *text = String::new();
        }
    });
}

/// Serialises an outgoing element the way Prosody frames it: stanzas carry
/// `xmlns='jabber:client'`, stream-level elements the `stream:` prefix.
pub fn element_frame(el: &Element) -> String {
    // A chat message with its stamped `from` is usually over 128 bytes.
    let mut s = String::with_capacity(256);
    write_element_frame(el, &mut s);
    s
}

/// Appends what [`element_frame`] returns to `s`.
fn write_element_frame(el: &Element, s: &mut String) {
    if el.ns == ns::STREAMS {
        s.push_str("<stream:");
        s.push_str(&el.name);
        s.push_str(" xmlns='jabber:client' xmlns:stream='");
        s.push_str(ns::STREAMS);
        s.push('\'');
        for (k, v) in &el.attrs {
            s.push(' ');
            s.push_str(k);
            s.push_str("='");
            crate::xml::escape(v, s);
            s.push('\'');
        }
        if el.children.is_empty() {
            s.push_str("/>");
            return;
        }
        s.push('>');
        for child in &el.children {
            match child {
                crate::xml::Node::Element(c) => c.write_xml(s, ns::STREAMS),
                crate::xml::Node::Text(t) => crate::xml::escape(t, s),
            }
        }
        s.push_str("</stream:");
        s.push_str(&el.name);
        s.push('>');
        return;
    }
    el.write_xml(s, "");
}

enum Flow {
    Continue,
    /// Close frame already queued; drop the connection after flushing.
    Drop,
}

struct Conn {
    shared: Arc<Shared>,
    id: u64,
    info: WsInfo,
    stream: C2sStream,
    parser: StreamParser,
    out: Vec<u8>,
    tx: crate::core::OutboundTx,
    bound: bool,
    /// Set when we sent `<close/>` and wait for the client's.
    closing_since: Option<Instant>,
    keepalive: Keepalive,
    /// `websocket_max_frame_size`: oversized frames close with 1009 instead of Prosody's
    /// stream error.
    max_frame_size: Option<usize>,
    /// Why the connection failed, for monitoring (`None`: ended normally).
    failure: Option<&'static str>,
    /// mod_limits: read rate and failed-login throttling.
    limits: SessionLimits,
}

/// A session's socket, read and written through shared references so that the read and
/// the write of one turn of the loop can wait side by side.
enum Socket {
    /// Plain TCP, used in place: split halves would cost every session an `Arc` around the
    /// socket and a boxed writer. Waits for readiness first, so an idle session holds no
    /// read buffer.
    Tcp(tokio::net::TcpStream),
    /// Anything else (TLS), split; a half is locked only within one poll.
    Boxed {
        rd: std::sync::Mutex<ReadHalf<Box<dyn AsyncReadWrite>>>,
        wr: std::sync::Mutex<WriteHalf<Box<dyn AsyncReadWrite>>>,
    },
}

/// Bytes taken from the socket per read (Prosody's network read size).
const READ_SIZE: usize = 8192;

/// A half of a split socket; one poll holds it at a time, so a poisoned lock is just free.
fn lock<T>(half: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    half.lock().unwrap_or_else(|e| e.into_inner())
}

impl Socket {
    fn new(io: Box<dyn AsyncReadWrite>) -> Socket {
        let (rd, wr) = tokio::io::split(io);
        Socket::Boxed {
            rd: std::sync::Mutex::new(rd),
            wr: std::sync::Mutex::new(wr),
        }
    }

    /// Reads what the socket has and hands it to the frame decoder. A `poll_fn`, not an
    /// `async fn`: the future is its two references, which every idle session keeps.
    fn read_into<'a>(
        &'a self,
        decoder: &'a mut FrameDecoder,
    ) -> impl Future<Output = std::io::Result<usize>> + 'a {
        std::future::poll_fn(move |cx| match self {
            Socket::Tcp(s) => loop {
                // poll_read_ready keeps the waiter in the socket's own slot; `readable()`
                // would put a ~200-byte waiter future in every idle session's task.
                std::task::ready!(s.poll_read_ready(cx))?;
                match try_read_tcp(s, decoder) {
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    r => return Poll::Ready(r),
                }
            },
            Socket::Boxed { rd, .. } => {
                // A buffer of this poll's stack frame, not of the future.
                let mut chunk = [0u8; READ_SIZE];
                let mut buf = ReadBuf::new(&mut chunk);
                std::task::ready!(Pin::new(&mut *lock(rd)).poll_read(cx, &mut buf))?;
                decoder.feed(buf.filled());
                Poll::Ready(Ok(buf.filled().len()))
            }
        })
    }

    /// Writes some of `buf`: how much the socket took.
    fn write<'a>(&'a self, buf: &'a [u8]) -> impl Future<Output = std::io::Result<usize>> + 'a {
        std::future::poll_fn(move |cx| match self {
            Socket::Tcp(s) => loop {
                std::task::ready!(s.poll_write_ready(cx))?;
                match s.try_write(buf) {
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    r => return Poll::Ready(r),
                }
            },
            Socket::Boxed { wr, .. } => Pin::new(&mut *lock(wr)).poll_write(cx, buf),
        })
    }

    async fn write_all(&self, mut buf: &[u8]) -> std::io::Result<()> {
        while !buf.is_empty() {
            match self.write(buf).await? {
                0 => return Err(std::io::ErrorKind::WriteZero.into()),
                n => buf = &buf[n..],
            }
        }
        Ok(())
    }

    async fn shutdown(&mut self) -> std::io::Result<()> {
        match self {
            Socket::Tcp(s) => s.shutdown().await,
            Socket::Boxed { wr, .. } => {
                let wr = wr.get_mut().unwrap_or_else(|e| e.into_inner());
                wr.shutdown().await
            }
        }
    }
}

/// One non-blocking read through a stack buffer: the readiness wait above it holds no heap
/// buffer (a `reserve` before a read that would block kept 4 KiB in every idle session),
/// and the buffer is not part of the task's future since no `.await` spans it.
fn try_read_tcp(r: &tokio::net::TcpStream, decoder: &mut FrameDecoder) -> std::io::Result<usize> {
    let mut chunk = [0u8; READ_SIZE];
    let n = r.try_read(&mut chunk)?;
    decoder.feed(&chunk[..n]);
    Ok(n)
}

/// Bytes of one connection, for `connection_monitoring`.
#[derive(Debug, Default)]
struct ConnStats {
    bytes_in: u64,
    bytes_out: u64,
}

/// Runs one WebSocket XMPP session to its end, inside a span carrying the session id and the
/// client's address (after `trusted_proxies`), so every log line of the session names both.
///
/// A plain function, not an `async fn`: an async fn keeps its arguments in its future for
/// the session's whole life (beside the moved copies), and so would a wrapper around `run`.
pub fn serve(
    io: WsIo,
    info: WsInfo,
    shared: Arc<Shared>,
) -> impl std::future::Future<Output = ()> + Send {
    let id = shared.new_session_id();
    // The address string is only needed to build the span, not for the session's life.
    let span = {
        let ip = info.ip.map(|ip| ip.to_string()).unwrap_or_default();
        tracing::info_span!("websocket", id, ip = %ip)
    };
    run(Box::new(Args { io, info, shared }), id).instrument(span)
}

/// `run`'s arguments in one allocation, freed once the session is set up: the future keeps
/// a pointer, not the socket, request info and prefix twice.
struct Args {
    io: WsIo,
    info: WsInfo,
    shared: Arc<Shared>,
}

/// What the session loop keeps, built synchronously so that setup-only values (the edge
/// options, the c2s settings handle) are not locals of the async fn and so take no space in
/// every idle session's future.
struct Setup {
    conn: Conn,
    io: Socket,
    rx: crate::core::outbound::OutboundRx,
    decoder: FrameDecoder,
    monitoring: Monitoring,
    unauth_deadline: Instant,
    close_timeout: Duration,
    send_timeout: Duration,
    /// Frames arrived together with the upgrade request and wait in the decoder.
    early: bool,
}

/// Takes the boxed arguments by value so that their allocation is freed here, not kept
/// (emptied) until the session ends.
#[allow(clippy::boxed_local)] // the box is the point: it is freed on return
fn setup(args: Box<Args>, id: u64) -> Setup {
    let Args { io, info, shared } = *args;
    let (io, prefix) = match io {
        WsIo::Tcp { stream, prefix } => (Socket::Tcp(stream), prefix),
        WsIo::Other(io) => (Socket::new(io), bytes::Bytes::new()),
    };
    let c2s = shared.c2s.clone();
    let secure = info.secure || c2s.consider_websocket_secure;
    let (tx, rx) = crate::core::outbound::channel();
    let edge = EdgeOptions::from_config(&shared.config);
    let read_timeout = Duration::from_secs_f64(c2s.read_timeout.max(0.001));
    let keepalive = Keepalive::new(
        KeepaliveConfig {
            read_timeout,
            ping_interval: edge.ping_interval,
            pong_timeout: edge.pong_timeout,
        },
        Instant::now().into_std(),
    );
    let conn = Conn {
        id,
        stream: C2sStream::new(secure)
            .with_feature_hooks(shared.feature_hooks.clone(), c2s_session::unix_now()),
        parser: StreamParser::new(Limits {
            max_stanza_bytes: c2s.unauthed_stanza_size_limit,
            max_child_elements: c2s.max_child_elements,
            ..Limits::default()
        })
        .with_default_lang("en"),
        out: Vec::new(),
        tx,
        bound: false,
        closing_since: None,
        keepalive,
        max_frame_size: edge.max_frame_size,
        failure: None,
        limits: SessionLimits::new(&shared, SessionKind::WebSocket, info.ip),
        info,
        shared,
    };
    let mut decoder = FrameDecoder::new(
        edge.max_frame_size.unwrap_or(c2s.stanza_size_limit),
        edge.frame_buffer_limit.unwrap_or(c2s.frame_buffer_limit),
    );
    // The prefix may share hyper's whole read buffer: it goes here, not at the end.
    decoder.feed(&prefix);
    Setup {
        conn,
        io,
        rx,
        decoder,
        // Only the monitoring settings are needed after setup.
        monitoring: edge.monitoring,
        unauth_deadline: Instant::now() + Duration::from_secs_f64(c2s.c2s_timeout.max(0.001)),
        close_timeout: edge
            .close_timeout
            .unwrap_or_else(|| Duration::from_secs_f64(c2s.close_timeout.max(0.0))),
        send_timeout: Duration::from_secs_f64(c2s.send_timeout.max(0.001)),
        early: !prefix.is_empty(),
    }
}

async fn run(args: Box<Args>, id: u64) {
    metrics().connection_opened(Transport::Websocket);
    // Used through its fields, not destructured: a struct whose fields were moved out
    // still takes its room in the future, beside the moved copies.
    let mut st = setup(args, id);
    // While throttled the socket is simply not read: back-pressure, no buffering.
    let mut read_resume: Option<Instant> = None;
    let mut stats = ConnStats::default();
    let mut disconnect_reason: Option<&'static str> = None;
    // Frames that arrived together with the upgrade request.
    let mut early = if st.early {
        Some(Box::pin(st.conn.on_frames(&mut st.decoder)).await)
    } else {
        None
    };

    // Output waits here while the peer is slow; it is written as the socket accepts it, so
    // the core's queue keeps draining. Over `max_send_buffer_size` the session is dropped,
    // and a write that makes no progress for `send_timeout` ends it ("write timeout").
    let mut pending: Vec<u8> = Vec::new();
    let mut written = 0usize;
    let mut write_deadline: Option<Instant> = None;
    // Last read + IDLE_TRIM: when a busy stream's buffers are given back.
    let mut trim_at: Option<Instant> = None;
    // Quick reads in a row (see WARM_AFTER).
    let mut quick: u8 = 0;
    // One timer for every deadline (read throttle, write, keepalive, unauthenticated,
    // close): five `Sleep`s in the select kept five timer entries in each idle session's
    // future and re-registered them on every loop turn. The timer is re-armed only when
    // the earliest deadline moves earlier; a wake before anything is due just re-arms.
    let timer = tokio::time::sleep_until(st.unauth_deadline);
    tokio::pin!(timer);
    // Whether the timer is set; its deadline is read back from the `Sleep`.
    let mut armed = true;
    loop {
        // A function, not a local: a compared local would be kept across the wait below.
        if let Some(next) = rearm(
            armed,
            timer.deadline(),
            Deadlines::of(
                &st.conn,
                read_resume,
                write_deadline,
                st.unauth_deadline,
                st.close_timeout,
            ),
            trim_at,
        ) {
            timer.as_mut().reset(next);
            armed = true;
        }
        let flow = if let Some(f) = early.take() {
            f
        } else {
            tokio::select! {
                r = st.io.read_into(&mut st.decoder), if read_resume.is_none() => {
                    match r {
                        Ok(0) | Err(_) => {
                            disconnect_reason = Some("connection closed");
                            break;
                        }
                        Ok(n) => {
                            let now = Instant::now();
                            st.conn.keepalive.on_receive(now.into_std());
                            let last = trim_at.map(|t| t - IDLE_TRIM);
                            quick = match last {
                                Some(last) if now - last < BUSY_GAP => quick.saturating_add(1),
                                _ => 0,
                            };
                            trim_at = Some(now + IDLE_TRIM);
                            stats.bytes_in += n as u64;
                            metrics().bytes_in(Transport::Websocket, n);
                            if let Some(pause) = st.conn.limits.after_read(n) {
                                metrics().limit_hit(LimitKind::Rate);
                                read_resume = Some(Instant::now() + pause);
                            }
                            // Boxed: parsing and login steps nest several futures, which
                            // inline would size every idle session's task for them.
                            Box::pin(st.conn.on_frames(&mut st.decoder)).await
                        }
                    }
                }
                w = st.io.write(&pending[written..]), if written < pending.len() => {
                    match w {
                        Ok(0) | Err(_) => {
                            disconnect_reason = Some("write error");
                            break;
                        }
                        Ok(n) => {
                            written += n;
                            write_deadline = Some(Instant::now() + st.send_timeout);
                            Flow::Continue
                        }
                    }
                }
                Some(mut batch) = st.rx.recv_all() => {
                    let flow = st.conn.on_outbound_batch(&mut batch);
                    if quick >= WARM_AFTER {
                        // Busy: the core's next sends reuse the queue's memory instead
                        // of allocating on its thread what this one frees.
                        st.rx.recycle(batch);
                    }
                    flow
                }
                () = &mut timer => {
                    armed = false;
                    // Rebuilt rather than kept from before the wait: nothing it reads
                    // changed meanwhile, and kept it would take 80 bytes of every idle
                    // session's task.
                    let deadlines =
                        Deadlines::of(&st.conn, read_resume, write_deadline, st.unauth_deadline, st.close_timeout);
                    let now = Instant::now();
                    match deadlines.due(now) {
                        None if trim_at.is_some_and(|t| t <= now) => {
                            trim_at = None;
                            quick = 0;
                            Flow::Continue
                        }
                        None => Flow::Continue,
                        Some(Due::Write) => {
                            disconnect_reason = Some("write timeout");
                            break;
                        }
                        Some(Due::Closing) => {
                            encode_close(1000, "Stream closed", &mut st.conn.out);
                            Flow::Drop
                        }
                        Some(Due::Unauthenticated) => {
                            st.conn.close_with(Some(stream_error("connection-timeout", None, None)))
                        }
                        Some(Due::ReadResume) => {
                            read_resume = None;
                            Flow::Continue
                        }
                        Some(Due::Keepalive) => {
                            // Prosody pings after read_timeout of silence; websocket_ping_interval
                            // and websocket_pong_timeout refine that (see keepalive.rs).
                            match st.conn.keepalive.poll(Instant::now().into_std()) {
                                Some(KeepaliveAction::Ping(payload)) => {
                                    encode_ping(&payload, &mut st.conn.out);
                                    Flow::Continue
                                }
                                Some(KeepaliveAction::TimedOut) => {
                                    tracing::info!("No pong within websocket_pong_timeout; closing the session");
                                    metrics().limit_hit(LimitKind::PongTimeout);
                                    st.conn.failure = Some("ping timeout");
                                    disconnect_reason = Some("ping timeout");
                                    st.conn.close_with(Some(stream_error(
                                        "connection-timeout",
                                        Some("No pong received in time"),
                                        None,
                                    )))
                                }
                                None => Flow::Continue,
                            }
                        }
                    }
                }
            }
        };
        if written == pending.len() {
            // All written. The buffer is kept for the next write while the stream is
            // busy; the idle trim gives it back.
            pending.clear();
            written = 0;
            write_deadline = None;
        }
        if !st.conn.out.is_empty() {
            if write_deadline.is_none() {
                write_deadline = Some(Instant::now() + st.send_timeout);
            }
            stats.bytes_out += st.conn.out.len() as u64;
            metrics().bytes_out(Transport::Websocket, st.conn.out.len());
            if pending.is_empty() {
                // Swapped, so the emptied buffer's capacity is reused for the next output.
                std::mem::swap(&mut pending, &mut st.conn.out);
            } else {
                pending.extend_from_slice(&st.conn.out);
                st.conn.out.clear();
            }
        }
        if pending.len() - written > st.conn.info.max_send_buffer {
            // The peer does not read: nothing more can reach it, so no stream error.
            tracing::debug!(session = st.conn.id, "send buffer exceeded, closing");
            disconnect_reason = Some("send buffer exceeded");
            break;
        }
        if quick < WARM_AFTER {
            // Not (or no longer) busy: keep nothing allocated between stanzas.
            st.conn.parser.release_idle();
            st.decoder.release_idle();
            if pending.is_empty() && pending.capacity() > 0 {
                pending = Vec::new();
            }
            if st.conn.out.is_empty() && st.conn.out.capacity() > 0 {
                st.conn.out = Vec::new();
            }
        }
        if let Flow::Drop = flow {
            // Boxed: the last flush's timer and write would otherwise size every session.
            let res = Box::pin(tokio::time::timeout(
                st.send_timeout,
                st.io.write_all(&pending[written..]),
            ))
            .await;
            if matches!(res, Ok(Ok(()))) {
                let _ = st.io.shutdown().await;
            }
            break;
        }
    }
    st.conn.report(&st.monitoring, &stats);
    metrics().connection_closed(Transport::Websocket);
    if st.conn.bound {
        metrics().session_unbound();
        let _ = st.conn.shared.core_tx.send(CoreMsg::Unbind {
            session: st.conn.id,
            error: disconnect_reason.map(str::to_owned),
        });
    }
}

/// When the timer must be set again: it is not set, or the earliest deadline moved before
/// the one it is set for.
fn rearm(
    armed: bool,
    set: Instant,
    deadlines: Deadlines,
    trim_at: Option<Instant>,
) -> Option<Instant> {
    let next = deadlines.earliest();
    let next = trim_at.map_or(next, |t| next.min(t));
    (!armed || next < set).then_some(next)
}

/// The session's deadlines at one turn of its loop (`None`: not running).
#[derive(Debug, Clone, Copy)]
struct Deadlines {
    read_resume: Option<Instant>,
    write: Option<Instant>,
    keepalive: Instant,
    unauth: Option<Instant>,
    closing: Option<Instant>,
}

/// Which deadline has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    Write,
    Closing,
    Unauthenticated,
    ReadResume,
    Keepalive,
}

impl Deadlines {
    fn of(
        conn: &Conn,
        read_resume: Option<Instant>,
        write: Option<Instant>,
        unauth_deadline: Instant,
        close_timeout: Duration,
    ) -> Deadlines {
        Deadlines {
            read_resume,
            write,
            keepalive: Instant::from_std(conn.keepalive.deadline()),
            unauth: (!conn.stream.is_authenticated()).then_some(unauth_deadline),
            closing: conn.closing_since.map(|t| t + close_timeout),
        }
    }

    fn earliest(&self) -> Instant {
        [self.read_resume, self.write, self.unauth, self.closing]
            .into_iter()
            .flatten()
            .fold(self.keepalive, Instant::min)
    }

    /// The deadline that has passed at `now`, the ones that end the session first.
    fn due(&self, now: Instant) -> Option<Due> {
        let passed = |d: Option<Instant>| d.is_some_and(|d| d <= now);
        if passed(self.write) {
            Some(Due::Write)
        } else if passed(self.closing) {
            Some(Due::Closing)
        } else if passed(self.unauth) {
            Some(Due::Unauthenticated)
        } else if passed(self.read_resume) {
            Some(Due::ReadResume)
        } else if self.keepalive <= now {
            Some(Due::Keepalive)
        } else {
            None
        }
    }
}

impl Conn {
    /// Metrics and `connection_monitoring` at the end of the connection.
    fn report(&self, monitoring: &Monitoring, stats: &ConnStats) {
        if self.failure.is_some() {
            metrics().connection_error();
        }
        let rtt = self.keepalive.last_rtt();
        monitor::connection_ended(
            monitoring,
            self.failure,
            rtt,
            stats.bytes_in,
            stats.bytes_out,
        );
    }

    fn send_text(&mut self, text: &str) {
        // Header (at most 10 bytes) and payload in one allocation, not a grow per part.
        self.out.reserve(text.len() + 10);
        encode_text(text, &mut self.out);
    }

    fn send_element(&mut self, el: &Element) {
        frame_element(el, &mut self.out);
    }

    /// Server-initiated close: optional stream error, `<close/>`, then either wait for
    /// the client's `<close/>` (clean close of a bound session) or end now.
    fn close_with(&mut self, error: Option<Element>) -> Flow {
        let had_error = error.is_some();
        if let Some(e) = error {
            self.send_element(&e);
        }
        self.send_text(CLOSE_FRAME);
        if !had_error && self.bound && self.closing_since.is_none() {
            self.closing_since = Some(Instant::now());
            return Flow::Continue;
        }
        encode_close(1000, "Stream closed", &mut self.out);
        Flow::Drop
    }

    /// Everything the core queued since the last turn, serialised into one write; after
    /// a close that drops the connection the rest is moot.
    fn on_outbound_batch(&mut self, batch: &mut std::collections::VecDeque<Outbound>) -> Flow {
        while let Some(msg) = batch.pop_front() {
            if let Flow::Drop = self.on_outbound(msg) {
                return Flow::Drop;
            }
        }
        Flow::Continue
    }

    fn on_outbound(&mut self, msg: Outbound) -> Flow {
        match msg {
            Outbound::Stanza(el) => {
                metrics().stanza_out();
                self.send_element(&el);
                Flow::Continue
            }
            Outbound::Close(err) => {
                // The core already forgot a session it closes for a conflict; an unbind
                // for it again is harmless.
                self.close_with(err.map(|e| *e))
            }
        }
    }

    async fn on_frames(&mut self, decoder: &mut FrameDecoder) -> Flow {
        loop {
            match decoder.next_frame() {
                Ok(None) => return Flow::Continue,
                Ok(Some(Frame::Text(payload))) => {
                    let data = frame_to_stream(&payload);
                    // Stanzas completed before an error in the same frame are handled
                    // first; the parser repeats the error after them (drain_parser).
                    let fed = self.parser.feed(data.as_bytes());
                    if let Flow::Drop = self.drain_parser().await {
                        return Flow::Drop;
                    }
                    if let Err(e) = fed {
                        return self.on_xml_error(e);
                    }
                }
                Ok(Some(Frame::Ping(p))) => encode_pong(&p, &mut self.out),
                Ok(Some(Frame::Pong(p))) => {
                    if let Some(rtt) = self.keepalive.on_pong(&p, Instant::now().into_std()) {
                        metrics().observe_ping_latency(rtt);
                    }
                }
                Ok(Some(Frame::ContinuationIgnored)) => {}
                Ok(Some(Frame::Close(_, _))) => {
                    encode_close(1000, "Goodbye", &mut self.out);
                    return Flow::Drop;
                }
                Err(FrameError::Close { code, reason }) => {
                    self.failure = Some("protocol error");
                    encode_close(code, reason, &mut self.out);
                    return Flow::Drop;
                }
                Err(FrameError::StanzaTooLarge) if self.max_frame_size.is_some() => {
                    tracing::info!("Frame larger than websocket_max_frame_size; closing with 1009");
                    metrics().limit_hit(LimitKind::FrameSize);
                    self.failure = Some("frame too large");
                    encode_close(1009, "Frame too large", &mut self.out);
                    return Flow::Drop;
                }
                Err(FrameError::StanzaTooLarge) => {
                    metrics().limit_hit(LimitKind::StanzaSize);
                    self.failure = Some("stanza too large");
                    return self.close_with(Some(stream_error(
                        "policy-violation",
                        Some("stanza too large"),
                        None,
                    )));
                }
                Err(FrameError::BufferExceeded) => {
                    metrics().limit_hit(LimitKind::FrameBuffer);
                    self.failure = Some("frame buffer exceeded");
                    return self.close_with(Some(stream_error(
                        "resource-constraint",
                        Some("frame buffer exceeded"),
                        None,
                    )));
                }
            }
        }
    }

    fn on_xml_error(&mut self, e: XmlError) -> Flow {
        self.failure = Some("XML error");
        if matches!(e, XmlError::StanzaTooLarge) {
            metrics().limit_hit(LimitKind::StanzaSize);
        }
        let err = match e {
            XmlError::StanzaTooLarge => stream_error(
                "policy-violation",
                Some("XML stanza is too big"),
                Some(Element::new("stanza-too-big", "urn:xmpp:errors")),
            ),
            XmlError::InvalidNamespace => stream_error("invalid-namespace", None, None),
            _ => stream_error("not-well-formed", None, None),
        };
        self.close_with(Some(err))
    }

    async fn drain_parser(&mut self) -> Flow {
        loop {
            let ev = match self.parser.next_event() {
                Ok(Some(ev)) => ev,
                Ok(None) => return Flow::Continue,
                Err(e) => return self.on_xml_error(e),
            };
            let actions = match ev {
                StreamEvent::Open(header) => {
                    let policies = &self.shared.policies;
                    self.stream.on_open(&header, policies)
                }
                StreamEvent::Stanza(el) => {
                    let policies = &self.shared.policies;
                    self.stream.on_stanza(el, policies)
                }
                StreamEvent::Close => {
                    if self.closing_since.is_some() {
                        encode_close(1000, "Stream closed", &mut self.out);
                        return Flow::Drop;
                    }
                    self.send_text(CLOSE_FRAME);
                    encode_close(1000, "Stream closed", &mut self.out);
                    return Flow::Drop;
                }
            };
            if let Flow::Drop = self.run_actions(actions).await {
                return Flow::Drop;
            }
        }
    }

    async fn run_actions(&mut self, mut actions: Vec<Action>) -> Flow {
        let mut i = 0;
        while i < actions.len() {
            let action = std::mem::replace(&mut actions[i], Action::Close(None));
            i += 1;
            let more = match action {
                Action::OpenStream { from, to, id, .. } => {
                    let frame = open_frame(from.as_deref().unwrap_or(""), to.as_deref(), &id, "en");
                    self.send_text(&frame);
                    continue;
                }
                Action::Send(el) => {
                    if el.ns == ns::SASL && el.name == "failure" {
                        self.limits.on_sasl_failure(&self.shared, &el);
                        let info = c2s_session::stream_info(
                            &self.stream,
                            self.id,
                            self.info.ip,
                            self.info.secure,
                            "websocket",
                        );
                        crate::lua::events::notify_authentication(
                            &self.shared,
                            info,
                            Some(el.clone()),
                        );
                    }
                    self.send_element(&el);
                    continue;
                }
                Action::Close(err) => return self.close_with(err),
                // STARTTLS is never offered on WebSocket; the stream already refused it.
                Action::StartTls => continue,
                Action::CollectFeatures(features) => {
                    let (ip, tls) = (self.info.ip, self.info.secure);
                    let info =
                        c2s_session::stream_info(&self.stream, self.id, ip, tls, "websocket");
                    let features =
                        c2s_session::collect_features(&self.shared, info, features).await;
                    self.stream.on_features(features)
                }
                Action::Forward(el) => {
                    metrics().stanza_in();
                    let _ = self.shared.core_tx.send(CoreMsg::Stanza {
                        session: self.id,
                        stanza: el,
                    });
                    continue;
                }
                Action::Authenticated { username } => {
                    let host = self.stream.host().unwrap_or_default().to_owned();
                    self.limits.on_authenticated(&self.shared, &host, &username);
                    let info = c2s_session::stream_info(
                        &self.stream,
                        self.id,
                        self.info.ip,
                        self.info.secure,
                        "websocket",
                    );
                    crate::lua::events::notify_authentication(&self.shared, info, None);
                    self.parser.reset();
                    self.parser
                        .set_max_stanza_bytes(self.shared.c2s.stanza_size_limit);
                    continue;
                }
                Action::LoadScram { username } => {
                    let host = self.stream.host().unwrap_or_default().to_owned();
                    if let Some(e) = self.limits.refuse_login(&self.shared, &host, &username) {
                        return self.close_with(Some(e));
                    }
                    // Login-only futures are boxed: kept inline they would size every idle
                    // session's task for the largest step of a login.
                    let creds = Box::pin(self.load_scram(username)).await;
                    self.stream.on_scram_loaded(creds)
                }
                Action::VerifyPlain { username, password } => {
                    let host = self.stream.host().unwrap_or_default().to_owned();
                    if let Some(e) = self.limits.refuse_login(&self.shared, &host, &username) {
                        return self.close_with(Some(e));
                    }
                    let ok = Box::pin(self.verify_plain(username, password)).await;
                    self.stream.on_plain_checked(ok)
                }
                Action::Register {
                    username,
                    password,
                    iq,
                } => {
                    // user-registering may refuse it; user-registered follows (§20.1).
                    let info = c2s_session::stream_info(
                        &self.stream,
                        self.id,
                        self.info.ip,
                        self.info.secure,
                        "websocket",
                    );
                    let reply = Box::pin(crate::lua::events::register_with_events(
                        self.shared.clone(),
                        info,
                        username,
                        password,
                        iq,
                    ))
                    .await;
                    vec![Action::Send(reply)]
                }
                Action::Bind { resource, iq } => {
                    let result = Box::pin(self.bind(resource)).await;
                    if let Ok(full) = &result {
                        self.bound = true;
                        metrics().session_bound();
                        tracing::info!(jid = %full, "Session bound");
                    }
                    self.stream.on_bound(&iq, result)
                }
            };
            actions.splice(i..i, more);
        }
        Flow::Continue
    }

    async fn load_scram(&self, username: String) -> Option<crate::xmpp::sasl::ScramCredentials> {
        let host = self.stream.host()?.to_owned();
        c2s_session::load_scram(&self.shared, &host, username).await
    }

    async fn verify_plain(&self, username: String, password: String) -> bool {
        let Some(host) = self.stream.host().map(str::to_owned) else {
            return false;
        };
        c2s_session::verify_plain(&self.shared, &host, username, password).await
    }

    async fn bind(&self, resource: String) -> Result<Arc<str>, c2s_session::BindRefusal> {
        let who = c2s_session::Binder {
            session: self.id,
            username: self.stream.username().unwrap_or_default(),
            host: self.stream.host().unwrap_or_default(),
            ip: self.info.ip,
            secure: self.info.secure,
            transport: "websocket",
            tx: self.tx.clone(),
        };
        c2s_session::bind(&self.shared, who, resource).await
    }
}

#[cfg(test)]
#[path = "websocket_tests.rs"]
mod tests;
