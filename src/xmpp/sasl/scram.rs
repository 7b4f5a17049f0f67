//! SCRAM-SHA-1 and SCRAM-SHA-256 server side (RFC 5802, RFC 7677) as a chain of states
//! that consume themselves: client-first -> (credentials lookup) -> server-first ->
//! client-final -> server-final. The -PLUS variants bind to the TLS channel with
//! `tls-exporter` (RFC 9266): the driver supplies the exporter value and the client's `c=`
//! must be its gs2 header followed by exactly that value.

use std::fmt;
use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::distributions::Alphanumeric;
use rand::{Rng, RngCore};

use super::hashes::{constant_time_eq, h, hmac, Digest};
use super::{SaslError, ScramCredentials, ScramHash};
use crate::xmpp::jid;

/// Prosody's `default_iteration_count`.
pub const DEFAULT_ITERATIONS: u32 = 10000;
const SERVER_NONCE_LEN: usize = 24;
const INVALID_USERNAME: &str = "Invalid username.";
const MISSING_ATTRIBUTE: &str = "Missing an attribute(p, r or c) in SASL message.";

/// Start of a SCRAM exchange.
#[derive(Debug, Clone)]
pub struct ScramServer {
    hash: ScramHash,
    /// The `tls-exporter` value of this connection, when channel binding is available.
    exporter: Option<Vec<u8>>,
    /// The client chose a `-PLUS` mechanism.
    plus: bool,
}

/// The only channel binding type Lilt supports (tls-unique does not exist in TLS 1.3).
pub const TLS_EXPORTER: &str = "tls-exporter";

/// Waiting for the caller to look up the user's credentials.
#[derive(Debug, Clone)]
pub struct ScramAwaitCreds {
    hash: ScramHash,
    gs2_header: String,
    /// Channel binding data appended to the gs2 header in the expected `c=` value.
    cbind_data: Vec<u8>,
    authzid: Option<String>,
    client_first_bare: String,
    client_nonce: String,
    username: String,
}

/// Waiting for the client-final message.
pub struct ScramAwaitFinal {
    hash: ScramHash,
    gs2_header: String,
    cbind_data: Vec<u8>,
    /// `client-first-message-bare "," server-first-message`, the fixed part of AuthMessage.
    auth_prefix: String,
    nonce: String,
    stored_key: Digest,
    server_key: Digest,
    known_user: bool,
    username: String,
}

