//! What provides each module on each host (issue 15 point 3): Lilt's native code, a Lua
//! file (its path, or `lilt:` for a bundled plugin), or nothing — with the reason, so
//! the startup log, `lilt check config` and the admin console's `module:list()` tell the
//! same truth. Which names are native comes from [`crate::modules::is_native`].

use std::collections::{BTreeMap, HashMap};

use super::loader::{self, Located};
use crate::config::Config;
use crate::core::Core;

/// Where a module name would come from, decided from the config alone (no Lua runs).
#[derive(Debug, Clone)]
pub enum Source {
    /// Lilt's own module.
    Native,
    /// A Lua plugin: a file on `plugin_paths`, or one bundled with Lilt.
    Lua(Located),
    /// Nothing provides it; the text says why (and what would).
    Missing(String),
}

/// What really provides a module on a running host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provider {
    Native,
    /// Loaded from this Lua file (`lilt:mod_x.lua` when bundled).
    Lua(String),
    /// Not loaded; the reason.
    Missing(String),
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Provider::Native => f.write_str("native"),
            Provider::Lua(path) => write!(f, "Lua: {path}"),
            Provider::Missing(why) => write!(f, "not loaded: {why}"),
        }
    }
}

/// Every host's modules and what provides them (core-thread state).
#[derive(Debug, Default)]
pub struct Provenance {
    hosts: HashMap<String, BTreeMap<String, Provider>>,
}

impl Provenance {
    pub fn record(&mut self, host: &str, name: &str, provider: Provider) {
        self.hosts
            .entry(host.to_owned())
            .or_default()
            .insert(name.to_owned(), provider);
    }

    /// The recorded modules of `host`, by name.
    pub fn host(&self, host: &str) -> Option<&BTreeMap<String, Provider>> {
        self.hosts.get(host)
    }

    pub fn get(&self, host: &str, name: &str) -> Option<&Provider> {
        self.hosts.get(host).and_then(|m| m.get(name))
    }
}

/// Decides what provides `name`: a plugin on `plugin_paths` first (Prosody's search
/// order) unless Lilt keeps the name for itself, then the native module, then a bundled
/// plugin.
pub fn source(config: &Config, name: &str) -> Source {
    match loader::locate(config, name) {
        Some(p) if p.on_plugin_path => Source::Lua(p),
        _ if crate::modules::is_native(name) => Source::Native,
        Some(bundled) => Source::Lua(bundled),
        None => match loader::locate_on_paths(config, name) {
            Some(p) => Source::Missing(format!(
                "Lilt has no native mod_{name} yet, and it does not load {} (Lilt provides \
                 this module natively or not at all: that copy depends on Prosody's own core)",
                p.path
            )),
            None => Source::Missing(missing_reason(config, name)),
        },
    }
}

/// Why nothing provides `name`, with what would.
fn missing_reason(config: &Config, name: &str) -> String {
    let dirs = loader::plugin_dirs(config);
    let searched = if dirs.is_empty() {
        "no plugin_paths are set".to_owned()
    } else {
        let list: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        format!("no mod_{name}.lua in plugin_paths ({})", list.join(", "))
    };
    let provider = if is_prosody_module(name) {
        "it is one of Prosody 0.12's own modules, which Lilt does not provide yet".to_owned()
    } else {
        format!(
            "a plugin would provide it: put mod_{name}.lua (e.g. from the prosody-modules \
             collection) in a plugin_paths directory"
        )
    };
    format!("Lilt has no native mod_{name} and {searched}; {provider}")
}

/// Module names shipped with Prosody 0.12.3 itself (Debian's `prosody` package) (so a missing one is "not yet in
/// Lilt", not "install a plugin").
const PROSODY_MODULES: &[&str] = &[
    "admin_adhoc",
    "admin_shell",
    "admin_socket",
    "admin_telnet",
    "announce",
    "auth_anonymous",
    "auth_insecure",
    "auth_internal_hashed",
    "auth_internal_plain",
    "auth_ldap",
    "authz_internal",
    "blocklist",
    "bookmarks",
    "bosh",
    "c2s",
    "carbons",
    "component",
    "cron",
    "csi",
    "csi_simple",
    "debug_sql",
    "dialback",
    "disco",
    "external_services",
    "groups",
    "http",
    "http_errors",
    "http_file_share",
    "http_files",
    "http_openmetrics",
    "invites",
    "invites_adhoc",
    "invites_register",
    "iq",
    "lastactivity",
    "legacyauth",
    "limits",
    "mam",
    "message",
    "mimicking",
    "motd",
    "muc",
    "muc_mam",
    "muc_unique",
    "net_multiplex",
    "offline",
    "pep",
    "pep_plus",
    "pep_simple",
    "ping",
    "posix",
    "presence",
    "private",
    "proxy65",
    "pubsub",
    "register",
    "register_ibr",
    "register_limits",
    "roster",
    "s2s",
    "s2s_auth_certs",
    "s2s_bidi",
    "saslauth",
    "scansion_record",
    "server_contact_info",
    "smacks",
    "stanza_debug",
    "storage_internal",
    "storage_memory",
    "storage_none",
    "storage_sql",
    "storage_xep0227",
    "time",
    "tls",
    "tokenauth",
    "tombstones",
    "turn_external",
    "uptime",
    "user_account_management",
    "vcard",
    "vcard4",
    "vcard_legacy",
    "version",
    "watchregistrations",
    "websocket",
    "welcome",
];

fn is_prosody_module(name: &str) -> bool {
    PROSODY_MODULES.contains(&name)
}

/// The provenance table of the core.
pub fn table(core: &mut Core) -> &mut Provenance {
    core.state::<Provenance>()
}
