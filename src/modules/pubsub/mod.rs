//! The pubsub engine (XEP-0060) shared by PEP (`modules::pep`) and the pubsub
//! component (`Component "pubsub.example.com" "pubsub"`), behaving as Prosody 0.12's
//! util.pubsub + pubsub.lib.lua (reference §14.1–14.4).
//!
//! Sans-IO: a [`service::Service`] is fed requests and returns replies; what it must
//! send or announce waits in its outbox. Storage is one adapter ([`store`]) in
//! Prosody's layout. This module itself is mod_pubsub, the component.

pub mod component;
pub mod config;
pub mod error;
pub mod features;
pub mod lua;
pub mod notify;
pub mod protocol;
pub mod service;
pub mod store;

#[cfg(test)]
mod tests;

pub use component::load;
