//! One c2s session driver for every transport: the tokio loop around a sans-IO
//! [`C2sSession`] over a [`Framing`]. One timer (re-armed only when the session's
//! earliest deadline moves earlier), reads fed straight into the framing, writes as the
//! socket takes them, the core's queue drained as it fills, effects run off the loop's
//! hot path (boxed), STARTTLS as an in-place upgrade of the socket, and metrics, the
//! session span and the final unbind in one place.

pub mod effect;
pub mod framing;
pub mod output;
pub mod session;
pub mod settings;
pub mod socket;
pub mod tcp_framing;
pub mod ws_framing;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::core::outbound::{OutboundRx, OutboundTx};
use crate::core::{CoreMsg, Shared};
use crate::modules::openmetrics::{metrics, monitor};
use crate::modules::smacks;
use crate::net::c2s_session;
use crate::net::tcp::C2sTls;
pub use effect::{Answer, Effect, State};
pub use framing::{Failure, Framing, Input};
pub use session::C2sSession;
pub use settings::SessionSettings;
pub use socket::Socket;

/// Stanzas of one session the core may have queued before the session stops reading its
/// socket: a flooding client waits (back-pressure) instead of filling the core's queue.
pub const MAX_INFLIGHT: usize = 128;

/// The same bound in bytes (about what the routed trees hold): 128 large stanzas from each
/// of many senders would otherwise hold tens of megabytes in the core's queue.
pub const MAX_INFLIGHT_BYTES: usize = 256 * 1024;

/// How soon a session held back by [`MAX_INFLIGHT`] looks again.
const INFLIGHT_RECHECK: Duration = Duration::from_millis(2);

fn now() -> std::time::Instant {
    Instant::now().into_std()
}

/// Runs `session` over `socket` to its end. The session is boxed: an async fn keeps its
/// arguments in its future beside the locals they move into, and the future of an idle
/// session is kept for its whole life.
///
/// `tls`: the STARTTLS contexts, for a plain TCP session that may upgrade.
///
/// A plain function returning an `async move` block: an `async fn` would keep its
/// arguments in the future beside the locals they move into.
pub fn drive<F: Framing>(
    socket: Socket,
    s: Box<C2sSession<F>>,
    tls: Option<Arc<C2sTls>>,
) -> impl std::future::Future<Output = ()> + Send {
    let (mut socket, mut s) = (socket, s);
    async move {
        metrics().connection_opened(F::TRANSPORT);
        let (tx, mut rx) = crate::core::outbound::channel();
        // One timer for every deadline: sleeps per deadline kept a timer entry each in every
        // idle session's future and re-registered them on every turn.
        let timer = tokio::time::sleep_until(Instant::from_std(s.deadline()));
        tokio::pin!(timer);
        let mut armed = true;
        loop {
            let busy = rx.inflight() >= MAX_INFLIGHT || rx.inflight_bytes() >= MAX_INFLIGHT_BYTES;
            while let Some(effect) = s.poll_effect(now(), busy) {
                Box::pin(run_effect(
                    &mut s,
                    effect,
                    &mut socket,
                    tls.as_deref(),
                    &tx,
                    &mut rx,
                ))
                .await;
            }
            match s.state() {
                State::Done => break,
                State::Flushing(_) if s.out.is_empty() => {
                    // Boxed: inline, its timer would size every idle session's future.
                    let _ = Box::pin(tokio::time::timeout(
                        Duration::from_secs(1),
                        socket.shutdown(),
                    ))
                    .await;
                    break;
                }
                _ => {}
            }
            s.release_if_idle();
            let mut next = s.deadline();
            if busy {
                next = next.min(now() + INFLIGHT_RECHECK);
            }
            let next = Instant::from_std(next);
            if !armed || next < timer.deadline() {
                timer.as_mut().reset(next);
                armed = true;
            }
            tokio::select! {
                r = socket.read_into(&mut s.framing), if s.wants_read() && !busy => match r {
                    Ok(0) | Err(_) => s.on_eof(),
                    Ok(n) => s.on_read(n, now()),
                },
                w = socket.write(s.out.unsent()), if !s.out.is_empty() => match w {
                    Ok(0) | Err(_) => s.on_write_error(),
                    Ok(n) => s.on_written(n, now()),
                },
                Some(mut batch) = rx.recv_all(), if s.wants_outbound() => {
                    let now = now();
                    while let Some(msg) = batch.pop_front() {
                        s.on_outbound(msg, now);
                    }
                    if s.is_busy() {
                        // The core's next sends reuse the queue's memory; idle sessions
                        // keep none.
                        rx.recycle(batch);
                    }
                }
                () = &mut timer => {
                    armed = false;
                    s.on_timer(now());
                }
                // A resuming connection asks for this session (stream management); a
                // closure, not an async fn: every idle session's future holds it.
                req = std::future::poll_fn(|cx| smacks::registry::poll_takeover(&mut s.sm, cx)),
                    if s.is_resumable() =>
                {
                    if s.on_takeover(req) {
                        break;
                    }
                }
            }
        }
        if let Some(req) = s.take_pending_takeover() {
            // Resumed on another connection: the session goes on there, this one ends.
            drop(socket);
            if let Some(mut handover) = s.handover() {
                handover.rx = Some(rx);
                let _ = req.reply.send(handover);
            }
        } else if let Some((sm, full_jid)) = s.take_hibernation() {
            drop(socket);
            let h = smacks::hibernate::Hibernating {
                shared: s.shared().clone(),
                id: s.id(),
                full_jid,
                sm,
                rx,
            };
            Box::pin(smacks::hibernate::run(h)).await;
        } else if s.is_bound() {
            metrics().session_unbound();
            let reason = s.reason().map(str::to_owned);
            let shared = s.shared().clone();
            unbind(&shared, &mut s, reason);
        }
        match s.reason() {
            Some(reason) if s.stream().is_authenticated() => {
                tracing::info!(
                    jid = s.stream().full_jid().unwrap_or_default(),
                    "Client disconnected: {reason}"
                )
            }
            Some(reason) => tracing::info!("Client disconnected: {reason}"),
            None => tracing::info!("Client disconnected"),
        }
        if s.failure().is_some() {
            metrics().connection_error();
        }
        if let Some(m) = &s.settings().monitoring {
            let (bytes_in, bytes_out) = s.byte_counts();
            monitor::connection_ended(m, s.failure(), s.last_rtt(), bytes_in, bytes_out);
        }
        metrics().connection_closed(F::TRANSPORT);
    }
}

