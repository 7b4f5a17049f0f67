//! The core: hosts, sessions, the router and the event bus, owned by one thread.
