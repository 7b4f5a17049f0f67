//! Upload tokens: JWT with HS256, base64url without padding, as Prosody's `util.jwt`
//! signs them, so a token is checked the same way whichever server issued the slot.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is not three base64url parts")]
    Encoding,
    #[error("token header is not a JSON object")]
    Header,
    #[error("token algorithm is not HS256")]
    Algorithm,
    #[error("token signature does not match")]
    Signature,
    #[error("token payload is not a JSON object")]
    Payload,
}

/// The claims of an upload token (reference §19.2).
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    pub sub: String,
    pub iat: i64,
    /// When the token stops being accepted for a PUT (iat + 300).
    pub exp: i64,
    pub slot: String,
    /// When the file expires; `None` without expiry.
    pub expires: Option<i64>,
    pub filename: String,
    pub filesize: u64,
    pub filetype: String,
}

fn mac(secret: &str, signed: &str) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut m = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return Vec::new(),
    };
    m.update(signed.as_bytes());
    m.finalize().into_bytes().to_vec()
}

/// `header.payload.signature` for `claims`.
pub fn sign(secret: &str, claims: &Claims) -> String {
    let mut payload = Map::new();
    payload.insert("sub".into(), claims.sub.clone().into());
    payload.insert("iat".into(), claims.iat.into());
    payload.insert("exp".into(), claims.exp.into());
    payload.insert("slot".into(), claims.slot.clone().into());
    if let Some(e) = claims.expires {
        payload.insert("expires".into(), e.into());
    }
    payload.insert("filename".into(), claims.filename.clone().into());
    payload.insert("filesize".into(), claims.filesize.into());
    payload.insert("filetype".into(), claims.filetype.clone().into());
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(Value::Object(payload).to_string());
    let signed = format!("{header}.{body}");
    let sig = URL_SAFE_NO_PAD.encode(mac(secret, &signed));
    format!("{signed}.{sig}")
}

fn b64_json(part: &str) -> Option<Value> {
    let bytes = URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The payload of a token signed with `secret`; the claims are not checked here.
pub fn verify(secret: &str, token: &str) -> Result<Map<String, Value>, TokenError> {
    let parts: Vec<&str> = token.split('.').collect();
    let ok_chars = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if parts.len() != 3 || !parts.iter().all(|p| ok_chars(p)) {
        return Err(TokenError::Encoding);
    }
    let Some(Value::Object(header)) = b64_json(parts[0]) else {
        return Err(TokenError::Header);
    };
    if header.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err(TokenError::Algorithm);
    }
    let signed = format!("{}.{}", parts[0], parts[1]);
    let expected = URL_SAFE_NO_PAD.encode(mac(secret, &signed));
    if !constant_time_eq(expected.as_bytes(), parts[2].as_bytes()) {
        return Err(TokenError::Signature);
    }
    match b64_json(parts[1]) {
        Some(Value::Object(payload)) => Ok(payload),
        _ => Err(TokenError::Payload),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Claims {
    /// Reads the claims a PUT needs; `None` when `exp` is missing or not a number (401).
    pub fn from_payload(p: &Map<String, Value>) -> Option<Claims> {
        let exp = p.get("exp").and_then(Value::as_f64)? as i64;
        let s = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        Some(Claims {
            sub: s("sub"),
            iat: p.get("iat").and_then(Value::as_f64).unwrap_or(0.0) as i64,
            exp,
            slot: s("slot"),
            expires: p.get("expires").and_then(Value::as_f64).map(|e| e as i64),
            filename: s("filename"),
            filesize: p
                .get("filesize")
                .and_then(Value::as_f64)
                .map_or(u64::MAX, |f| f as u64),
            filetype: s("filetype"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            sub: "alice@example.test".into(),
            iat: 1000,
            exp: 1300,
            slot: "abc".into(),
            expires: Some(2000),
            filename: "a b.png".into(),
            filesize: 42,
            filetype: "image/png".into(),
        }
    }

    #[test]
    fn a_signed_token_verifies_and_round_trips_its_claims() {
        let t = sign("k", &claims());
        let p = verify("k", &t).expect("verifies");
        assert_eq!(Claims::from_payload(&p), Some(claims()));
        assert!(
            t.starts_with("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."),
            "{t}"
        );
    }

    #[test]
    fn another_secret_or_a_changed_payload_is_refused() {
        let t = sign("k", &claims());
        assert_eq!(verify("other", &t), Err(TokenError::Signature));
        let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
        let mut c = claims();
        c.filesize = 1 << 30;
        parts[1] = sign("k", &c).split('.').nth(1).unwrap_or("").to_owned();
        assert_eq!(verify("k", &parts.join(".")), Err(TokenError::Signature));
        assert_eq!(verify("k", "a.b"), Err(TokenError::Encoding));
        assert_eq!(verify("k", "a.b.c+"), Err(TokenError::Encoding));
    }

    #[test]
    fn a_token_without_numeric_exp_has_no_claims() {
        let mut p = Map::new();
        p.insert("exp".into(), "soon".into());
        assert_eq!(Claims::from_payload(&p), None);
    }

    #[test]
    fn expiry_is_left_out_when_files_never_expire() {
        let mut c = claims();
        c.expires = None;
        let p = verify("k", &sign("k", &c)).expect("verifies");
        assert!(!p.contains_key("expires"));
    }
}
