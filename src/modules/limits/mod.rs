//! mod_limits, natively: per-session-type read rate limits with real bursts, plus
//! throttling of failed logins. Everything here is sans-IO — callers pass `now` and get
//! decisions back; no sockets, timers or config types are touched.
//!
//! * [`parse`] turns the `limits` option (Prosody's syntax, plus byte-sized bursts and a
//!   `websocket` entry) into a [`LimitsConfig`]; [`UnlimitedJids`] is `unlimited_jids`.
//! * [`throttle`] is the token bucket and the [`ReadGate`] a connection driver consults
//!   after every socket read: throttling is back-pressure (the socket is not read), never
//!   buffering.
//! * [`auth`] throttles failed authentications per IP and per account.
//! * [`metrics`] counts limit hits and tells when an episode starts, so logs say it once.
//!
//! Wiring into a tokio driver (see `docs/limits.md` for the whole story):
//!
//! ```no_run
//! # use lilt::modules::limits::{LimitsConfig, ReadGate, SessionKind};
//! # use std::time::Instant;
//! # async fn driver(mut sock: tokio::net::TcpStream) -> std::io::Result<()> {
//! use tokio::io::AsyncReadExt;
//! let limits = LimitsConfig::defaults();
//! let mut gate = ReadGate::new(limits.for_session_type(SessionKind::C2s), limits.resolution(), Instant::now());
//! let mut buf = vec![0u8; 4096];
//! loop {
//!     let n = sock.read(&mut buf).await?;
//!     if n == 0 { break; }
//!     // ... feed &buf[..n] to the parser, dispatch stanzas ...
//!     if let Some(pause) = gate.after_read(n, Instant::now()) {
//!         tokio::time::sleep(pause).await; // the socket is not read meanwhile
//!     }
//! }
//! # Ok(()) }
//! ```

pub mod auth;
pub mod metrics;
pub mod parse;
pub mod session;
pub mod throttle;
mod unlimited;

pub use auth::{AuthPolicy, AuthThrottle, Refusal, RefusalScope};
pub use metrics::{CountersSnapshot, Episode, EpisodeHit, LimitCounters};
pub use parse::{
    Burst, LimitValue, LimitsConfig, LimitsDiagnostic, Rate, SessionKind, DEFAULT_BURST_SECS,
    DEFAULT_C2S_RATE, DEFAULT_RESOLUTION_SECS, DEFAULT_S2SIN_RATE, FALLBACK_RATE,
};
pub use session::SessionLimits;
pub use throttle::{Decision, ReadGate, TokenBucket};
pub use unlimited::UnlimitedJids;
