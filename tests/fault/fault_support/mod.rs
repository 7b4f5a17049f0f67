//! Shared pieces of the fault tests: an in-process server that keeps its `Listeners` (so a
//! test can see how many WebSocket sessions are still alive), and small socket helpers.
#![allow(dead_code)]

pub mod disk;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use lilt::config::Config;
use lilt::core::Shared;

pub const HOST: &str = "example.test";

pub struct FaultServer {
    pub addr: SocketAddr,
    pub shared: Arc<Shared>,
    pub listeners: lilt::net::Listeners,
    pub dir: tempfile::TempDir,
}

/// Starts a server from `support::base_config(extra)`-style text (data_path "data").
pub async fn start(config_text: &str) -> FaultServer {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("prosody.cfg.lua");
    let data = dir.path().join("data");
    let text = config_text.replace(
        "data_path = \"data\"",
        &format!("data_path = {:?}", data.display().to_string()),
    );
    std::fs::write(&cfg, text).expect("write config");
    let config = Config::load(&cfg).expect("config loads");
    let (shared, rx) = lilt::core::server::build(config);
    lilt::core::server::spawn_core(shared.clone(), rx);
    let listeners = lilt::net::start(shared.clone()).await.expect("listeners");
    FaultServer {
        addr: listeners.http_addrs()[0],
        shared,
        listeners,
        dir,
    }
}

impl FaultServer {
    pub fn add_user(&self, user: &str, password: &str) {
        self.shared
            .accounts
            .create(HOST, user, password)
            .expect("create account");
    }

    /// Waits until at most `n` WebSocket sessions are alive; false on timeout.
    pub async fn sessions_drop_to(&self, n: usize, within: Duration) -> bool {
        let end = tokio::time::Instant::now() + within;
        while tokio::time::Instant::now() < end {
            if self.listeners.sessions() <= n {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.listeners.sessions() <= n
    }
}

/// Raises the soft descriptor limit to the hard one (tests open many sockets).
pub fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read/write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
    lim.rlim_cur
}
