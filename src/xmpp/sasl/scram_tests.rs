//! RFC 5802 / RFC 7677 test vectors and failure paths of the SCRAM server.

use super::*;
use crate::xmpp::sasl::derive_credentials;
use crate::xmpp::sasl::hashes::derive_keys;

/// Runs the published example exchange with the RFC's fixed server nonce and raw salt.
fn rfc_exchange(
    hash: ScramHash,
    client_first: &str,
    salt_b64: &str,
    server_nonce: &str,
    expected_server_first: &str,
    client_final: &str,
) -> Result<(Vec<u8>, String), SaslError> {
    let (creds, user) = ScramServer::new(hash)
        .client_first(client_first.as_bytes())
        .unwrap();
    assert_eq!(user, "user");
    let salt = B64.decode(salt_b64).unwrap();
    let (stored, server) = derive_keys(hash, "pencil", &salt, 4096);
    let (next, challenge) = creds.respond(&salt, 4096, stored, server, true, server_nonce);
    assert_eq!(
        std::str::from_utf8(&challenge).unwrap(),
        expected_server_first
    );
    next.client_final(client_final.as_bytes())
}

#[test]
fn rfc5802_sha1_example_exchange_verifies() {
    let (server_final, user) = rfc_exchange(
        ScramHash::Sha1,
        "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
        "QSXCR+Q6sek8bf92",
        "3rfcNHYJY1ZVvWVs7j",
        "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
        "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
    )
    .unwrap();
    assert_eq!(server_final, b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
    assert_eq!(user, "user");
}

#[test]
fn rfc7677_sha256_example_exchange_verifies() {
    let (server_final, _) = rfc_exchange(
        ScramHash::Sha256,
        "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
        "W22ZaJ0SNY7soEsUEjb6gQ==",
        "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
         p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
    )
    .unwrap();
    assert_eq!(
        server_final,
        b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    );
}

#[test]
fn rfc5802_wrong_proof_is_not_authorized() {
    let err = rfc_exchange(
        ScramHash::Sha1,
        "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
        "QSXCR+Q6sek8bf92",
        "3rfcNHYJY1ZVvWVs7j",
        "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
        "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=w0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
    )
    .unwrap_err();
    assert_eq!(err, SaslError::InvalidProof);
    assert_eq!(err.condition(), "not-authorized");
}

#[test]
fn channel_binding_request_is_refused() {
    let err = ScramServer::new(ScramHash::Sha1)
        .client_first(b"p=tls-exporter,,n=user,r=abc")
        .unwrap_err();
    assert_eq!(
        err,
        SaslError::MalformedRequest("Proposed channel binding type isn't supported.")
    );
}

#[test]
fn y_flag_and_authzid_are_accepted() {
    let (state, user) = ScramServer::new(ScramHash::Sha1)
        .client_first(b"y,a=Bob=2C,n=B=3Db,r=abc")
        .unwrap();
    assert_eq!(user, "b=b");
    assert_eq!(state.authzid(), Some("Bob,"));
}

#[test]
fn malformed_client_first_messages_are_rejected() {
    for bad in [
        &b""[..],
        b"n",
        b"x,,n=user,r=abc",
        b"n,,r=abc",
        b"n,,n=user",
        b"n,,n=user,r=",
        b"n,,m=ext,n=user,r=abc",
        b"n,,n=us=2Xer,r=abc",
        b"n,,n=a b,r=abc",
        b"n,,n=user,r=a\x01c",
        b"n,,n=\xff,r=abc",
    ] {
        let err = ScramServer::new(ScramHash::Sha256)
            .client_first(bad)
            .unwrap_err();
        assert_eq!(err.condition(), "malformed-request", "{bad:?}");
    }
}

fn started() -> (ScramAwaitFinal, String) {
    let (state, _) = ScramServer::new(ScramHash::Sha1)
        .client_first(b"n,,n=user,r=clientnonce")
        .unwrap();
    let creds = derive_credentials("pencil", "some-salt", 4096, ScramHash::Sha1);
    let (next, challenge) = state.server_first(Some(creds));
    let challenge = String::from_utf8(challenge).unwrap();
    let nonce = challenge
        .split(',')
        .next()
        .and_then(|r| r.strip_prefix("r="))
        .unwrap()
        .to_owned();
    (next, nonce)
}

#[test]
fn server_nonce_extends_client_nonce_and_salt_is_base64_of_salt_string() {
    let (state, _) = ScramServer::new(ScramHash::Sha1)
        .client_first(b"n,,n=user,r=clientnonce")
        .unwrap();
    let creds = derive_credentials("pencil", "some-salt", 4096, ScramHash::Sha1);
    let (_, challenge) = state.server_first(Some(creds));
    let challenge = String::from_utf8(challenge).unwrap();
    let parts: Vec<&str> = challenge.split(',').collect();
    assert!(parts[0].starts_with("r=clientnonce"));
    assert_eq!(parts[0].len(), "r=clientnonce".len() + SERVER_NONCE_LEN);
    assert_eq!(parts[1], format!("s={}", B64.encode("some-salt")));
    assert_eq!(parts[2], "i=4096");
}

#[test]
fn wrong_nonce_and_channel_binding_are_malformed() {
    let (state, nonce) = started();
    let msg = format!("c=biws,r={nonce}x,p=AAAA");
    assert_eq!(
        state.client_final(msg.as_bytes()).unwrap_err(),
        SaslError::MalformedRequest("Wrong nonce in client-final-message.")
    );
    let (state, nonce) = started();
    let msg = format!("c=eSws,r={nonce},p=AAAA");
    assert_eq!(
        state.client_final(msg.as_bytes()).unwrap_err(),
        SaslError::MalformedRequest("Invalid channel binding value.")
    );
    let (state, _) = started();
    assert_eq!(
        state.client_final(b"c=biws").unwrap_err(),
        SaslError::MalformedRequest(MISSING_ATTRIBUTE)
    );
}

#[test]
fn unknown_user_gets_stable_fake_salt_then_fails_at_proof() {
    let challenge_for = |user: &str| {
        let msg = format!("n,,n={user},r=abc");
        let (state, _) = ScramServer::new(ScramHash::Sha1)
            .client_first(msg.as_bytes())
            .unwrap();
        let (next, challenge) = state.server_first(None);
        let c = String::from_utf8(challenge).unwrap();
        let salt = c.split(',').nth(1).unwrap().to_owned();
        (next, salt, c)
    };
    let (_, salt1, challenge) = challenge_for("ghost");
    let (_, salt2, _) = challenge_for("ghost");
    let (_, salt3, _) = challenge_for("other");
    assert_eq!(salt1, salt2);
    assert_ne!(salt1, salt3);
    assert!(challenge.ends_with(",i=10000"));
    let (next, _, c) = challenge_for("ghost");
    let nonce = c.split(',').next().unwrap().strip_prefix("r=").unwrap();
    let msg = format!("c=biws,r={nonce},p={}", B64.encode([0u8; 20]));
    assert_eq!(
        next.client_final(msg.as_bytes()).unwrap_err(),
        SaslError::InvalidProof
    );
}

#[test]
fn saslname_decoding() {
    assert_eq!(decode_saslname("a=2Cb=3Dc").as_deref(), Some("a,b=c"));
    assert_eq!(decode_saslname("plain").as_deref(), Some("plain"));
    assert_eq!(decode_saslname("bad=2"), None);
    assert_eq!(decode_saslname("bad=41"), None);
}

#[test]
fn password_hash_option_selects_hash() {
    assert_eq!(ScramHash::from_option("SHA-1"), Some(ScramHash::Sha1));
    assert_eq!(ScramHash::from_option("sha-256"), Some(ScramHash::Sha256));
    assert_eq!(ScramHash::from_option("MD5"), None);
    assert_eq!(ScramHash::Sha256.mechanism(), "SCRAM-SHA-256");
}