/// Unbinds the session on the core; unacked stream-management stanzas go where
/// Prosody sends them first.
fn unbind<F: Framing>(shared: &Shared, s: &mut C2sSession<F>, error: Option<String>) {
    let unacked = s.take_unacked();
    let full = (!unacked.is_empty())
        .then(|| s.stream().full_jid().map(Arc::<str>::from))
        .flatten();
    smacks::destroy::unbind_with_unacked(shared, s.id(), full, unacked, error);
}

async fn run_effect<F: Framing>(
    s: &mut C2sSession<F>,
    effect: Effect,
    socket: &mut Socket,
    tls: Option<&C2sTls>,
    tx: &OutboundTx,
    rx: &mut OutboundRx,
) {
    let shared = &s.shared().clone();
    let host = s.stream().host().unwrap_or_default().to_owned();
    match effect {
        Effect::Route(stanza) => {
            let bytes = stanza.approx_bytes();
            rx.routed(bytes);
            let _ = shared.core_tx.send(CoreMsg::Stanza {
                session: s.id(),
                stanza,
                bytes,
            });
        }
        Effect::Unbind(error) => unbind(shared, s, error),
        Effect::LoadScram { username } => {
            let creds = c2s_session::load_scram(shared, &host, username).await;
            s.answer(Answer::Scram(creds), now());
        }
        Effect::VerifyPlain { username, password } => {
            let ok = c2s_session::verify_plain(shared, &host, username, password).await;
            s.answer(Answer::Plain(ok), now());
        }
        Effect::Register {
            username,
            password,
            iq,
        } => {
            // user-registering may refuse it; user-registered follows (§20.1).
            let reply = crate::lua::events::register_with_events(
                shared.clone(),
                s.stream_info(),
                username,
                password,
                iq,
            )
            .await;
            s.answer(Answer::Registered(reply), now());
        }
        Effect::Bind { resource } => {
            let who = c2s_session::Binder {
                session: s.id(),
                username: s.stream().username().unwrap_or_default(),
                host: &host,
                ip: s.ip(),
                secure: s.stream().is_secure(),
                transport: F::NAME,
                tx: tx.clone(),
            };
            let result = c2s_session::bind(shared, who, resource).await;
            s.answer(Answer::Bound(result), now());
        }
        Effect::CollectFeatures(info, features) => {
            let features = c2s_session::collect_features(shared, info, features).await;
            s.answer(Answer::Features(features), now());
        }
        Effect::Resume(req) => {
            let result = smacks::registry::take(shared, &req.bare, &req.previd).await;
            let result = result.map(|mut handover| {
                if let Some(old) = handover.rx.take() {
                    // The core's queue to the resumed session now feeds this connection.
                    *rx = old;
                }
                handover
            });
            s.answer(Answer::Resumed(req, result), now());
        }
        Effect::StartTls => {
            let upgraded = start_tls(s, socket, tls, &host).await;
            s.answer(Answer::Tls(upgraded), now());
        }
    }
}

/// Writes the queued `<proceed/>`, then runs the TLS handshake on the plain socket and
/// swaps the TLS stream in; `None` when that fails (the socket is gone then).
async fn start_tls<F: Framing>(
    s: &mut C2sSession<F>,
    socket: &mut Socket,
    tls: Option<&C2sTls>,
    host: &str,
) -> Option<Option<Vec<u8>>> {
    let tls = tls?;
    let acceptor = tls.acceptor(host)?;
    let pending = s.out.len();
    let written = tokio::time::timeout(s.send_timeout(), socket.write_all(s.out.unsent())).await;
    if !matches!(written, Ok(Ok(()))) {
        return None;
    }
    s.on_written(pending, now());
    let tcp = socket.take_tcp()?;
    let stream = crate::net::tls::accept_tls(acceptor, tcp, tls.handshake_timeout())
        .await
        .map_err(|e| tracing::debug!("STARTTLS handshake failed: {e}"))
        .ok()?;
    let exporter = socket::tls_exporter(&stream);
    *socket = Socket::boxed(Box::new(stream));
    Some(exporter)
}
