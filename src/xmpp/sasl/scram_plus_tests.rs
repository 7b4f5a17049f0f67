//! SCRAM-*-PLUS with `tls-exporter`: which gs2 flags each mechanism accepts and that the
//! `c=` value must carry the connection's exporter bytes.

use super::*;

const EXPORTER: [u8; 32] = [7u8; 32];

fn plus() -> ScramServer {
    ScramServer::new(ScramHash::Sha1).with_channel_binding(Some(EXPORTER.to_vec()), true)
}

/// Runs client-first and server-first for an unknown user and sends a client-final with
/// the given `c=` bytes and a junk proof.
fn final_with_cbind(server: ScramServer, client_first: &str, cbind: &[u8]) -> SaslError {
    let (state, _) = server.client_first(client_first.as_bytes()).unwrap();
    let (next, challenge) = state.server_first(None);
    let challenge = String::from_utf8(challenge).unwrap();
    let nonce = challenge
        .split(',')
        .find_map(|a| a.strip_prefix("r="))
        .unwrap();
    let msg = format!("c={},r={nonce},p=AAAA", B64.encode(cbind));
    next.client_final(msg.as_bytes()).unwrap_err()
}

#[test]
fn plus_accepts_tls_exporter_and_checks_the_binding_data() {
    let mut good = b"p=tls-exporter,,".to_vec();
    good.extend_from_slice(&EXPORTER);
    // Right binding: the exchange gets as far as the proof.
    assert_eq!(
        final_with_cbind(plus(), "p=tls-exporter,,n=user,r=abc", &good),
        SaslError::InvalidProof
    );
    let mut wrong = b"p=tls-exporter,,".to_vec();
    wrong.extend_from_slice(&[8u8; 32]);
    for bad in [wrong.as_slice(), b"p=tls-exporter,,"] {
        assert_eq!(
            final_with_cbind(plus(), "p=tls-exporter,,n=user,r=abc", bad),
            SaslError::MalformedRequest("Invalid channel binding value.")
        );
    }
}

#[test]
fn plus_refuses_other_binding_types_and_unbound_flags() {
    let err = plus()
        .client_first(b"p=tls-unique,,n=user,r=abc")
        .unwrap_err();
    assert_eq!(
        err,
        SaslError::MalformedRequest("Proposed channel binding type isn't supported.")
    );
    for flag in ["n", "y"] {
        let msg = format!("{flag},,n=user,r=abc");
        assert!(plus().client_first(msg.as_bytes()).is_err(), "{flag}");
    }
}

#[test]
fn y_flag_is_a_downgrade_when_binding_was_offered() {
    let offered =
        ScramServer::new(ScramHash::Sha1).with_channel_binding(Some(EXPORTER.to_vec()), false);
    assert_eq!(
        offered.client_first(b"y,,n=user,r=abc").unwrap_err(),
        SaslError::MalformedRequest("Channel binding isn't supported at this time.")
    );
    let offered =
        ScramServer::new(ScramHash::Sha1).with_channel_binding(Some(EXPORTER.to_vec()), false);
    assert!(offered.client_first(b"n,,n=user,r=abc").is_ok());
    let not_offered = ScramServer::new(ScramHash::Sha1).with_channel_binding(None, false);
    assert!(not_offered.client_first(b"y,,n=user,r=abc").is_ok());
}

#[test]
fn plus_without_an_exporter_value_is_refused() {
    let server = ScramServer::new(ScramHash::Sha256).with_channel_binding(None, true);
    assert!(server
        .client_first(b"p=tls-exporter,,n=user,r=abc")
        .is_err());
}
