//! Finding plugins (reference §2.1): each directory of `plugin_paths` is searched with
//! Prosody's file-name patterns, then Lilt's bundled plugins; also the libraries of
//! `module:require`. (The `--%` metadata header is read by `lua/core/modulemanager.lua`.)

use std::path::{Path, PathBuf};

use crate::config::Config;

use super::sources;

/// A plugin file that was found.
#[derive(Debug, Clone)]
pub struct Located {
    /// The file's path, or `lilt:<file>` for a bundled plugin.
    pub path: String,
    /// The directory holding the file (`None` for bundled plugins).
    pub dir: Option<PathBuf>,
    pub source: String,
    /// Found on an operator's `plugin_paths` directory (not bundled with Lilt).
    pub on_plugin_path: bool,
}

/// Names Lilt keeps for itself, whatever `plugin_paths` holds: the transports, the
/// routing core and login (Prosody's own copies assume its network layer), and the IM
/// modules whose state the native core shares (rosters, offline messages, carbons,
/// blocking, registration, CSI, stream management) and group chat (rooms live in the
/// native MUC service, which Lua reaches through its room API). The server-to-server helpers are here
/// too. A reserved name is provided natively or not at all: a Lua file of that name on
/// `plugin_paths` (Prosody's own, typically) is never loaded, and when Lilt has no native
/// module yet the name is reported missing (see `provenance`). Leaf services (ping,
/// version, time, uptime, lastactivity, vCard, private storage, ...) are replaced by a
/// plugin on `plugin_paths`, as in Prosody.
const RESERVED: &[&str] = &[
    "c2s",
    "s2s",
    "websocket",
    "bosh",
    "http",
    "tls",
    "saslauth",
    "bind",
    "iq",
    "message",
    "presence",
    "disco",
    "limits",
    "auth_internal_hashed",
    "storage_internal",
    "storage_sql",
    "posix",
    "dialback",
    "s2s_auth_certs",
    "s2s_bidi",
    "roster",
    "offline",
    "carbons",
    "blocklist",
    "register",
    "register_ibr",
    "csi",
    "smacks",
    "muc",
    "muc_mam",
    "component",
    "admin_shell",
    "admin_socket",
];

/// True for names only Lilt's native code may provide.
pub fn is_reserved(name: &str) -> bool {
    RESERVED.contains(&name)
}

/// True when `name` is reserved and Lilt really has it natively (so `module:depends`
/// may take it as present).
pub fn is_core_native(name: &str) -> bool {
    is_reserved(name) && crate::modules::is_native(name)
}

/// The operator's plugin directories, relative ones against the config directory.
pub fn plugin_dirs(config: &Config) -> Vec<PathBuf> {
    let base = config.config_dir().to_path_buf();
    let mut dirs = Vec::new();
    for p in config.global().strings("plugin_paths") {
        for part in p.split(';') {
            if part.is_empty() {
                continue;
            }
            let path = PathBuf::from(part);
            dirs.push(if path.is_absolute() {
                path
            } else {
                base.join(path)
            });
        }
    }
    dirs
}

/// The `package.path` plugins' `require` searches: each `plugin_paths` directory, and
/// nothing else. Never `./?.lua`: a file in the server's working directory must not be
/// able to shadow a library (Lilt's own libraries are compiled in and found first).
pub fn lua_search_path(config: &Config) -> String {
    plugin_dirs(config)
        .iter()
        .flat_map(|d| {
            let d = d.display();
            [format!("{d}/?.lua"), format!("{d}/?/init.lua")]
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// The candidate file names for plugin `name`, in Prosody's order.
fn candidates(name: &str) -> Vec<String> {
    vec![
        format!("mod_{name}/{name}/mod_{name}.lua"),
        format!("mod_{name}/mod_{name}.lua"),
        format!("{name}/mod_{name}.lua"),
        format!("mod_{name}.lua"),
        format!("share/lua/5.4/mod_{name}.lua"),
        format!("share/lua/5.4/mod_{name}/mod_{name}.lua"),
    ]
}

fn read_candidate(dir: &Path, rel: &str) -> Option<Located> {
    let path = dir.join(rel);
    let source = std::fs::read_to_string(&path).ok()?;
    Some(Located {
        path: path.display().to_string(),
        dir: path.parent().map(Path::to_path_buf),
        source,
        on_plugin_path: true,
    })
}

/// Finds plugin `name`: `plugin_paths` first (never for a reserved name), then Lilt's
/// bundled plugins.
pub fn locate(config: &Config, name: &str) -> Option<Located> {
    if name.is_empty() || name.contains("..") {
        return None;
    }
    if !is_reserved(name) {
        if let Some(found) = locate_on_paths(config, name) {
            return Some(found);
        }
    }
    let file = format!("mod_{name}.lua");
    sources::plugin(&file).map(|source| Located {
        path: format!("lilt:{file}"),
        dir: None,
        source: source.to_owned(),
        on_plugin_path: false,
    })
}

/// The file `name` would load from on `plugin_paths`, reserved or not.
pub fn locate_on_paths(config: &Config, name: &str) -> Option<Located> {
    if name.is_empty() || name.contains("..") {
        return None;
    }
    for dir in plugin_dirs(config) {
        for rel in candidates(name) {
            if let Some(found) = read_candidate(&dir, &rel) {
                return Some(found);
            }
        }
    }
    None
}

/// Finds the library `lib` for `module:require` (§2.1): `lib.lib.lua` then `lib.lua` in the
/// module's own directory, then the same names on the plugin search path.
pub fn locate_lib(config: &Config, module_dir: Option<&Path>, lib: &str) -> Option<Located> {
    if lib.contains("..") {
        return None;
    }
    let names = [format!("{lib}.lib.lua"), format!("{lib}.lua")];
    let mut dirs: Vec<PathBuf> = module_dir.map(Path::to_path_buf).into_iter().collect();
    for d in plugin_dirs(config) {
        dirs.push(d.join(format!("mod_{lib}")));
        dirs.push(d.join(lib));
        dirs.push(d);
    }
    for dir in &dirs {
        for n in &names {
            if let Some(found) = read_candidate(dir, n) {
                return Some(found);
            }
        }
    }
    names.iter().find_map(|n| {
        sources::plugin(n).map(|source| Located {
            path: format!("lilt:{n}"),
            dir: None,
            source: source.to_owned(),
            on_plugin_path: false,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidate_order_follows_prosody() {
        let c = candidates("x");
        assert_eq!(c[0], "mod_x/x/mod_x.lua");
        assert_eq!(c[3], "mod_x.lua");
    }
}
