//! The Lua module host (Prosody's module API). Not implemented yet.
