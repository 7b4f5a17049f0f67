//! XMPP protocol pieces without IO: JIDs and stringprep, namespaces, stanza and stream
//! errors, and the SASL mechanisms.

// LEAD: enable once xml lands (error.rs needs `lilt::xml::Element`).
#[cfg(any())]
pub mod error;
pub mod jid;
pub mod ns;
pub mod sasl;
