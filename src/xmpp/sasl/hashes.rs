//! The SCRAM key schedule (RFC 5802 §3): PBKDF2 salting, HMAC and hash over SHA-1 or
//! SHA-256, with outputs kept on the stack; plus the stored credential record.

use std::fmt;

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest as _, Sha256};

/// The hash a SCRAM mechanism (and an account record) is built on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScramHash {
    Sha1,
    Sha256,
}

impl ScramHash {
    /// The SASL mechanism name.
    pub fn mechanism(self) -> &'static str {
        match self {
            ScramHash::Sha1 => "SCRAM-SHA-1",
            ScramHash::Sha256 => "SCRAM-SHA-256",
        }
    }

    /// Reads Prosody's `password_hash` option value (`"SHA-1"`, `"SHA-256"`).
    pub fn from_option(value: &str) -> Option<ScramHash> {
        match value.to_ascii_uppercase().as_str() {
            "SHA-1" | "SHA1" => Some(ScramHash::Sha1),
            "SHA-256" | "SHA256" => Some(ScramHash::Sha256),
            _ => None,
        }
    }

    pub(super) fn len(self) -> usize {
        match self {
            ScramHash::Sha1 => 20,
            ScramHash::Sha256 => 32,
        }
    }
}

/// A hash output on the stack, so the exchange allocates only its messages.
#[derive(Clone, Copy)]
pub(super) struct Digest {
    pub(super) buf: [u8; 32],
    pub(super) len: usize,
}

impl Digest {
    pub(super) fn from_slice(bytes: &[u8]) -> Digest {
        let mut buf = [0u8; 32];
        let len = bytes.len().min(32);
        buf[..len].copy_from_slice(&bytes[..len]);
        Digest { buf, len }
    }

    pub(super) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

pub(super) fn hmac(hash: ScramHash, key: &[u8], parts: &[&[u8]]) -> Digest {
    match hash {
        ScramHash::Sha1 => {
            let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes any key length");
            parts.iter().for_each(|p| mac.update(p));
            Digest::from_slice(&mac.finalize().into_bytes())
        }
        ScramHash::Sha256 => {
            let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
            parts.iter().for_each(|p| mac.update(p));
            Digest::from_slice(&mac.finalize().into_bytes())
        }
    }
}

pub(super) fn h(hash: ScramHash, data: &[u8]) -> Digest {
    match hash {
        ScramHash::Sha1 => Digest::from_slice(&Sha1::digest(data)),
        ScramHash::Sha256 => Digest::from_slice(&Sha256::digest(data)),
    }
}

fn salted_password(hash: ScramHash, password: &[u8], salt: &[u8], iterations: u32) -> Digest {
    let mut out = [0u8; 32];
    let len = hash.len();
    match hash {
        ScramHash::Sha1 => pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, iterations, &mut out[..len]),
        ScramHash::Sha256 => {
            pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out[..len])
        }
    }
    Digest { buf: out, len }
}

/// StoredKey and ServerKey for a password (RFC 5802 §3).
pub(super) fn derive_keys(
    hash: ScramHash,
    password: &str,
    salt: &[u8],
    iterations: u32,
) -> (Digest, Digest) {
    let salted = salted_password(hash, password.as_bytes(), salt, iterations);
    let client_key = hmac(hash, salted.as_bytes(), &[b"Client Key"]);
    let stored_key = h(hash, client_key.as_bytes());
    let server_key = hmac(hash, salted.as_bytes(), &[b"Server Key"]);
    (stored_key, server_key)
}

/// Length-checked comparison whose time does not depend on where the bytes differ.
pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What an account record holds for SCRAM. `salt` is Prosody's salt string (a UUID), used
/// as raw bytes in the key derivation.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramCredentials {
    pub salt: String,
    pub iteration_count: u32,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
}

impl fmt::Debug for ScramCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The keys are password-equivalent for SCRAM: keep them out of logs.
        f.debug_struct("ScramCredentials")
            .field("salt", &self.salt)
            .field("iteration_count", &self.iteration_count)
            .finish_non_exhaustive()
    }
}

/// Computes the record for `password` (SASLprep'd first, as Prosody does; a password that
/// SASLprep refuses is used as given — callers that store passwords check it beforehand).
pub fn derive_credentials(
    password: &str,
    salt: &str,
    iterations: u32,
    hash: ScramHash,
) -> ScramCredentials {
    let prepped = stringprep::saslprep(password).unwrap_or(password.into());
    let (stored, server) = derive_keys(hash, &prepped, salt.as_bytes(), iterations);
    ScramCredentials {
        salt: salt.to_owned(),
        iteration_count: iterations,
        stored_key: stored.as_bytes().to_vec(),
        server_key: server.as_bytes().to_vec(),
    }
}
