//! The Lua plugin ecosystem (issue 22): load rules, Prosody's util.* libraries as our own
//! implementations, the account events, Lua auth and storage providers, and stock
//! plugins driven through a real client. Submodules by concern under `tests/lua/`.

#[path = "harness/mod.rs"]
mod shared_harness;
use shared_harness::{support, tcp_support};

#[path = "lua/core_hooks.rs"]
mod core_hooks;
#[path = "lua/examples.rs"]
mod examples;
#[path = "lua/harness.rs"]
mod harness;
#[path = "lua/http_client.rs"]
mod http_client;
#[path = "lua/libraries.rs"]
mod libraries;
#[path = "lua/load_rules.rs"]
mod load_rules;
#[path = "lua/plugins.rs"]
mod plugins;
#[path = "lua/providers.rs"]
mod providers;
#[path = "lua/runtime.rs"]
mod runtime;
#[path = "lua/session_hooks.rs"]
mod session_hooks;
#[path = "lua/stanza_writeback.rs"]
mod stanza_writeback;
#[path = "lua/stock.rs"]
mod stock;
#[path = "lua/stock_plugins.rs"]
mod stock_plugins;
#[path = "lua/sweep.rs"]
mod sweep;
