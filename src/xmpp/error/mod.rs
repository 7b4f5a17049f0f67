//! Stanza errors (RFC 6120 §8.3) and stream errors (§4.9) as typed values, rendered in the
//! shapes Prosody sends them (`st.error_reply`, `session:close{condition, text}`). Native
//! code names a condition by variant; only conditions named by Lua code stay strings.

mod conditions;
mod stanza;
mod stream;
#[cfg(test)]
mod tests;

pub use conditions::{ErrorType, StanzaCondition, StreamCondition};
pub use stanza::{named_error_reply, StanzaError};
pub use stream::{named_stream_error, StreamError};
