//! What the proxy check needs to know about Lilt: the WebSocket path, the HTTP ports, the
//! keepalive a proxy timeout must outlast, and `trusted_proxies`.

use std::net::IpAddr;

use crate::config::{Config, Value};
use crate::modules::http::TrustedProxies;
use crate::modules::websocket::options::EdgeOptions;

/// Lilt's side of the proxy connection.
#[derive(Debug, Clone)]
pub struct LiltSide {
    /// `http_paths.websocket` (default `/xmpp-websocket`).
    pub ws_path: String,
    /// `http_ports` + `https_ports` (defaults 5280, 5281).
    pub ports: Vec<u16>,
    /// `network_settings.read_timeout` (840 s).
    pub read_timeout: f64,
    /// `websocket_ping_interval`, when set.
    pub ping_interval: Option<f64>,
    pub trusted: TrustedProxies,
    /// The `http_file_share` location and size limit, when a host serves uploads.
    pub upload: Option<super::upload::UploadSide>,
}

impl Default for LiltSide {
    fn default() -> Self {
        LiltSide {
            ws_path: "/xmpp-websocket".into(),
            ports: vec![5280, 5281],
            read_timeout: 840.0,
            ping_interval: None,
            trusted: TrustedProxies::default(),
            upload: None,
        }
    }
}

fn port_list(config: &Config, key: &str, default: u16) -> Vec<u16> {
    match config.global().get(key) {
        None => vec![default],
        Some(Value::Table(t)) => t
            .seq()
            .iter()
            .filter_map(Value::as_f64)
            .map(|p| p as u16)
            .collect(),
        Some(v) => v.as_f64().map(|p| p as u16).into_iter().collect(),
    }
}

impl LiltSide {
    pub fn from_config(config: &Config) -> LiltSide {
        let g = config.global();
        let mut side = LiltSide::default();
        if let Some(Value::Table(t)) = g.get("http_paths") {
            if let Some(p) = t.get("websocket").and_then(Value::as_str) {
                side.ws_path = format!("/{}", p.trim_matches('/'));
            }
        }
        side.ports = port_list(config, "http_ports", 5280);
        side.ports.extend(port_list(config, "https_ports", 5281));
        if let Some(Value::Table(t)) = g.get("network_settings") {
            if let Some(n) = t.get("read_timeout").and_then(Value::as_f64) {
                side.read_timeout = n;
            }
        }
        side.ping_interval = EdgeOptions::from_config(config)
            .ping_interval
            .map(|d| d.as_secs_f64());
        if g.get("trusted_proxies").is_some() {
            side.trusted = TrustedProxies::parse(g.strings("trusted_proxies")).0;
        }
        side.upload = super::upload::from_config(config);
        side
    }

    /// Seconds of silence Lilt allows before it pings: a proxy read timeout must be above it
    /// or the proxy cuts idle sessions first.
    pub fn keepalive_secs(&self) -> f64 {
        match self.ping_interval {
            Some(p) => p.min(self.read_timeout),
            None => self.read_timeout,
        }
    }

    /// Which keepalive setting `keepalive_secs` comes from, for messages.
    pub fn keepalive_name(&self) -> &'static str {
        match self.ping_interval {
            Some(p) if p < self.read_timeout => "websocket_ping_interval",
            _ => "network_settings.read_timeout",
        }
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.trusted.contains(ip)
    }
}
