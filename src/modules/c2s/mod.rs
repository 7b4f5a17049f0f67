//! mod_c2s: client-to-server streams. [`stream`] is the sans-IO state machine every
//! transport (WebSocket now, TCP later) drives.

pub mod stream;

#[cfg(test)]
mod tests;
