//! Native modules, one folder per Prosody module name. A module folder exports a
//! [`handle::Definition`] and gets one line in [`MODULES`]; modules still in the older
//! shape (a `load(core, host)` function) are listed in [`loader`] and wrapped by
//! [`native`] until each moves to the handle.

pub mod admin_shell;
pub mod auth_internal_hashed;
pub mod blocklist;
pub mod bookmarks;
pub mod bosh;
pub mod c2s;
pub mod carbons;
pub mod component;
pub mod csi;
pub mod disco;
pub mod handle;
pub mod http;
pub mod http_file_share;
pub mod http_files;
pub mod iq;
pub mod lastactivity;
pub mod limits;
pub mod mam;
pub mod message;
pub mod muc;
pub mod offline;
pub mod openmetrics;
pub mod pep;
pub mod ping;
pub mod posix;
pub mod presence;
pub mod private;
pub mod proxycheck;
pub mod pubsub;
pub mod register;
pub mod roster;
pub mod s2s;
pub mod saslauth;
pub mod server_contact_info;
pub mod smacks;
pub mod time;
pub mod tls;
pub mod uptime;
pub mod vcard;
pub mod vcard4;
pub mod vcard_legacy;
pub mod version;
pub mod websocket;

use crate::core::Core;
use handle::Definition;

/// The native modules written on the module handle, one line each.
pub const MODULES: &[Definition] = &[ping::MODULE];

/// Registers a native module's handlers on one host (the older module shape).
pub type Loader = fn(&mut Core, &str);

/// A native module that runs on the core thread, in either shape.
#[derive(Clone, Copy)]
pub enum Native {
    /// On the module handle: can be unloaded at run time.
    Handle(&'static Definition),
    /// A `load(core, host)` function: built in until restart.
    Legacy(Loader),
}

/// The native module of this name that runs on the core thread, if Lilt has one.
pub fn native(name: &str) -> Option<Native> {
    if let Some(d) = MODULES.iter().find(|d| d.name == name) {
        return Some(Native::Handle(d));
    }
    loader(name).map(Native::Legacy)
}

/// Loads native module `name` on `host` and records it among the host's modules;
/// false when Lilt has no core-thread module of that name.
pub fn load_native(core: &mut Core, host: &str, name: &str) -> bool {
    match native(name) {
        Some(Native::Handle(d)) => handle::load(core, host, d),
        Some(Native::Legacy(load)) => {
            load(core, host);
            if let Some(h) = core.hosts.get_mut(host) {
                h.modules.insert(name.to_owned());
            }
        }
        None => return false,
    }
    true
}

/// Whether native module `name` can be unloaded at run time (it is on the handle).
pub fn unloadable(name: &str) -> bool {
    matches!(native(name), Some(Native::Handle(_)))
}

/// The older-shape native module of this name, if Lilt has one (see [`native`] for
/// both shapes). (`http`, `websocket`, `tls` and `c2s` are transports, set up by `net`.)
pub fn loader(name: &str) -> Option<Loader> {
    Some(match name {
        "iq" => iq::load,
        "message" => message::load,
        "presence" => presence::load,
        "saslauth" => saslauth::load,
        "disco" => disco::load,
        // services
        "version" => version::load,
        "time" => time::load,
        "uptime" => uptime::load,
        "lastactivity" => lastactivity::load,
        "vcard" => vcard::load,
        "vcard_legacy" => vcard_legacy::load,
        "private" => private::load,
        "csi" => csi::load,
        "csi_simple" => csi::load_simple,
        "smacks" => smacks::load,
        "server_contact_info" => server_contact_info::load,
        "register" => register::load,
        "roster" => roster::load,
        "offline" => offline::load,
        "carbons" => carbons::load,
        "blocklist" => blocklist::load,
        "component" => component::load,
        "mam" => mam::load,
        "muc" => muc::load,
        "muc_mam" => muc::mam::load,
        "pep" => pep::load,
        "bookmarks" => bookmarks::load,
        "vcard4" => vcard4::load,
        "pubsub" => pubsub::load,
        "http_file_share" => http_file_share::load,
        _ => return None,
    })
}

/// Native modules with no core-thread loader: transports and services that `net`,
/// startup or another module sets up from the config. A module that is set up this way
/// belongs here, so `lilt check config`, the startup log and `module:list()` count it as
/// provided.
const SET_UP_ELSEWHERE: &[&str] = &[
    "c2s",
    "websocket",
    "bosh",
    "http",
    "tls",
    "bind",
    "limits",
    "auth_internal_hashed",
    "authz_internal",
    "storage_internal",
    // `storage = "sql"` is served by the native SQL driver (src/storage), which is
    // what Prosody's mod_storage_sql provides.
    "storage_sql",
    "http_files",
    openmetrics::MODULE_NAME,
    "admin_shell",
    "admin_socket",
    register::ibr::MODULE,
    "posix",
    // Federation: streams, dialback and certificate checks live in the s2s listener.
    s2s::MODULE_NAMES[0],
    s2s::MODULE_NAMES[1],
    s2s::MODULE_NAMES[2],
    s2s::MODULE_NAMES[3],
];

/// Whether Lilt provides module `name` natively: it has a [`loader`], or is one of the
/// transports and services set up outside the core thread.
pub fn is_native(name: &str) -> bool {
    native(name).is_some() || SET_UP_ELSEWHERE.contains(&name)
}
