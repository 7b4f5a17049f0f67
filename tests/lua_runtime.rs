//! The Lua runtime without a network: bundled util libraries behave as Prosody's do,
//! plugins load through the module API, errors and runaway code are contained.

use std::path::Path;

use lilt::config::Config;
use lilt::core::Core;

const HOST: &str = "example.test";

fn core_with(dir: &Path, extra: &str) -> Core {
    let cfg = dir.join("prosody.cfg.lua");
    let data = dir.join("data");
    std::fs::write(
        &cfg,
        format!(
            "data_path = {:?}\nplugin_paths = {{ {:?} }}\n{extra}\nVirtualHost \"{HOST}\"\n",
            data.display().to_string(),
            dir.join("plugins").display().to_string()
        ),
    )
    .expect("write config");
    std::fs::create_dir_all(dir.join("plugins")).expect("plugins dir");
    let config = Config::load(&cfg).expect("config loads");
    let (shared, _rx) = lilt::core::server::build(config);
    lilt::core::server::new_core(shared)
}

fn eval(core: &mut Core, code: &str) -> String {
    match lilt::lua::eval(core, code) {
        Ok(v) => v,
        Err(e) => panic!("Lua failed: {e}\n--- code:\n{code}"),
    }
}

#[test]
fn stanza_builder_serialises_like_prosody() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "");
    let out = eval(
        &mut core,
        r#"local st = require "util.stanza";
        local m = st.message({ to = "a@b", type = "chat" }, "hi <you>")
            :tag("x", { xmlns = "urn:x" }):text_tag("y", "z"):up():up();
        return tostring(m)"#,
    );
    assert_eq!(
        out,
        "<message to='a@b' type='chat'><body>hi &lt;you&gt;</body><x xmlns='urn:x'><y>z</y></x></message>"
    );
}
