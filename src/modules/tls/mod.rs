//! mod_tls.
