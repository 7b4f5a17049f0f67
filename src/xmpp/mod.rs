//! XMPP protocol pieces without IO: JIDs and stringprep, namespaces, stanza and stream
//! errors, and the SASL mechanisms.


pub mod error;
pub mod jid;
pub mod ns;
pub mod sasl;
