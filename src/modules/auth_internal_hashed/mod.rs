//! mod_auth_internal_hashed.
