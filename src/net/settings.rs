//! `network_settings`: Prosody's global table of socket-layer tunables (§8.1) as a plain
//! struct with Prosody's epoll-backend defaults. The config slice fills it through
//! [`NetworkSettings::set`]; keys that a tokio server cannot honour are catalogued in
//! [`ineffective_keys`] so `check config` can say so instead of silently ignoring them.

use std::time::Duration;

/// Every key of Prosody's `network_settings` table, with Prosody 0.12's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkSettings {
    /// Idle time before a read timeout fires (keepalive, then disconnect).
    pub read_timeout: Duration,
    /// How long a pending write may wait before the connection is dropped.
    pub send_timeout: Duration,
    /// Outgoing connect timeout.
    pub connect_timeout: Duration,
    /// `listen(2)` backlog.
    pub tcp_backlog: u32,
    /// Pause after an accept failure such as running out of file descriptors.
    pub accept_retry_interval: Duration,
    /// Prosody's re-read delay while the TLS layer still buffers data.
    pub read_retry_delay: Duration,
    /// Default read chunk size in bytes.
    pub read_size: usize,
    /// Time allowed for a TLS handshake to finish.
    pub ssl_handshake_timeout: Duration,
    /// Upper bound on one poll wait.
    pub max_wait: Duration,
    /// Lower bound on one poll wait.
    pub min_wait: Duration,
    /// SO_KEEPALIVE on every accepted socket (c2s has its own `c2s_tcp_keepalives`).
    pub tcp_keepalive: bool,
    /// Nagle's algorithm stays on unless this is false (then TCP_NODELAY is set).
    pub nagle: bool,
    /// Try to write immediately instead of waiting for writability.
    pub opportunistic_writes: bool,
    /// Keep per-connection buffers between reads.
    pub keep_buffers: bool,
    /// Keep listeners alive when a listener callback errors.
    pub protect_listeners: bool,
    /// Treat callback errors as fatal.
    pub fatal_errors: bool,
    /// Extra debug logging from the network layer.
    pub verbose: bool,
    /// Time given to connections to close at shutdown.
    pub shutdown_deadline: Duration,
    /// Send buffer cap of the select/event backends, in bytes.
    pub max_send_buffer_size: usize,
    /// Receive buffer cap of the select/event backends, in bytes.
    pub max_receive_buffer_size: usize,
}

impl Default for NetworkSettings {
    fn default() -> Self {
        NetworkSettings {
            read_timeout: Duration::from_secs(840),
            send_timeout: Duration::from_secs(180),
            connect_timeout: Duration::from_secs(20),
            tcp_backlog: 128,
            accept_retry_interval: Duration::from_secs(10),
            read_retry_delay: Duration::from_nanos(1_000),
            read_size: 8192,
            ssl_handshake_timeout: Duration::from_secs(60),
            max_wait: Duration::from_secs(86_400),
            min_wait: Duration::from_millis(1),
            tcp_keepalive: false,
            nagle: true,
            opportunistic_writes: false,
            keep_buffers: true,
            protect_listeners: true,
            fatal_errors: false,
            verbose: false,
            shutdown_deadline: Duration::from_secs(5),
            max_send_buffer_size: 51_000 * 1024,
            max_receive_buffer_size: 25_000 * 1024,
        }
    }
}

/// A value taken from the config's `network_settings` table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SettingValue {
    Number(f64),
    Bool(bool),
}

/// Why a `network_settings` entry was refused; the operator's config is at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    #[error("network_settings.{0} is not a known network setting")]
    UnknownKey(String),
    #[error("network_settings.{key} must be {expected}")]
    WrongType { key: String, expected: &'static str },
    #[error("network_settings.{key} must be a non-negative number")]
    OutOfRange { key: String },
}

/// All keys of `network_settings`, in the order of the reference table.
pub const KEYS: &[&str] = &[
    "read_timeout",
    "send_timeout",
    "connect_timeout",
    "tcp_backlog",
    "accept_retry_interval",
    "read_retry_delay",
    "read_size",
    "ssl_handshake_timeout",
    "max_wait",
    "min_wait",
    "tcp_keepalive",
    "nagle",
    "opportunistic_writes",
    "keep_buffers",
    "protect_listeners",
    "fatal_errors",
    "verbose",
    "shutdown_deadline",
    "max_send_buffer_size",
    "max_receive_buffer_size",
];

/// Keys Lilt accepts but that change nothing, each with the reason `check config` prints.
pub fn ineffective_keys() -> &'static [(&'static str, &'static str)] {
    &[
        (
            "read_retry_delay",
            "tokio-rustls drains buffered TLS records itself",
        ),
        ("max_wait", "tokio's reactor has no configurable poll bound"),
        ("min_wait", "tokio's reactor has no configurable poll bound"),
        (
            "opportunistic_writes",
            "each connection task writes as soon as data is queued",
        ),
        (
            "keep_buffers",
            "buffers belong to connection tasks and are managed by Rust",
        ),
        (
            "protect_listeners",
            "a failing connection task never stops its listener",
        ),
        (
            "fatal_errors",
            "connection errors are always confined to their connection",
        ),
        (
            "verbose",
            "use the `log` option's levels for network debug output",
        ),
        (
            "max_send_buffer_size",
            "only Prosody's select/event backends used it",
        ),
        (
            "max_receive_buffer_size",
            "only Prosody's select/event backends used it",
        ),
    ]
}