impl fmt::Debug for ScramAwaitFinal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramAwaitFinal")
            .field("hash", &self.hash)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl ScramServer {
    pub fn new(hash: ScramHash) -> ScramServer {
        ScramServer {
            hash,
            exporter: None,
            plus: false,
        }
    }

    /// Channel binding for this exchange: `exporter` is the connection's `tls-exporter`
    /// value (None when the stream has none, so no -PLUS was offered) and `plus` says the
    /// client picked a `-PLUS` mechanism.
    pub fn with_channel_binding(mut self, exporter: Option<Vec<u8>>, plus: bool) -> ScramServer {
        self.exporter = exporter;
        self.plus = plus;
        self
    }

    /// Parses `gs2-header client-first-message-bare`; returns the next state and the
    /// username (decoded from `=2C`/`=3D`, SASLprep'd and nodeprep'd) to look up.
    pub fn client_first(self, msg: &[u8]) -> Result<(ScramAwaitCreds, String), SaslError> {
        let msg = std::str::from_utf8(msg).map_err(|_| SaslError::MalformedRequest(""))?;
        let (cbflag, rest) = msg.split_once(',').ok_or(SaslError::MalformedRequest(""))?;
        let cbind_data = match (cbflag, self.plus) {
            ("n", false) => Vec::new(),
            // "y": the client could bind but believes we cannot. If we offered -PLUS,
            // someone removed it from the features on the way: a downgrade (RFC 5802 §6).
            ("y", false) if self.exporter.is_none() => Vec::new(),
            ("y", false) => {
                return Err(SaslError::MalformedRequest(
                    "Channel binding isn't supported at this time.",
                ))
            }
            (_, true) if cbflag == "p=tls-exporter" => match &self.exporter {
                Some(data) => data.clone(),
                None => {
                    return Err(SaslError::MalformedRequest(
                        "Channel binding isn't supported at this time.",
                    ))
                }
            },
            (_, _) if cbflag.starts_with("p=") => {
                return Err(SaslError::MalformedRequest(
                    "Proposed channel binding type isn't supported.",
                ))
            }
            // A -PLUS mechanism without binding, or a flag that is not n/y/p=.
            _ => return Err(SaslError::MalformedRequest("")),
        };
        let (authzid, bare) = rest
            .split_once(',')
            .ok_or(SaslError::MalformedRequest(""))?;
        let authzid = match authzid {
            "" => None,
            a => Some(
                a.strip_prefix("a=")
                    .and_then(decode_saslname)
                    .ok_or(SaslError::MalformedRequest(""))?,
            ),
        };
        let gs2_header = &msg[..msg.len() - bare.len()];
        let mut attrs = bare.split(',');
        let user = attrs
            .next()
            .and_then(|a| a.strip_prefix("n="))
            .ok_or(SaslError::MalformedRequest(""))?;
        let nonce = attrs
            .next()
            .and_then(|a| a.strip_prefix("r="))
            .ok_or(SaslError::MalformedRequest(""))?;
        if nonce.is_empty() || !nonce.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err(SaslError::MalformedRequest(""));
        }
        let username = decode_saslname(user)
            .and_then(|u| stringprep::saslprep(&u).ok().map(|c| c.into_owned()))
            .and_then(|u| jid::nodeprep(&u).ok())
            .ok_or(SaslError::MalformedRequest(INVALID_USERNAME))?;
        let state = ScramAwaitCreds {
            hash: self.hash,
            gs2_header: gs2_header.to_owned(),
            cbind_data,
            authzid,
            client_first_bare: bare.to_owned(),
            client_nonce: nonce.to_owned(),
            username: username.clone(),
        };
        Ok((state, username))
    }
}

