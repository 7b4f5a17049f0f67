//! mod_saslauth.
