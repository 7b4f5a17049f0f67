//! XMPP protocol pieces without IO: JIDs and stringprep, namespaces, stanza and stream
//! errors, and the SASL mechanisms.
