//! mod_smacks: XEP-0198 stream management for c2s, on every framing alike. The session
//! state (counters, queue, ack requests) is sans-IO in [`state`]; the c2s session runs it
//! (src/net/c2s/session/sm.rs). A resumable session whose connection drops hibernates in
//! its connection task ([`hibernate`]) until a new connection resumes it through the
//! token [`registry`] or `smacks_hibernation_time` passes; then its unacked stanzas go
//! where Prosody sends them ([`destroy`]). Lua sees the `smacks-*` events ([`events`]).
//!
//! Not here: s2s stream management (`smacks_enabled_s2s`, `smacks_s2s_resend` are read
//! by nothing yet: Lilt's s2s streams do not negotiate it), and the expired-token records
//! live in memory rather than in Prosody's `smacks_h` store.

pub mod destroy;
pub mod events;
pub mod hibernate;
pub mod queue;
pub mod registry;
pub mod state;

use std::rc::Rc;
use std::time::Duration;

use crate::core::{Bus, Core, Shared};
use crate::xml::Element;
use crate::xmpp::ns;

/// XEP-0198's older namespace, still offered and answered in kind.
pub const SM2: &str = "urn:xmpp:sm:2";
pub const SM3: &str = ns::SM3;

/// The options of §16.1 as one host reads them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// `smacks_hibernation_time`: how long a resumable session waits; `max` in `<enabled/>`.
    pub hibernation_time: Duration,
    pub max_unacked: u64,
    pub max_inactive_unacked: u64,
    /// `smacks_max_ack_delay` (None when 0).
    pub max_ack_delay: Option<Duration>,
    pub max_queue_size: usize,
    pub max_old_sessions: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            hibernation_time: Duration::from_secs(600),
            max_unacked: 0,
            max_inactive_unacked: 256,
            max_ack_delay: Some(Duration::from_secs(30)),
            max_queue_size: 500,
            max_old_sessions: 10,
        }
    }
}

impl Settings {
    pub fn for_host(shared: &Shared, host: &str) -> Settings {
        let s = shared.config.host(host);
        let d = Settings::default();
        let count = |k: &str, def: u64| s.number(k).map_or(def, |n| n.max(0.0) as u64);
        let secs = |k: &str, def: f64| s.number(k).unwrap_or(def).max(0.0);
        let delay = secs("smacks_max_ack_delay", 30.0);
        Settings {
            hibernation_time: Duration::from_secs_f64(secs("smacks_hibernation_time", 600.0)),
            max_unacked: count("smacks_max_unacked_stanzas", d.max_unacked),
            max_inactive_unacked: count(
                "smacks_max_inactive_unacked_stanzas",
                d.max_inactive_unacked,
            ),
            max_ack_delay: (delay > 0.0).then(|| Duration::from_secs_f64(delay)),
            max_queue_size: count("smacks_max_queue_size", 500).max(1) as usize,
            max_old_sessions: count("smacks_max_old_sessions", 10) as usize,
        }
    }
}

/// Whether `smacks` is loaded on `host`.
pub fn enabled_on(shared: &Shared, host: &str) -> bool {
    shared
        .policies
        .get(host)
        .is_some_and(|p| p.modules.contains("smacks"))
}

/// The two features offered on authenticated c2s streams (before bind too).
pub fn features() -> [Element; 2] {
    [SM2, SM3].map(|x| Element::new("sm", x).with_child(Element::new("optional", x)))
}

/// The namespace constant of an element in either SM namespace.
pub fn sm_namespace(xmlns: &str) -> Option<&'static str> {
    match xmlns {
        SM3 => Some(SM3),
        SM2 => Some(SM2),
        _ => None,
    }
}

/// Registers the built-in `delivery/failure` handler (§16.4) on `host`.
pub fn load(core: &mut Core, host: &str) {
    let bus = Bus::Host(host.to_owned());
    core.hook(
        &bus,
        "delivery/failure",
        0.0,
        Rc::new(destroy::builtin_delivery_failure),
    );
}
