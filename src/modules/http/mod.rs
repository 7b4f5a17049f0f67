//! mod_http.
