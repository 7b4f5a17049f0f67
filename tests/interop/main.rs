//! Real third-party clients and Prosody itself against Lilt: @xmpp/client over WebSocket
//! and TCP, IM scenarios, a Prosody-made data dir served by Lilt and the other way round,
//! Prosody's account storage, the bundled config tree, and Converse.js in headless
//! Chromium (converse/; its drivers are in tests/web/converse). The node and Python
//! drivers of the others live next to this file.

#[path = "../harness/mod.rs"]
mod harness;
use harness::common;

mod bundled_config;
mod converse;
mod im;
mod im_data;
mod prosody_accounts;
mod websocket;

/// The domain the IM scenarios and data phases run on.
pub const DOMAIN: &str = "example.test";

/// The harness's minimal config plus the IM modules the scenarios need, as Prosody's side
/// has them (offline is autoloaded, as in Prosody).
pub fn im_config() -> String {
    let base = common::minimal_config(DOMAIN);
    let line = r#""saslauth", "roster" }"#;
    assert!(
        base.contains(line),
        "minimal_config changed; update im_config:\n{base}"
    );
    base.replace(
        line,
        r#""saslauth", "roster", "carbons", "blocklist", "vcard_legacy", "private" }"#,
    )
}
