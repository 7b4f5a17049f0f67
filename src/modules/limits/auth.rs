//! Throttling of failed logins per IP and per account, in the spirit of the community
//! module mod_limit_auth (`limit_auth_period`, `limit_auth_max`). Sans-IO: callers pass
//! `now`; the caller closes the stream with `<policy-violation/>` on a [`Refusal`].
//!
//! Each IP and each account has a small token bucket of `limit_auth_max` failures that
//! refills over `limit_auth_period`. Tables are capped, and full ones drop what has
//! expired and then the least-throttled entry, so a spray of addresses or names can
//! neither exhaust memory nor evict the keys it is hammering.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::metrics::LimitCounters;
use crate::xmpp::error::{StreamCondition, StreamError};

use crate::config::catalogue::{OptionSpec, OptionType, Scope};

/// The options this file reads (collected into the option catalogue).
pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec::prosody(
        "limit_auth_period",
        OptionType::Number,
        "30",
        Scope::Global,
        "limit_auth",
        "seconds in which limit_auth_max failed logins are earned back (community mod_limit_auth)",
    ),
    OptionSpec::prosody(
        "limit_auth_max",
        OptionType::Integer,
        "5",
        Scope::Global,
        "limit_auth",
        "failed logins allowed per address in a row (community mod_limit_auth)",
    ),
    OptionSpec::extension(
        "limit_auth_account_max",
        OptionType::Integer,
        "4 * limit_auth_max",
        Scope::Global,
        "limit_auth",
        "failed logins allowed per account from all addresses together",
    ),
];

/// `limit_auth_period` default, seconds.
pub const DEFAULT_AUTH_PERIOD_SECS: f64 = 30.0;
/// `limit_auth_max` default: failures allowed per period.
pub const DEFAULT_AUTH_MAX: u32 = 5;
/// Entries kept per table (IPs, accounts) before pruning.
pub const DEFAULT_AUTH_MAX_ENTRIES: usize = 10_000;

/// The policy: `max` failures per `period`, per IP and per account.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AuthPolicy {
    /// `limit_auth_period`: the time in which `max` failures are earned back (> 0).
    pub period: Duration,
    /// `limit_auth_max`: failures allowed in a row (>= 1; 0 would refuse everyone).
    pub max: u32,
    /// Entries per table (IPs, accounts) before pruning.
    pub max_entries: usize,
    /// `limit_auth_account_max`: failures allowed per account from all addresses together
    /// (default 4 × `max`), so one address guessing at an account refuses that address
    /// long before the account's owner is locked out elsewhere.
    pub account_max: u32,
}

impl Default for AuthPolicy {
    fn default() -> Self {
        AuthPolicy {
            period: Duration::from_secs_f64(DEFAULT_AUTH_PERIOD_SECS),
            max: DEFAULT_AUTH_MAX,
            max_entries: DEFAULT_AUTH_MAX_ENTRIES,
            account_max: 4 * DEFAULT_AUTH_MAX,
        }
    }
}

impl AuthPolicy {
    /// From the options as numbers; absent or non-positive values keep the defaults.
    pub fn from_options(period_secs: Option<f64>, max: Option<i64>) -> Self {
        let mut policy = AuthPolicy::default();
        if let Some(p) = period_secs.filter(|p| p.is_finite() && *p > 0.0) {
            policy.period = Duration::from_secs_f64(p);
        }
        if let Some(m) = max.and_then(|m| u32::try_from(m).ok()).filter(|m| *m > 0) {
            policy.max = m;
            policy.account_max = m.saturating_mul(4);
        }
        policy
    }

    /// Sets `limit_auth_account_max` (non-positive values are ignored).
    pub fn with_account_max(mut self, account_max: Option<i64>) -> Self {
        if let Some(m) = account_max
            .and_then(|m| u32::try_from(m).ok())
            .filter(|m| *m > 0)
        {
            self.account_max = m;
        }
        self
    }

    /// The same policy as seen by the per-account table.
    fn for_accounts(&self) -> AuthPolicy {
        AuthPolicy {
            max: self.account_max,
            ..*self
        }
    }

