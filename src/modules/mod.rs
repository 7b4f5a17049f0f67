//! Native modules, one folder per Prosody module name.

pub mod auth_internal_hashed;
pub mod blocklist;
pub mod c2s;
pub mod carbons;
pub mod disco;
pub mod http;
pub mod iq;
pub mod limits;
pub mod message;
pub mod offline;
pub mod ping;
pub mod presence;
pub mod roster;
pub mod saslauth;
pub mod tls;
pub mod websocket;

use crate::core::Core;

/// Registers a native module's handlers on one host.
pub type Loader = fn(&mut Core, &str);

/// The native module of this name, if Lilt has one that runs on the core thread.
/// (`http`, `websocket`, `tls` and `c2s` are transports, set up by `net`.)
pub fn loader(name: &str) -> Option<Loader> {
    Some(match name {
        "iq" => iq::load,
        "message" => message::load,
        "presence" => presence::load,
        "saslauth" => saslauth::load,
        "disco" => disco::load,
        "ping" => ping::load,
        "roster" => roster::load,
        "offline" => offline::load,
        "carbons" => carbons::load,
        "blocklist" => blocklist::load,
        _ => return None,
    })
}
