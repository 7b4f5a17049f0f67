//! The Lua plugin ecosystem (issue 22): load rules, Prosody's util.* libraries as our own
//! implementations, the account events, Lua auth and storage providers, and stock
//! plugins driven through a real client. Submodules by concern under `tests/lua/`.

#[path = "support/mod.rs"]
mod support;

#[path = "lua/harness.rs"]
mod harness;
#[path = "lua/http_client.rs"]
mod http_client;
#[path = "lua/libraries.rs"]
mod libraries;
#[path = "lua/load_rules.rs"]
mod load_rules;
#[path = "lua/providers.rs"]
mod providers;
#[path = "lua/stock.rs"]
mod stock;
#[path = "lua/sweep.rs"]
mod sweep;