    /// Failures earned back after `elapsed` (multiplying first keeps whole periods exact).
    fn earned(&self, elapsed: Duration) -> f64 {
        elapsed.as_secs_f64() * f64::from(self.max) / self.period.as_secs_f64()
    }

    /// How long until `tokens` reaches one whole attempt again.
    fn time_to_one(&self, tokens: f64) -> Duration {
        let secs = (1.0 - tokens).max(0.0) * self.period.as_secs_f64() / f64::from(self.max);
        Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
    }
}

/// Which counter refused the attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalScope {
    Ip,
    Account,
}

/// An authentication attempt refused because of earlier failures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub scope: RefusalScope,
    pub ip: IpAddr,
    pub account: Option<String>,
    /// When the next attempt would be allowed.
    pub retry_after: Duration,
}

impl Refusal {
    /// The stream error condition to close with.
    pub const CONDITION: StreamCondition = StreamCondition::PolicyViolation;

    pub fn condition(&self) -> &'static str {
        Self::CONDITION.name()
    }

    /// The stream error to close with.
    pub fn stream_error(&self) -> StreamError {
        StreamError::new(Self::CONDITION).with_text(self.text())
    }

    /// Human-readable text for the stream error's `<text/>`.
    pub fn text(&self) -> String {
        let secs = self.retry_after.as_secs_f64().ceil().max(1.0);
        format!("Too many failed authentication attempts; try again in {secs} seconds")
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scope = match self.scope {
            RefusalScope::Ip => "IP",
            RefusalScope::Account => "account",
        };
        write!(
            f,
            "too many failed authentication attempts ({scope} limit) from {}",
            self.ip
        )?;
        if let Some(account) = &self.account {
            write!(f, " for {account}")?;
        }
        write!(f, ", retry in {:.1}s", self.retry_after.as_secs_f64())
    }
}

#[derive(Debug, Clone, Copy)]
struct Allowance {
    tokens: f64,
    last: Instant,
}

/// One capped table of allowances.
#[derive(Debug)]
struct Table<K> {
    map: HashMap<K, Allowance>,
}

impl<K: Hash + Eq + Clone> Table<K> {
    fn new() -> Self {
        Table {
            map: HashMap::new(),
        }
    }

    /// Failures still allowed for `key` at `now` (may be fractional).
    fn tokens(&self, key: &K, now: Instant, policy: &AuthPolicy) -> f64 {
        self.map
            .get(key)
            .map_or(f64::from(policy.max), |a| refilled(a, now, policy))
    }

    /// Charges one failure; returns the allowance left.
    fn charge(&mut self, key: &K, now: Instant, policy: &AuthPolicy) -> f64 {
        if !self.map.contains_key(key) && self.map.len() >= policy.max_entries {
            self.make_room(now, policy);
        }
        let tokens = self.tokens(key, now, policy) - 1.0;
        self.map
            .insert(key.clone(), Allowance { tokens, last: now });
        tokens
    }

    fn remove(&mut self, key: &K) {
        self.map.remove(key);
    }

    fn make_room(&mut self, now: Instant, policy: &AuthPolicy) {
        let max = f64::from(policy.max);
        self.map.retain(|_, a| refilled(a, now, policy) < max);
        if self.map.len() < policy.max_entries {
            return;
        }
        // Still full of live entries: drop the one closest to recovery, never a hot one.
        let coolest = self
            .map
            .iter()
            .max_by(|a, b| refilled(a.1, now, policy).total_cmp(&refilled(b.1, now, policy)))
            .map(|(k, _)| k.clone());
        if let Some(k) = coolest {
            self.map.remove(&k);
        }
    }

    fn len(&self) -> usize {
        self.map.len()
    }
}

fn refilled(a: &Allowance, now: Instant, policy: &AuthPolicy) -> f64 {
    let elapsed = now.saturating_duration_since(a.last);
    (a.tokens + policy.earned(elapsed)).min(f64::from(policy.max))
}

/// Per-IP and per-account failed-login throttle.
#[derive(Debug)]
pub struct AuthThrottle {
    policy: AuthPolicy,
    account_policy: AuthPolicy,
    by_ip: Table<IpAddr>,
    by_account: Table<String>,
    counters: Arc<LimitCounters>,
}