/// Global options about Prosody's network backend that have no meaning for Lilt.
pub fn ineffective_global_options() -> &'static [(&'static str, &'static str)] {
    &[
        ("network_backend", "Lilt always uses tokio"),
        ("use_libevent", "Lilt always uses tokio"),
    ]
}

impl NetworkSettings {
    /// Applies one `network_settings` entry. Durations are seconds (fractions allowed).
    pub fn set(&mut self, key: &str, value: SettingValue) -> Result<(), SettingsError> {
        let flag = |field: &mut bool| match value {
            SettingValue::Bool(b) => {
                *field = b;
                Ok(())
            }
            SettingValue::Number(_) => Err(SettingsError::WrongType {
                key: key.to_owned(),
                expected: "true or false",
            }),
        };
        match key {
            "tcp_keepalive" => return flag(&mut self.tcp_keepalive),
            "nagle" => return flag(&mut self.nagle),
            "opportunistic_writes" => return flag(&mut self.opportunistic_writes),
            "keep_buffers" => return flag(&mut self.keep_buffers),
            "protect_listeners" => return flag(&mut self.protect_listeners),
            "fatal_errors" => return flag(&mut self.fatal_errors),
            "verbose" => return flag(&mut self.verbose),
            _ => {}
        }
        if !KEYS.contains(&key) {
            return Err(SettingsError::UnknownKey(key.to_owned()));
        }
        let n = match value {
            SettingValue::Number(n) => n,
            SettingValue::Bool(_) => {
                return Err(SettingsError::WrongType {
                    key: key.to_owned(),
                    expected: "a number",
                })
            }
        };
        if !n.is_finite() || n < 0.0 {
            return Err(SettingsError::OutOfRange {
                key: key.to_owned(),
            });
        }
        let secs = Duration::from_secs_f64(n);
        // Counts saturate rather than wrap: a huge backlog is clamped by the kernel anyway.
        let count = n as usize;
        match key {
            "read_timeout" => self.read_timeout = secs,
            "send_timeout" => self.send_timeout = secs,
            "connect_timeout" => self.connect_timeout = secs,
            "tcp_backlog" => self.tcp_backlog = u32::try_from(count).unwrap_or(u32::MAX),
            "accept_retry_interval" => self.accept_retry_interval = secs,
            "read_retry_delay" => self.read_retry_delay = secs,
            "read_size" => self.read_size = count,
            "ssl_handshake_timeout" => self.ssl_handshake_timeout = secs,
            "max_wait" => self.max_wait = secs,
            "min_wait" => self.min_wait = secs,
            "shutdown_deadline" => self.shutdown_deadline = secs,
            "max_send_buffer_size" => self.max_send_buffer_size = count,
            "max_receive_buffer_size" => self.max_receive_buffer_size = count,
            _ => return Err(SettingsError::UnknownKey(key.to_owned())),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_prosody_epoll_backend() {
        let s = NetworkSettings::default();
        assert_eq!(s.read_timeout, Duration::from_secs(840));
        assert_eq!(s.send_timeout, Duration::from_secs(180));
        assert_eq!(s.tcp_backlog, 128);
        assert_eq!(s.ssl_handshake_timeout, Duration::from_secs(60));
        assert!(!s.tcp_keepalive);
        assert!(s.nagle);
        assert_eq!(s.shutdown_deadline, Duration::from_secs(5));
        assert_eq!(s.connect_timeout, Duration::from_secs(20));
        assert_eq!(s.accept_retry_interval, Duration::from_secs(10));
        assert_eq!(s.read_size, 8192);
    }

    #[test]
    fn set_accepts_fractional_seconds_and_flags() {
        let mut s = NetworkSettings::default();
        s.set("read_timeout", SettingValue::Number(1.5)).unwrap();
        s.set("nagle", SettingValue::Bool(false)).unwrap();
        s.set("tcp_backlog", SettingValue::Number(512.0)).unwrap();
        assert_eq!(s.read_timeout, Duration::from_millis(1500));
        assert!(!s.nagle);
        assert_eq!(s.tcp_backlog, 512);
    }

    #[test]
    fn set_rejects_unknown_keys_wrong_types_and_negative_numbers() {
        let mut s = NetworkSettings::default();
        assert_eq!(
            s.set("read_timeot", SettingValue::Number(1.0)),
            Err(SettingsError::UnknownKey("read_timeot".into()))
        );
        assert!(matches!(
            s.set("nagle", SettingValue::Number(0.0)),
            Err(SettingsError::WrongType { .. })
        ));
        assert!(matches!(
            s.set("send_timeout", SettingValue::Bool(true)),
            Err(SettingsError::WrongType { .. })
        ));
        assert!(matches!(
            s.set("send_timeout", SettingValue::Number(-1.0)),
            Err(SettingsError::OutOfRange { .. })
        ));
    }

    #[test]
    fn every_key_is_settable_and_every_ineffective_key_is_a_real_key() {
        let mut s = NetworkSettings::default();
        for key in KEYS {
            let ok = s.set(key, SettingValue::Number(1.0)).is_ok()
                || s.set(key, SettingValue::Bool(true)).is_ok();
            assert!(ok, "{key} not settable");
        }
        for (key, why) in ineffective_keys() {
            assert!(KEYS.contains(key), "{key}");
            assert!(!why.is_empty());
        }
        // Keys Lilt does honour must not be listed as ineffective.
        for honoured in ["read_timeout", "tcp_backlog", "nagle", "tcp_keepalive"] {
            assert!(ineffective_keys().iter().all(|(k, _)| *k != honoured));
        }
    }
}
