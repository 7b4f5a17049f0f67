//! The config loader on arbitrary file contents: evaluation either yields a Config or a
//! ConfigError, within the loader's instruction and memory limits; typed accessors on
//! whatever loaded never panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use lilt::config::Config;

fuzz_target!(|data: &[u8]| {
    // A path that does not exist: Include/"config_dir" resolve against it and find nothing.
    let path = Path::new("/nonexistent-lilt-fuzz/prosody.cfg.lua");
    if let Ok(config) = Config::load_bytes(path, data) {
        let g = config.global();
        let _ = g.strings("modules_enabled");
        let _ = g.duration_secs("c2s_timeout");
        let _ = g.bytes("c2s_stanza_size_limit");
        let _ = g.set("admins");
        for h in config.host_names() {
            let _ = config.modules_for_host(h);
            let _ = config.host(h).string("authentication");
        }
        let _ = config.data_path();
    }
});
