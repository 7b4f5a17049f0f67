//! Listening sockets: which addresses a service listens on (§8.2, a pure function in
//! [`resolve`]) and binding/accepting them with the `network_settings` socket options
//! ([`bind`]). Protocol handling of accepted connections lives elsewhere.

pub mod bind;
pub mod resolve;

pub use bind::{bind_all, bind_service, BoundListener, ListenerError, SocketOptions};
pub use resolve::{
    duplicate_bindings, resolve_addresses, InterfaceOptions, ResolveError, ServiceSpec,
};

/// Why the listeners could not start (`net::start`): an interface option that is not an
/// address (the operator's config) or a port that could not be bound or configured (the
/// environment: port taken, no permission, address not on this machine).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    #[error(transparent)]
    Interface(#[from] ResolveError),
    #[error(transparent)]
    Bind(#[from] ListenerError),
}
