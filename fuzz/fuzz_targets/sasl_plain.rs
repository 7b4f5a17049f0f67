//! SASL PLAIN server side: any message parses or fails cleanly; what parses has no NUL
//! inside its fields and passes or fails the authzid check without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lilt::xmpp::sasl::parse_plain;

fuzz_target!(|data: &[u8]| {
    if let Ok(creds) = parse_plain(data) {
        assert!(!creds.authcid.contains('\0'));
        assert!(!creds.password.contains('\0'));
        let _ = creds.check_authzid("example.test");
    }
});