impl AuthThrottle {
    pub fn new(policy: AuthPolicy) -> Self {
        AuthThrottle {
            account_policy: policy.for_accounts(),
            policy,
            by_ip: Table::new(),
            by_account: Table::new(),
            counters: Arc::new(LimitCounters::new()),
        }
    }

    /// Shares server-wide counters instead of private ones.
    pub fn with_counters(mut self, counters: Arc<LimitCounters>) -> Self {
        self.counters = counters;
        self
    }

    pub fn policy(&self) -> &AuthPolicy {
        &self.policy
    }

    /// Before trying credentials: is this IP / account (bare JID, `user@host`, when
    /// known — PLAIN and SCRAM both name it in the first message) still allowed?
    pub fn check(&self, ip: IpAddr, account: Option<&str>, now: Instant) -> Result<(), Refusal> {
        let ip_key = ip_key(ip);
        let account_key = account.map(str::to_lowercase);
        let refusal = |scope, tokens: f64| Refusal {
            scope,
            ip,
            account: account.map(str::to_owned),
            retry_after: self.policy.time_to_one(tokens),
        };
        let ip_tokens = self.by_ip.tokens(&ip_key, now, &self.policy);
        let result = if ip_tokens < 1.0 {
            Err(refusal(RefusalScope::Ip, ip_tokens))
        } else {
            match &account_key {
                Some(key) => {
                    let tokens = self.by_account.tokens(key, now, &self.account_policy);
                    if tokens < 1.0 {
                        Err(Refusal {
                            retry_after: self.account_policy.time_to_one(tokens),
                            ..refusal(RefusalScope::Account, tokens)
                        })
                    } else {
                        Ok(())
                    }
                }
                None => Ok(()),
            }
        };
        if let Err(r) = &result {
            self.counters.record_auth_refusal();
            tracing::debug!(target: "mod_limits", "refusing authentication: {r}");
        }
        result
    }

    /// After credentials were wrong. Returns the refusal the next attempt will get when
    /// this failure used up an allowance; that moment is logged once, naming the IP.
    pub fn record_failure(
        &mut self,
        ip: IpAddr,
        account: Option<&str>,
        now: Instant,
    ) -> Option<Refusal> {
        self.counters.record_auth_failure();
        let ip_left = self.by_ip.charge(&ip_key(ip), now, &self.policy);
        let account_left = account
            .map(|a| {
                self.by_account
                    .charge(&a.to_lowercase(), now, &self.account_policy)
            })
            .unwrap_or(f64::INFINITY);
        let (scope, left) = if ip_left < 1.0 {
            (RefusalScope::Ip, ip_left)
        } else if account_left < 1.0 {
            (RefusalScope::Account, account_left)
        } else {
            return None;
        };
        let policy = match scope {
            RefusalScope::Ip => &self.policy,
            RefusalScope::Account => &self.account_policy,
        };
        let refusal = Refusal {
            scope,
            ip,
            account: account.map(str::to_owned),
            retry_after: policy.time_to_one(left),
        };
        // Only the failure that used up an allowance logs (it left 0 <= tokens < 1);
        // later attempts are refused by check() before they can fail again.
        let crossed = |left: f64| (0.0..1.0).contains(&left);
        if crossed(ip_left) || crossed(account_left) {
            tracing::warn!(target: "mod_limits", "{refusal}");
        }
        Some(refusal)
    }

    /// After a successful login: the account's failures are forgotten (its owner is
    /// back); the IP's are not, so one valid account cannot launder guesses at others.
    pub fn record_success(&mut self, _ip: IpAddr, account: &str, _now: Instant) {
        self.by_account.remove(&account.to_lowercase());
    }

    /// Entries held (IPs, accounts); bounded by `max_entries` each.
    pub fn table_sizes(&self) -> (usize, usize) {
        (self.by_ip.len(), self.by_account.len())
    }
}

/// IPv6 clients get a /64 each, so one subnet counts as one address; IPv4-mapped
/// addresses count as their IPv4 address.
fn ip_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut seg = v6.segments();
                seg[4..].fill(0);
                IpAddr::V6(seg.into())
            }
        },
    }
}
