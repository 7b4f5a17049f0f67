//! SASL mechanisms as sans-IO state machines (PLAIN, SCRAM-SHA-1, SCRAM-SHA-256) and the
//! failure conditions mod_saslauth reports. The caller owns base64 on the wire, the account
//! lookup and the `<auth>`/`<response>` plumbing.

mod hashes;
mod plain;
mod scram;

pub use hashes::{derive_credentials, ScramCredentials, ScramHash};
pub use plain::{parse_plain, PlainCredentials};
pub use scram::{ScramAwaitCreds, ScramAwaitFinal, ScramServer, DEFAULT_ITERATIONS, TLS_EXPORTER};

/// Prosody's text for bad credentials, shown to clients in `<failure><text>`.
pub const NOT_AUTHORIZED_TEXT: &str =
    "Unable to authorize you with the authentication credentials you've sent.";

/// Why a SASL exchange failed. Every variant maps to an RFC 6120 §6.5 condition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SaslError {
    /// The client's message breaks the mechanism's syntax; the text says how.
    #[error("malformed SASL request: {0}")]
    MalformedRequest(&'static str),
    /// Wrong username or password (PLAIN, or the caller's verdict).
    #[error("not authorized")]
    NotAuthorized,
    /// SCRAM: the client proof did not verify (wrong password or unknown user).
    #[error("SCRAM client proof does not match")]
    InvalidProof,
    /// The authorization identity names someone other than the authenticated user.
    #[error("invalid authorization identity")]
    InvalidAuthzid,
    #[error("account disabled")]
    AccountDisabled,
    /// Our side failed (storage, credentials could not be computed).
    #[error("temporary authentication failure")]
    TemporaryAuthFailure,
    #[error("encryption required")]
    EncryptionRequired,
    #[error("invalid mechanism")]
    InvalidMechanism,
    #[error("incorrect base64 encoding")]
    IncorrectEncoding,
    #[error("aborted by the client")]
    Aborted,
}

impl SaslError {
    /// The defined condition element name for `<failure>`.
    pub fn condition(&self) -> &'static str {
        match self {
            SaslError::MalformedRequest(_) => "malformed-request",
            SaslError::NotAuthorized | SaslError::InvalidProof => "not-authorized",
            SaslError::InvalidAuthzid => "invalid-authzid",
            SaslError::AccountDisabled => "account-disabled",
            SaslError::TemporaryAuthFailure => "temporary-auth-failure",
            SaslError::EncryptionRequired => "encryption-required",
            SaslError::InvalidMechanism => "invalid-mechanism",
            SaslError::IncorrectEncoding => "incorrect-encoding",
            SaslError::Aborted => "aborted",
        }
    }

    /// The `<text>` Prosody sends with this failure, if any.
    pub fn text(&self) -> Option<&'static str> {
        match self {
            SaslError::MalformedRequest("") => None,
            SaslError::MalformedRequest(text) => Some(text),
            SaslError::NotAuthorized => Some(NOT_AUTHORIZED_TEXT),
            SaslError::InvalidProof => {
                Some("The response provided by the client doesn't match the one we calculated.")
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_match_rfc6120_names() {
        assert_eq!(
            SaslError::MalformedRequest("x").condition(),
            "malformed-request"
        );
        assert_eq!(SaslError::NotAuthorized.condition(), "not-authorized");
        assert_eq!(SaslError::InvalidProof.condition(), "not-authorized");
        assert_eq!(SaslError::InvalidAuthzid.condition(), "invalid-authzid");
        assert_eq!(
            SaslError::IncorrectEncoding.condition(),
            "incorrect-encoding"
        );
        assert_eq!(SaslError::Aborted.condition(), "aborted");
        assert_eq!(SaslError::NotAuthorized.text(), Some(NOT_AUTHORIZED_TEXT));
        assert_eq!(SaslError::MalformedRequest("").text(), None);
    }
}
