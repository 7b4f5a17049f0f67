//! A core without a network for Lua tests: a temp config with `plugin_paths`, plugins
//! written into it, and `eval` of Lua in the runtime.

#![allow(dead_code)]

use std::path::Path;

use lilt::config::Config;
use lilt::core::Core;

pub const HOST: &str = "example.test";

pub fn core_with(dir: &Path, extra: &str) -> Core {
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

pub fn plugin(dir: &Path, name: &str, code: &str) {
    std::fs::write(dir.join("plugins").join(format!("mod_{name}.lua")), code)
        .expect("write plugin");
}

pub fn eval(core: &mut Core, code: &str) -> String {
    match lilt::lua::eval(core, code) {
        Ok(v) => v,
        Err(e) => panic!("Lua failed: {e}\n--- code:\n{code}"),
    }
}

/// Runs `code` and returns its error message (panics if it succeeds).
pub fn eval_err(core: &mut Core, code: &str) -> String {
    match lilt::lua::eval(core, code) {
        Ok(v) => panic!("expected an error, got {v}"),
        Err(e) => e.to_string(),
    }
}

/// Collects what the code run by `f` logs.
pub fn logs_of(f: impl FnOnce()) -> String {
    use std::sync::{Arc, Mutex};
    #[derive(Clone)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("log buffer").extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf(Arc::new(Mutex::new(Vec::new())));
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    let bytes = buf.0.lock().expect("log buffer").clone();
    String::from_utf8_lossy(&bytes).to_string()
}
