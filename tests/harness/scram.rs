//! The one SCRAM client (RFC 5802 / RFC 7677) of the test clients: SHA-1 or SHA-256, with or
//! without channel binding. It only computes messages; each client carries them in its own
//! framing (TCP, WebSocket, BOSH) or hands them straight to the sans-IO `ScramServer`.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use lilt::xmpp::sasl::ScramHash;
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// One exchange, from client-first to checking server-final.
pub struct ScramClient {
    hash: ScramHash,
    gs2: &'static str,
    binding: Vec<u8>,
    first_bare: String,
    client_nonce: String,
    server_signature: Option<Vec<u8>>,
}

impl ScramClient {
    /// `binding` is the channel-binding data (tls-exporter) for a -PLUS mechanism.
    pub fn new(hash: ScramHash, user: &str, client_nonce: &str, binding: Option<&[u8]>) -> Self {
        let gs2 = if binding.is_some() {
            "p=tls-exporter,,"
        } else {
            "n,,"
        };
        Self {
            hash,
            gs2,
            binding: binding.unwrap_or_default().to_vec(),
            first_bare: format!("n={user},r={client_nonce}"),
            client_nonce: client_nonce.to_string(),
            server_signature: None,
        }
    }

    /// The SASL mechanism name this exchange runs.
    pub fn mechanism(&self) -> &'static str {
        match (self.hash, self.gs2.starts_with('p')) {
            (ScramHash::Sha1, false) => "SCRAM-SHA-1",
            (ScramHash::Sha1, true) => "SCRAM-SHA-1-PLUS",
            (ScramHash::Sha256, false) => "SCRAM-SHA-256",
            (ScramHash::Sha256, true) => "SCRAM-SHA-256-PLUS",
        }
    }

    /// The client-first message (GS2 header included), not yet base64-encoded.
    pub fn client_first(&self) -> String {
        format!("{}{}", self.gs2, self.first_bare)
    }

    /// The client-final message for `server_first`, proof included; remembers the server
    /// signature that `server_final` must carry. Panics on a malformed challenge or a
    /// nonce that does not extend ours: both are server bugs the calling test pins.
    pub fn client_final(&mut self, server_first: &str, password: &str) -> String {
        let mut nonce = "";
        let mut salt = Vec::new();
        let mut iterations = 0u32;
        for attr in server_first.split(',') {
            match attr.split_at(2) {
                ("r=", v) => nonce = v,
                ("s=", v) => salt = B64.decode(v).expect("salt is base64"),
                ("i=", v) => iterations = v.parse().expect("iteration count"),
                _ => panic!("unexpected attribute in {server_first}"),
            }
        }
        assert!(
            nonce.starts_with(&self.client_nonce),
            "server nonce {nonce} does not extend ours"
        );
        let salted = self.salted(password, &salt, iterations);
        let client_key = self.hmac(&salted, b"Client Key");
        let stored_key = match self.hash {
            ScramHash::Sha1 => Sha1::digest(&client_key).to_vec(),
            ScramHash::Sha256 => Sha256::digest(&client_key).to_vec(),
        };
        let mut cbind = self.gs2.as_bytes().to_vec();
        cbind.extend_from_slice(&self.binding);
        let without_proof = format!("c={},r={nonce}", B64.encode(cbind));
        let auth_message = format!("{},{server_first},{without_proof}", self.first_bare);
        let signature = self.hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&signature)
            .map(|(a, b)| a ^ b)
            .collect();
        let server_key = self.hmac(&salted, b"Server Key");
        self.server_signature = Some(self.hmac(&server_key, auth_message.as_bytes()));
        format!("{without_proof},p={}", B64.encode(proof))
    }

    /// The server-final message a server that knew the password must send (`v=...`).
    pub fn expected_server_final(&self) -> String {
        let sig = self
            .server_signature
            .as_ref()
            .expect("client_final before expected_server_final");
        format!("v={}", B64.encode(sig))
    }

    fn salted(&self, password: &str, salt: &[u8], iterations: u32) -> Vec<u8> {
        match self.hash {
            ScramHash::Sha1 => {
                let mut out = vec![0u8; 20];
                pbkdf2::pbkdf2_hmac::<Sha1>(password.as_bytes(), salt, iterations, &mut out);
                out
            }
            ScramHash::Sha256 => {
                let mut out = vec![0u8; 32];
                pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, &mut out);
                out
            }
        }
    }

    fn hmac(&self, key: &[u8], msg: &[u8]) -> Vec<u8> {
        match self.hash {
            ScramHash::Sha1 => {
                let mut m = Hmac::<Sha1>::new_from_slice(key).expect("any key length");
                m.update(msg);
                m.finalize().into_bytes().to_vec()
            }
            ScramHash::Sha256 => {
                let mut m = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
                m.update(msg);
                m.finalize().into_bytes().to_vec()
            }
        }
    }
}
