//! Listening sockets: which addresses a service listens on (§8.2, a pure function in
//! [`resolve`]) and binding/accepting them with the `network_settings` socket options
//! ([`bind`]). Protocol handling of accepted connections lives elsewhere.

pub mod bind;
pub mod resolve;

pub use bind::{bind_all, bind_service, BoundListener, ListenerError, SocketOptions};
pub use resolve::{
    duplicate_bindings, resolve_addresses, InterfaceOptions, ResolveError, ServiceSpec,
};
