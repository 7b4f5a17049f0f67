//! Plugin load rules as Prosody's: `require` never looks in the working directory, a
//! failing `module.load()` unloads the module, and a Lua copy that fails to load leaves
//! its name to Lilt's native module.

use super::harness::{core_with, eval, plugin, HOST};

#[test]
fn a_util_file_in_the_working_directory_is_never_loaded() {
    // The test process's working directory is the server's: plant a library there.
    let cwd = std::env::current_dir().expect("cwd");
    let probe = format!("lilt_cwd_probe_{}", std::process::id());
    let util_dir = cwd.join("util");
    let existed = util_dir.exists();
    std::fs::create_dir_all(&util_dir).expect("util dir");
    let file = util_dir.join(format!("{probe}.lua"));
    std::fs::write(&file, "planted = true; return { planted = true }").expect("write probe");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "");
    let out = eval(
        &mut core,
        &format!(
            "local ok, err = pcall(require, 'util.{probe}');
            return tostring(ok) .. '|' .. tostring(planted) .. '|' .. tostring(package.path:find('./', 1, true))"
        ),
    );
    let path = eval(&mut core, "return package.path");
    std::fs::remove_file(&file).expect("remove probe");
    if !existed {
        let _ = std::fs::remove_dir(&util_dir);
    }
    assert_eq!(out, "false|nil|nil", "package.path = {path}");
    let plugins = dir.path().join("plugins").display().to_string();
    assert_eq!(path, format!("{plugins}/?.lua;{plugins}/?/init.lua"));
}

#[test]
fn a_library_on_plugin_paths_is_found_by_require() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "");
    std::fs::write(
        dir.path().join("plugins").join("mylib.lua"),
        "return { answer = 42 }",
    )
    .expect("write lib");
    assert_eq!(eval(&mut core, "return require 'mylib'.answer"), "42");
}

#[test]
fn a_failing_module_load_unloads_the_module_and_its_hooks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "");
    plugin(
        dir.path(),
        "halfway",
        r#"module:hook("test/halfway", function() return true end);
        function module.load() error("cannot start") end"#,
    );
    // Lilt has no native mod_halfway, so Lua keeps the name (and logs the error).
    assert!(lilt::lua::load_module(&mut core, HOST, "halfway"));
    assert_eq!(
        eval(
            &mut core,
            "return tostring(prosody.hosts['example.test'].modules.halfway) .. '|'
                .. tostring(require 'core.modulemanager'.is_loaded('example.test', 'halfway')) .. '|'
                .. tostring(prosody.hosts['example.test'].events.fire_event('test/halfway', {}))"
        ),
        "nil|false|nil"
    );
    let err = lilt::lua::load_module_now(&mut core, HOST, "halfway")
        .expect_err("load reports the failure");
    let text = err.to_string();
    assert!(
        text.contains("cannot start") && text.contains("stack traceback"),
        "{text}"
    );
}

#[test]
fn a_failing_lua_copy_leaves_the_native_module_in_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "");
    plugin(
        dir.path(),
        "version",
        "function module.load() error('this copy needs something Lilt lacks') end",
    );
    // The Lua copy fails: Lilt's native mod_version is loaded in its place.
    assert!(lilt::lua::load_module(&mut core, HOST, "version"));
    let provider = lilt::lua::provenance::table(&mut core).get(HOST, "version");
    assert_eq!(provider, Some(&lilt::lua::provenance::Provider::Native));
    plugin(
        dir.path(),
        "version",
        "module:add_feature('urn:x:lua-version')",
    );
    assert!(lilt::lua::load_module(&mut core, HOST, "version"));
}
