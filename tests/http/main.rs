//! The HTTP side: Lilt's HTTP server and routes, the example web chat page in Chromium,
//! nginx and Apache in front of Lilt (the guide's proxy configs), BOSH (XEP-0124/0206)
//! and XEP-0363 uploads through mod_http_file_share.

#[path = "../harness/mod.rs"]
mod harness;
use harness::{common, http_support, proxy, support};

mod bosh;
mod edge_proxy_check;
mod edge_proxy_interop;
mod http_file_share;
mod http_server;
mod web_chat;
