//! The Prosody configuration language: evaluates a config tree (with `Include`,
//! `VirtualHost`, `Component`, ...) into a [`Config`] of typed options per section.
