//! Rate and size limits: `limits` option parsing, the token-bucket throttle and its
//! driver, auth limits, WebSocket and TCP limits end to end, and the load bench's smoke run.

#[path = "../harness/mod.rs"]
mod harness;
use harness::{support, tcp_support};

mod auth;
mod bench_smoke;
mod driver;
mod parse;
mod tcp;
mod throttle;
mod websocket;
