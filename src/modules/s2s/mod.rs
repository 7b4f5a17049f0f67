//! mod_s2s, mod_dialback and mod_s2s_auth_certs (reference §17): federation with other
//! XMPP servers. The core thread owns the outgoing routes, one per (local host, remote
//! domain), with the stanzas queued while a route comes up ([`routes`]); connection tasks
//! on the IO runtime negotiate streams ([`outgoing`], [`incoming`]) and report back through
//! core tasks. DNS ([`dns`]), dialback keys ([`dialback`]), certificate checks ([`certs`])
//! the authentication policy ([`settings`]) and the negotiation rules ([`stream`]) are
//! sans-IO and unit-tested.
//!
//! mod_s2s_bidi (XEP-0288) is here too ([`bidi`]). Not done: DANE, and the xmppAddr/SRV-ID
//! identities (dNSName SANs, and the subject CN when no supported SAN is present
//! ([`identity`]), are matched, as Prosody 0.12.3 effectively does).

pub mod bidi;
pub mod certs;
mod conn;
pub mod dialback;
pub mod dns;
pub mod events;
pub mod identity;
mod incoming;
pub mod listener;
mod outgoing;
pub mod routes;
pub mod settings;
pub mod stream;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::core::Shared;
pub use routes::route;
use settings::S2sSettings;

/// The module names this folder implements.
pub const MODULE_NAMES: [&str; 4] = ["s2s", "dialback", "s2s_auth_certs", bidi::MODULE_NAME];

/// Everything connection tasks share, built once when the listeners start.
pub struct S2sContext {
    pub shared: Arc<Shared>,
    pub settings: S2sSettings,
    /// `None` when `s2s_resolver` is unusable (logged): every route then fails.
    pub resolver: Option<hickory_resolver::TokioResolver>,
    pub checker: certs::Checker,
    /// Incoming TLS (STARTTLS and direct TLS), each local host's certificate by SNI.
    pub acceptor: Option<TlsAcceptor>,
    /// Local hosts that offer STARTTLS (they load mod_tls and have a certificate).
    pub tls_hosts: HashSet<String>,
    /// Outgoing TLS per local host, presenting that host's certificate.
    pub connectors: HashMap<String, TlsConnector>,
    /// Outgoing TLS for hosts without a certificate of their own.
    pub anonymous_connector: TlsConnector,
    /// Local hosts where mod_dialback is loaded.
    pub dialback_hosts: HashSet<String>,
    /// Local hosts where mod_s2s_bidi is loaded.
    pub bidi_hosts: HashSet<String>,
    /// Every host this server serves (VirtualHosts and Components).
    pub served: HashSet<String>,
    /// Local hosts that speak s2s at all (VirtualHosts and Components without
    /// `s2s` disabled).
    pub s2s_hosts: HashSet<String>,
    /// The multi-thread runtime the connection tasks run on.
    pub runtime: tokio::runtime::Handle,
}

impl S2sContext {
    pub fn connector(&self, local: &str) -> &TlsConnector {
        self.connectors
            .get(local)
            .unwrap_or(&self.anonymous_connector)
    }

    pub fn tls_enabled(&self) -> bool {
        self.settings.allow_encryption
    }
}

/// Whether s2s is enabled on `host`: loaded everywhere by default (a global module in
/// Prosody), off with `modules_disabled = { "s2s" }` or the deprecated `disallow_s2s`.
pub fn enabled_on(config: &crate::config::Config, host: &str) -> bool {
    let s = config.host(host);
    !s.inherited_set("modules_disabled").contains("s2s") && s.boolean("disallow_s2s") != Some(true)
}
