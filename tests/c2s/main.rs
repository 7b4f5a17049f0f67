//! Client-to-server sessions end to end over real sockets, one submodule per concern:
//! raw TCP with STARTTLS and direct TLS, WebSocket (RFC 7395) in process and behind the
//! edge, SASL against stored accounts, TLS certificate discovery and handshakes, and the
//! XML stream parser's properties.

#[path = "../harness/mod.rs"]
mod harness;
use harness::{http_support, proxy, support, tcp_support};

mod edge_websocket;
mod every_framing;
mod http_websocket;
mod sasl_accounts;
mod tcp_c2s;
mod tcp_check_config;
mod tcp_errors;
mod tcp_slixmpp;
mod tls_discovery;
mod tls_handshake;
mod websocket;
mod websocket_framing;
mod websocket_tls;
mod xml_props;