/// `saslname` decoding: `=2C` is a comma, `=3D` an equals sign, any other `=` is invalid.
fn decode_saslname(s: &str) -> Option<String> {
    if !s.contains('=') {
        return Some(s.to_owned());
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        let esc = rest.get(i + 1..i + 3)?;
        out.push(match esc {
            "2C" => ',',
            "3D" => '=',
            _ => return None,
        });
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Some(out)
}

impl ScramAwaitCreds {
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The `a=` authorization identity of the gs2 header, if the client sent one.
    pub fn authzid(&self) -> Option<&str> {
        self.authzid.as_deref()
    }

    /// Builds the server-first challenge. With `None` (no such user) the exchange goes on
    /// with a salt derived from the username, so that the answer looks the same for a
    /// known and an unknown user until the proof fails at the last step.
    pub fn server_first(self, creds: Option<ScramCredentials>) -> (ScramAwaitFinal, Vec<u8>) {
        let server_nonce: String = rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(SERVER_NONCE_LEN)
            .map(char::from)
            .collect();
        let len = self.hash.len();
        let key_ok = |k: &[u8]| k.len() == len;
        match creds {
            Some(c) if key_ok(&c.stored_key) && key_ok(&c.server_key) => {
                let stored = Digest::from_slice(&c.stored_key);
                let server = Digest::from_slice(&c.server_key);
                let salt = c.salt.as_bytes();
                self.respond(salt, c.iteration_count, stored, server, true, &server_nonce)
            }
            // A record of the wrong hash or a missing user: fail at the proof.
            _ => {
                let salt = fake_salt(&self.username);
                let mut junk = [0u8; 32];
                rand::thread_rng().fill_bytes(&mut junk);
                let junk = Digest { buf: junk, len };
                self.respond(
                    salt.as_bytes(),
                    DEFAULT_ITERATIONS,
                    junk,
                    junk,
                    false,
                    &server_nonce,
                )
            }
        }
    }

    fn respond(
        self,
        salt: &[u8],
        iterations: u32,
        stored_key: Digest,
        server_key: Digest,
        known_user: bool,
        server_nonce: &str,
    ) -> (ScramAwaitFinal, Vec<u8>) {
        let mut nonce = self.client_nonce;
        nonce.push_str(server_nonce);
        let server_first = format!("r={nonce},s={},i={iterations}", B64.encode(salt));
        let mut auth_prefix = self.client_first_bare;
        auth_prefix.push(',');
        auth_prefix.push_str(&server_first);
        let next = ScramAwaitFinal {
            hash: self.hash,
            gs2_header: self.gs2_header,
            cbind_data: self.cbind_data,
            auth_prefix,
            nonce,
            stored_key,
            server_key,
            known_user,
            username: self.username,
        };
        (next, server_first.into_bytes())
    }
}

/// A stable UUID-shaped salt per username, keyed by a per-process secret, so that asking
/// twice about an unknown user gives the same salt, as it would for a real one.
fn fake_salt(username: &str) -> String {
    static SECRET: OnceLock<[u8; 32]> = OnceLock::new();
    let secret = SECRET.get_or_init(|| rand::thread_rng().gen());
    let d = hmac(ScramHash::Sha256, secret, &[username.as_bytes()]);
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&d.as_bytes()[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

impl ScramAwaitFinal {
    /// Verifies `c=..,r=..[,ext],p=proof`; on success returns the server-final message
    /// (`v=<server signature>`) and the username.
    pub fn client_final(self, msg: &[u8]) -> Result<(Vec<u8>, String), SaslError> {
        let msg = std::str::from_utf8(msg).map_err(|_| SaslError::MalformedRequest(""))?;
        let i = msg
            .rfind(",p=")
            .ok_or(SaslError::MalformedRequest(MISSING_ATTRIBUTE))?;
        let (without_proof, proof) = (&msg[..i], &msg[i + 3..]);
        let mut attrs = without_proof.split(',');
        let cbind = attrs.next().and_then(|a| a.strip_prefix("c="));
        let nonce = attrs.next().and_then(|a| a.strip_prefix("r="));
        let (Some(cbind), Some(nonce)) = (cbind, nonce) else {
            return Err(SaslError::MalformedRequest(MISSING_ATTRIBUTE));
        };
        // c= is the client's gs2 header followed by the binding data (none without -PLUS).
        let mut expected = self.gs2_header.as_bytes().to_vec();
        expected.extend_from_slice(&self.cbind_data);
        let cbind_ok = B64
            .decode(cbind)
            .is_ok_and(|c| constant_time_eq(&c, &expected));
        if !cbind_ok {
            return Err(SaslError::MalformedRequest(
                "Invalid channel binding value.",
            ));
        }
        if nonce != self.nonce {
            return Err(SaslError::MalformedRequest(
                "Wrong nonce in client-final-message.",
            ));
        }
        let proof = B64
            .decode(proof)
            .map_err(|_| SaslError::MalformedRequest("Invalid proof encoding."))?;
        let hash = self.hash;
        let auth_message: [&[u8]; 3] =
            [self.auth_prefix.as_bytes(), b",", without_proof.as_bytes()];
        let client_signature = hmac(hash, self.stored_key.as_bytes(), &auth_message);
        if proof.len() != client_signature.len {
            return Err(SaslError::InvalidProof);
        }
        let mut client_key = client_signature;
        client_key.buf[..proof.len()]
            .iter_mut()
            .zip(&proof)
            .for_each(|(k, p)| *k ^= p);
        let matches = constant_time_eq(
            h(hash, client_key.as_bytes()).as_bytes(),
            self.stored_key.as_bytes(),
        );
        if !(matches && self.known_user) {
            return Err(SaslError::InvalidProof);
        }
        let server_signature = hmac(hash, self.server_key.as_bytes(), &auth_message);
        let mut out = Vec::with_capacity(2 + 44);
        out.extend_from_slice(b"v=");
        out.extend_from_slice(B64.encode(server_signature.as_bytes()).as_bytes());
        Ok((out, self.username))
    }
}

#[cfg(test)]
#[path = "scram_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "scram_plus_tests.rs"]
mod plus_tests;
