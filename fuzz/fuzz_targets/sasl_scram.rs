//! SASL SCRAM-SHA-1/-256 server side: the input is a client-first and a client-final
//! message separated by a 0xFF byte; every step either answers or fails cleanly, for known
//! and unknown users.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use lilt::xmpp::sasl::{derive_credentials, ScramCredentials, ScramHash, ScramServer};

fn creds(hash: ScramHash) -> ScramCredentials {
    static SHA1: OnceLock<ScramCredentials> = OnceLock::new();
    static SHA256: OnceLock<ScramCredentials> = OnceLock::new();
    let cell = match hash {
        ScramHash::Sha1 => &SHA1,
        _ => &SHA256,
    };
    cell.get_or_init(|| derive_credentials("pencil", "QSXCR+Q6sek8bf92", 16, hash))
        .clone()
}

fuzz_target!(|data: &[u8]| {
    if data.is_empty() {
        return;
    }
    let hash = if data[0] & 1 == 0 {
        ScramHash::Sha1
    } else {
        ScramHash::Sha256
    };
    let known = data[0] & 2 == 0;
    let body = &data[1..];
    let (first, last) = match body.iter().position(|&b| b == 0xFF) {
        Some(p) => (&body[..p], &body[p + 1..]),
        None => (body, &[][..]),
    };
    let Ok((await_creds, _user)) = ScramServer::new(hash).client_first(first) else {
        return;
    };
    let (await_final, challenge) = await_creds.server_first(known.then(|| creds(hash)));
    assert!(!challenge.is_empty());
    if let Ok((server_final, _user)) = await_final.client_final(last) {
        // Only a correct proof for a known user can succeed, and fuzzed input cannot
        // produce one without the password.
        assert!(known, "an unknown user authenticated");
        assert!(server_final.starts_with(b"v="));
    }
});
