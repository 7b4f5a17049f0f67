//! Storage drivers speaking Prosody's formats: `internal` (Lua table files under
//! `data_path`).
