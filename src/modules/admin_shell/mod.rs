//! mod_admin_shell and mod_admin_socket: administering the running server through a unix
//! socket (`admin_socket`, default `prosody.sock` in the data directory) that `lilt shell`
//! — or Prosody's own `prosodyctl shell` — talks to. Commands load, unload and reload Lua
//! plugins, list sessions, reload the config and stop the server, without dropping any
//! client connection. This module does not give remote access: the socket is owner-only.

pub mod client;
pub mod command;
pub mod console;
pub mod modules;
pub mod protocol;
pub mod sessions;
pub mod socket;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use client::{run_cli, Client};
pub use socket::AdminSocket;

use crate::config::Config;
use crate::core::Shared;

/// Names in `modules_enabled` that turn the socket on: Prosody's console module, and the
/// socket module it depends on.
pub const MODULE_NAMES: &[&str] = &["admin_shell", "admin_socket"];
/// `admin_socket`'s default, relative to the data directory.
pub const DEFAULT_SOCKET: &str = "prosody.sock";

/// What went wrong with the admin socket, and whose doing it is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// The server could not create its socket (the operator's path or permissions).
    #[error("cannot listen on the admin socket {0}: {1}")]
    Bind(PathBuf, std::io::Error),
    /// Another running server answers on the socket path.
    #[error("the admin socket {0} is in use by a running server")]
    InUse(PathBuf),
    /// Something other than a socket sits at the configured path.
    #[error("{0} exists and is not a socket; not replacing it")]
    NotASocket(PathBuf),
    /// `lilt shell` found no server at the path.
    #[error("cannot connect to {0}: {1}")]
    Connect(PathBuf, std::io::Error),
    /// The peer broke the admin stream.
    #[error("admin stream: {0}")]
    Protocol(String),
}

/// Whether the config loads the console anywhere (it is a global module in Prosody, so
/// naming it on any host turns it on).
pub fn enabled(config: &Config) -> bool {
    let named =
        |mods: &std::collections::BTreeSet<String>| MODULE_NAMES.iter().any(|m| mods.contains(*m));
    let global: std::collections::BTreeSet<String> = config
        .global()
        .strings("modules_enabled")
        .into_iter()
        .collect();
    let disabled = config.global().set("modules_disabled");
    (named(&global) && !MODULE_NAMES.iter().any(|m| disabled.contains(*m)))
        || config
            .virtual_hosts()
            .iter()
            .any(|h| named(&config.modules_for_host(h)))
}

/// Resolves a socket path as Prosody does: relative to the data directory.
pub fn resolve(config: &Config, raw: &Path) -> PathBuf {
    if raw.is_absolute() {
        raw.to_path_buf()
    } else {
        config.data_path().join(raw)
    }
}

/// The configured socket path (`admin_socket`).
pub fn socket_path(config: &Config) -> PathBuf {
    let raw = config
        .global()
        .string("admin_socket")
        .unwrap_or_else(|| DEFAULT_SOCKET.to_owned());
    resolve(config, Path::new(&raw))
}

/// Starts the socket when the config enables the console. Failing to listen is logged
/// and the server goes on without it, as Prosody does. Must run inside the tokio runtime.
pub fn start(shared: &Arc<Shared>) -> Option<AdminSocket> {
    if !enabled(&shared.config) {
        return None;
    }
    match socket::listen(socket_path(&shared.config), shared.clone()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::error!("{e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        Config::load_str(Path::new("/tmp/admin/prosody.cfg.lua"), text).expect("config")
    }

    #[test]
    fn console_is_on_when_either_name_is_enabled_and_not_disabled() {
        let on = "modules_enabled = { \"admin_shell\" }\nVirtualHost \"a.test\"\n";
        assert!(enabled(&config(on)));
        let socket = "modules_enabled = { \"admin_socket\" }\nVirtualHost \"a.test\"\n";
        assert!(enabled(&config(socket)));
        let off = "modules_enabled = { \"ping\" }\nVirtualHost \"a.test\"\n";
        assert!(!enabled(&config(off)));
        let host = "VirtualHost \"a.test\"\nmodules_enabled = { \"admin_shell\" }\n";
        assert!(enabled(&config(host)));
    }

    #[test]
    fn socket_path_is_relative_to_the_data_directory() {
        let c = config("data_path = \"/srv/lilt\"\nVirtualHost \"a.test\"\n");
        assert_eq!(socket_path(&c), PathBuf::from("/srv/lilt/prosody.sock"));
        let c = config("data_path = \"/srv/lilt\"\nadmin_socket = \"run/a.sock\"\n");
        assert_eq!(socket_path(&c), PathBuf::from("/srv/lilt/run/a.sock"));
        let c = config("admin_socket = \"/run/lilt.sock\"\n");
        assert_eq!(socket_path(&c), PathBuf::from("/run/lilt.sock"));
    }
}
