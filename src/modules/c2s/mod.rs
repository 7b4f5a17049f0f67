//! mod_c2s.
