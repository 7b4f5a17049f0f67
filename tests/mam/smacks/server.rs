//! Lilt in-process with TCP c2s and WebSocket on free ports, and Debian's Prosody with its
//! stock mod_smacks on the same kind of ports, for the same scripts.
#![allow(dead_code)]

use std::sync::Arc;

use lilt::config::Config;
use lilt::core::Shared;

use super::client::Addrs;
use crate::common::Prosody;
use crate::support::HOST;

pub struct Lilt {
    pub addrs: Addrs,
    pub shared: Arc<Shared>,
    pub dir: tempfile::TempDir,
    _listeners: lilt::net::Listeners,
}

pub fn config(extra: &str) -> String {
    config_with(extra, "")
}

/// `more`: extra entries for `modules_enabled` (e.g. `, "plugin"`).
pub fn config_with(extra: &str, more: &str) -> String {
    format!(
        r#"
http_ports = {{ 0 }}
s2s_ports = {{ }}
https_ports = {{ }}
c2s_ports = {{ 0 }}
c2s_direct_tls_ports = {{ }}
interfaces = {{ "127.0.0.1" }}
data_path = "@DATA@"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
modules_enabled = {{ "websocket", "http", "ping", "disco", "roster", "presence", "message", "offline", "carbons", "smacks"{more} }}
{extra}
VirtualHost "{HOST}"
"#
    )
}

impl Lilt {
    pub async fn start(extra: &str) -> Lilt {
        Self::start_with(extra, "", |_| {}).await
    }

    /// With more modules, after `setup` prepared the temp dir (plugins).
    pub async fn start_with(extra: &str, more: &str, setup: impl FnOnce(&std::path::Path)) -> Lilt {
        let dir = tempfile::tempdir().expect("tempdir");
        setup(dir.path());
        let data = dir.path().join("data");
        let text = config_with(extra, more)
            .replace("@DATA@", &data.display().to_string())
            .replace("@DIR@", &dir.path().display().to_string());
        let path = dir.path().join("prosody.cfg.lua");
        std::fs::write(&path, text).expect("write config");
        let config = Config::load(&path).expect("config loads");
        let (shared, rx) = lilt::core::server::build(config);
        lilt::core::server::spawn_core(shared.clone(), rx);
        let listeners = lilt::net::start(shared.clone()).await.expect("listeners");
        let addrs = Addrs {
            tcp: listeners.c2s_addrs()[0],
            http: listeners.http_addrs()[0],
        };
        for u in ["alice", "bob"] {
            shared.accounts.create(HOST, u, "pw").expect("account");
        }
        Lilt {
            addrs,
            shared,
            dir,
            _listeners: listeners,
        }
    }
}

/// Prosody with mod_smacks (as Debian's config enables it), accounts alice and bob.
pub fn prosody(tmp: &std::path::Path, extra: &str) -> (Prosody, Addrs) {
    let mut p = Prosody::new(&tmp.join("pdata"), HOST);
    let cfg = std::fs::read_to_string(&p.config_path).expect("prosody config");
    let cfg = cfg
        .replace("\"private\" }", "\"private\", \"smacks\" }")
        .replace("VirtualHost", &format!("{extra}\nVirtualHost"));
    std::fs::write(&p.config_path, cfg).expect("write prosody config");
    for u in ["alice", "bob"] {
        p.register(u, HOST, "pw");
    }
    p.start();
    // Prosody opens its c2s port a moment after the HTTP one.
    let up = crate::common::wait_for_port(p.c2s_port, std::time::Duration::from_secs(20), None);
    assert!(up, "prosody's c2s port\n{}", p.log());
    let addrs = Addrs {
        tcp: format!("127.0.0.1:{}", p.c2s_port).parse().expect("addr"),
        http: format!("127.0.0.1:{}", p.http_port).parse().expect("addr"),
    };
    (p, addrs)
}
