//! mod_limits as one connection sees it: the read gate for its session type and the
//! failed-login throttle around its SASL exchange. Every transport driver holds one.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::{ReadGate, SessionKind};
use crate::core::Shared;
use crate::xml::Element;
use crate::xmpp::ns;

/// Per-connection limits state.
pub struct SessionLimits {
    gate: ReadGate,
    ip: Option<IpAddr>,
    /// The account a SASL exchange in progress is for.
    account: Option<Box<str>>,
}

impl SessionLimits {
    pub fn new(shared: &Shared, kind: SessionKind, ip: Option<IpAddr>) -> Self {
        let limits = shared.limits.as_ref();
        let rate = limits.and_then(|l| l.for_session_type(kind));
        let resolution = limits
            .map(|l| l.resolution())
            .unwrap_or(Duration::from_secs(1));
        SessionLimits {
            gate: ReadGate::new(rate, resolution, Instant::now())
                .with_counters(shared.limit_counters.clone()),
            ip,
            account: None,
        }
    }

    /// The client's address the limits are kept for.
    pub fn ip(&self) -> Option<IpAddr> {
        self.ip
    }

    /// After reading `n` bytes: how long not to read (back-pressure), if at all.
    pub fn after_read(&mut self, n: usize) -> Option<Duration> {
        self.gate.after_read(n, Instant::now())
    }

    /// [`Self::after_read`] at `now` (sans-IO sessions pass their clock).
    pub fn after_read_at(&mut self, n: usize, now: Instant) -> Option<Duration> {
        self.gate.after_read(n, now)
    }

    /// Before checking credentials for `username@host`: the stream error to close with
    /// when this address or account has used up its failed attempts.
    pub fn refuse_login(&mut self, shared: &Shared, host: &str, username: &str) -> Option<Element> {
        let ip = self.ip?;
        let account = format!("{username}@{host}");
        self.account = Some(account.as_str().into());
        let check = shared
            .auth_throttle
            .lock()
            .ok()
            .map(|t| t.check(ip, Some(&account), Instant::now()))?;
        let refusal = check.err()?;
        tracing::warn!(%ip, account, "login refused: {}", refusal.text());
        Some(refusal.stream_error().element())
    }

    /// A SASL `<failure/>` is being sent: counts wrong credentials.
    pub fn on_sasl_failure(&mut self, shared: &Shared, failure: &Element) {
        let (Some(ip), Some(account)) = (self.ip, self.account.take()) else {
            return;
        };
        if failure.get_child("not-authorized", ns::SASL).is_none() {
            return;
        }
        if let Ok(mut t) = shared.auth_throttle.lock() {
            t.record_failure(ip, Some(&*account), Instant::now());
        }
    }

    /// Lifts the read rate (an s2s session whose remote domain is in `unlimited_jids`).
    pub fn lift(&mut self) {
        self.gate.lift();
    }

    /// Authenticated: forgets the account's failures and lifts the rate for
    /// `unlimited_jids`.
    pub fn on_authenticated(&mut self, shared: &Shared, host: &str, username: &str) {
        let account = format!("{username}@{host}");
        self.account = None;
        if let (Some(ip), Ok(mut t)) = (self.ip, shared.auth_throttle.lock()) {
            t.record_success(ip, &account, Instant::now());
        }
        if shared.is_unlimited(host, &account) {
            self.gate.lift();
        }
    }
}
