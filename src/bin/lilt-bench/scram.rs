//! Client side of SCRAM-SHA-1 (RFC 5802) with a cache of salted keys.
//!
//! PBKDF2 runs once per distinct (salt, iteration count) and is reused by every session, so
//! the load tool spends its CPU on traffic rather than on key stretching. `accounts` writes
//! one shared salt for all bench users, making that a single derivation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::{Digest, Sha1};

use crate::error::BenchError;

type HmacSha1 = Hmac<Sha1>;
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The keys of RFC 5802 §3 derived from one password, salt and iteration count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScramKeys {
    pub client_key: [u8; 20],
    pub stored_key: [u8; 20],
    pub server_key: [u8; 20],
}

fn hmac(key: &[u8], msg: &[u8]) -> [u8; 20] {
    let mut mac = HmacSha1::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

/// Derives the SCRAM-SHA-1 keys (the expensive part: `iterations` HMAC rounds).
pub fn derive(password: &str, salt: &[u8], iterations: u32) -> ScramKeys {
    let mut salted = [0u8; 20];
    pbkdf2::pbkdf2_hmac::<Sha1>(password.as_bytes(), salt, iterations, &mut salted);
    let client_key = hmac(&salted, b"Client Key");
    let stored_key: [u8; 20] = Sha1::digest(client_key).into();
    let server_key = hmac(&salted, b"Server Key");
    ScramKeys {
        client_key,
        stored_key,
        server_key,
    }
}

/// Derived keys by (salt, iteration count).
type KeyMap = HashMap<(Vec<u8>, u32), Arc<ScramKeys>>;

/// Salted keys per (salt, iterations) for one shared password.
pub struct KeyCache {
    password: String,
    keys: Mutex<KeyMap>,
}

impl KeyCache {
    pub fn new(password: &str) -> Self {
        KeyCache {
            password: password.to_string(),
            keys: Mutex::new(HashMap::new()),
        }
    }

    pub fn password(&self) -> &str {
        &self.password
    }

    pub fn get(&self, salt: &[u8], iterations: u32) -> Arc<ScramKeys> {
        let mut map = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        map.entry((salt.to_vec(), iterations))
            .or_insert_with(|| Arc::new(derive(&self.password, salt, iterations)))
            .clone()
    }
}

/// A SCRAM exchange after the client-first message was sent.
pub struct ScramClient {
    client_first_bare: String,
    nonce: String,
}

impl ScramClient {
    /// Returns the state and the base64 client-first message (`n,,n=user,r=nonce`).
    pub fn start(username: &str) -> (Self, String) {
        let nonce = B64.encode(rand::random::<[u8; 18]>());
        let client_first_bare = format!("n={username},r={nonce}");
        let msg = B64.encode(format!("n,,{client_first_bare}"));
        (
            ScramClient {
                client_first_bare,
                nonce,
            },
            msg,
        )
    }

    /// Takes the base64 server-first challenge; returns the base64 client-final message and
    /// the server signature the `<success>` must carry.
    pub fn finish(
        self,
        challenge_b64: &str,
        cache: &KeyCache,
    ) -> Result<(String, Vec<u8>), BenchError> {
        let bad = |why: &str| BenchError::Auth(format!("bad server-first ({why})"));
        let raw = B64
            .decode(challenge_b64.trim())
            .map_err(|_| bad("base64"))?;
        let server_first = String::from_utf8(raw).map_err(|_| bad("utf-8"))?;
        let (mut nonce, mut salt, mut iters) = (None, None, None);
        for part in server_first.split(',') {
            match part.split_at_checked(2) {
                Some(("r=", v)) => nonce = Some(v),
                Some(("s=", v)) => salt = Some(B64.decode(v).map_err(|_| bad("salt"))?),
                Some(("i=", v)) => iters = v.parse::<u32>().ok(),
                _ => {}
            }
        }
        let (nonce, salt, iters) = match (nonce, salt, iters) {
            (Some(n), Some(s), Some(i)) => (n, s, i),
            _ => return Err(bad("missing r/s/i")),
        };
        if !nonce.starts_with(&self.nonce) {
            return Err(bad("nonce does not extend ours"));
        }
        let keys = cache.get(&salt, iters);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let signature = hmac(&keys.stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = keys
            .client_key
            .iter()
            .zip(signature.iter())
            .map(|(a, b)| a ^ b)
            .collect();
        let server_sig = hmac(&keys.server_key, auth_message.as_bytes()).to_vec();
        let final_msg = B64.encode(format!("{without_proof},p={}", B64.encode(proof)));
        Ok((final_msg, server_sig))
    }
}

/// Checks the base64 `v=` additional data of `<success>` against the expected signature.
pub fn verify_success(success_b64: &str, expected: &[u8]) -> Result<(), BenchError> {
    let raw = B64
        .decode(success_b64.trim())
        .map_err(|_| BenchError::Auth("success data is not base64".into()))?;
    let text = String::from_utf8_lossy(&raw);
    let sig = text
        .strip_prefix("v=")
        .and_then(|v| B64.decode(v.trim()).ok())
        .ok_or_else(|| BenchError::Auth("success without v=".into()))?;
    if sig != expected {
        return Err(BenchError::Auth("server signature mismatch".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derive_matches_rfc5802_example_keys() {
        // RFC 5802 §5: user "user", password "pencil", salt QSXCR+Q6sek8bf92, i=4096.
        let salt = B64.decode("QSXCR+Q6sek8bf92").unwrap();
        let keys = derive("pencil", &salt, 4096);
        let cache = KeyCache::new("pencil");
        let client = ScramClient {
            client_first_bare: "n=user,r=fyko+d2lbbFgONRv9qkxdawL".into(),
            nonce: "fyko+d2lbbFgONRv9qkxdawL".into(),
        };
        let server_first = "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096";
        let (final_b64, server_sig) = client.finish(&B64.encode(server_first), &cache).unwrap();
        let final_msg = String::from_utf8(B64.decode(final_b64).unwrap()).unwrap();
        assert_eq!(
            final_msg,
            "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
        );
        assert_eq!(B64.encode(server_sig), "rmF9pqV8S7suAoZWja4dJRkFsKQ=");
        assert_eq!(*cache.get(&salt, 4096), keys);
    }

    #[test]
    fn success_with_wrong_signature_is_refused() {
        let ok = B64.encode(format!("v={}", B64.encode([7u8; 20])));
        assert!(verify_success(&ok, &[7u8; 20]).is_ok());
        assert!(verify_success(&ok, &[8u8; 20]).is_err());
    }
}
