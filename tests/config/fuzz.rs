//! Random chunks fed to the loader never panic: every input ends in a Config or a
//! ConfigError.

use std::path::Path;

use lilt::config::{check, json, Config};
use proptest::prelude::*;

/// Fragments of config-like Lua, so random programs often get past the parser.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("VirtualHost \"h\"\n".to_string()),
        Just("Host \"X.Example\" { a = 1 }\n".to_string()),
        Just("Component \"c.h\" \"muc\"\n".to_string()),
        Just("Component \"c.h\" { x = true }\n".to_string()),
        Just("Component \"h\"\n".to_string()),
        Just("VirtualHost \"bad@\"\n".to_string()),
        Just("Include \"nowhere/*.lua\"\n".to_string()),
        Just("Include \"missing.lua\"\n".to_string()),
        Just("RunScript \"x.lua\"\n".to_string()),
        Just("modules_enabled = { \"websocket\", \"tls\" }\n".to_string()),
        Just("modules_disabled = \"c2s\"\n".to_string()),
        Just("log = { { levels = { min = \"debug\" }, to = \"file\" } }\n".to_string()),
        Just("t = { 1, 2, x = { y = { } } }\n".to_string()),
        Just("local s = {} s.s = s cyc = s\n".to_string()),
        Just("x = ENV_HOME\n".to_string()),
        Just("enabled = false\n".to_string()),
        Just("error(\"boom\")\n".to_string()),
        Just("error({})\n".to_string()),
        Just("error(nil)\n".to_string()),
        Just("f = function() end\n".to_string()),
        Just("pcall(VirtualHost)\n".to_string()),
        Just("VirtualHost(\"h\")(\"muc\")\n".to_string()),
        Just("for i = 1, 3 do _ENV[\"k\" .. i] = i end\n".to_string()),
        Just("_ENV[1] = 2\n".to_string()),
        Just("setmetatable(_ENV, nil)\n".to_string()),
        Just("{ } } ) = = \"\n".to_string()),
        "[ -~\n]{0,12}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn loader_never_panics_on_config_like_chunks(parts in prop::collection::vec(token(), 0..12)) {
        let src = parts.concat();
        if let Ok(c) = Config::load_str(Path::new("/nonexistent/fuzz/prosody.cfg.lua"), &src) {
            let _ = check::check(&c);
            let _ = json::config_to_json(&c);
            for h in c.host_names() {
                let _ = c.modules_for_host(h);
            }
        }
    }

    #[test]
    fn loader_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = Config::load_bytes(Path::new("/nonexistent/fuzz/prosody.cfg.lua"), &bytes);
    }
}
