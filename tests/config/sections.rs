//! Sections: global, VirtualHost/Host/host, Component forms and which section follows
//! (reference §1.2), lookup and inheritance (§1.4), ENV_*, options are not variables.

use std::path::Path;

use lilt::config::{Config, ConfigError, Value};

fn load(src: &str) -> Config {
    Config::load_str(Path::new("/virtual/prosody.cfg.lua"), src).expect("config loads")
}

fn load_err(src: &str) -> ConfigError {
    Config::load_str(Path::new("/virtual/prosody.cfg.lua"), src).expect_err("config must fail")
}

#[test]
fn assignments_before_any_host_go_to_the_global_section() {
    let c = load("admins = { \"a@x\" }\nVirtualHost \"x\"\nfoo = 1\n");
    assert_eq!(c.global().strings("admins"), vec!["a@x"]);
    assert_eq!(c.global().get_raw("foo"), None);
    assert_eq!(c.host("x").get_raw("foo"), Some(&Value::Integer(1)));
}

#[test]
fn host_and_lowercase_host_are_aliases_of_virtualhost() {
    let c = load("Host \"a\"\nx = 1\nhost \"b\"\ny = 2\nVirtualHost \"c\"\n");
    assert_eq!(c.host_names(), vec!["a", "b", "c"]);
    assert_eq!(c.virtual_hosts(), vec!["a", "b", "c"]);
    assert_eq!(c.host("a").integer("x"), Some(1));
    assert_eq!(c.host("b").integer("y"), Some(2));
}

#[test]
fn virtualhost_name_is_nameprepped_to_lower_case() {
    let c = load("VirtualHost \"Example.COM\"\nx = 1\n");
    assert_eq!(c.virtual_hosts(), vec!["example.com"]);
}

#[test]
fn virtualhost_table_form_returns_to_global() {
    let c = load("VirtualHost \"x\" { a = true }\nb = 1\n");
    assert_eq!(c.host("x").get_raw("a"), Some(&Value::Bool(true)));
    assert_eq!(c.global().get_raw("b"), Some(&Value::Integer(1)));
    assert_eq!(c.host("x").get_raw("b"), None);
}

#[test]
fn component_with_module_table_form_returns_to_global() {
    // Verified example of reference §1.2.
    let c = load("VirtualHost \"x\"\nComponent \"muc.x\" \"muc\" { a = true }\nbaz = 1\n");
    assert_eq!(c.global().get_raw("baz"), Some(&Value::Integer(1)));
    assert_eq!(c.host("muc.x").get_raw("a"), Some(&Value::Bool(true)));
    assert_eq!(c.component_module("muc.x"), Some("muc"));
    assert!(c.is_component("muc.x"));
}

#[test]
fn component_without_table_keeps_following_assignments() {
    // Verified example of reference §1.2.
    let c = load("VirtualHost \"x\"\nComponent \"ext.x\"\ns = 1\n");
    assert_eq!(c.host("ext.x").get_raw("s"), Some(&Value::Integer(1)));
    assert_eq!(c.global().get_raw("s"), None);
    assert_eq!(c.component_module("ext.x"), Some("component"));
    assert_eq!(
        c.host("ext.x").get_raw("load_global_modules"),
        Some(&Value::Bool(false))
    );
}

#[test]
fn component_with_module_keeps_following_assignments() {
    let c = load("Component \"muc.x\" \"muc\"\nrestrict_room_creation = true\n");
    assert_eq!(
        c.host("muc.x").boolean("restrict_room_creation"),
        Some(true)
    );
    assert_eq!(c.component_module("muc.x"), Some("muc"));
}

#[test]
fn component_table_form_without_module_returns_to_global() {
    let c = load("Component \"ext.x\" { component_secret = \"s\" }\nafter = 2\n");
    assert_eq!(
        c.host("ext.x").string("component_secret").as_deref(),
        Some("s")
    );
    assert_eq!(c.global().integer("after"), Some(2));
    assert_eq!(c.component_module("ext.x"), Some("component"));
}

#[test]
fn lowercase_component_is_an_alias() {
    let c = load("component \"c.x\" \"muc\"\n");
    assert!(c.is_component("c.x"));
}

#[test]
fn redeclaring_a_host_reenters_it_and_merges_options() {
    let c = load("VirtualHost \"x\"\na = 1\nVirtualHost \"y\"\nVirtualHost \"x\"\nb = 2\n");
    assert_eq!(c.host("x").integer("a"), Some(1));
    assert_eq!(c.host("x").integer("b"), Some(2));
    assert_eq!(c.host_names(), vec!["x", "y"]);
}

#[test]
fn virtualhost_with_module_name_is_an_error() {
    let e = load_err("VirtualHost \"x\" \"muc\"\n");
    assert_eq!(e.line(), Some(1));
    assert!(e.to_string().contains("do not accept a module name"), "{e}");
}

#[test]
fn host_lookup_falls_back_to_global_and_raw_does_not() {
    let c = load("foo = \"g\"\nVirtualHost \"x\"\nVirtualHost \"y\"\nfoo = \"h\"\n");
    assert_eq!(c.host("x").string("foo").as_deref(), Some("g"));
    assert_eq!(c.host("x").get_raw("foo"), None);
    assert_eq!(c.host("y").string("foo").as_deref(), Some("h"));
    assert_eq!(
        c.host("unknown.example").string("foo").as_deref(),
        Some("g")
    );
}

#[test]
fn host_table_option_replaces_global_table_without_merging() {
    let c = load("t = { a = 1, b = 2 }\nVirtualHost \"x\"\nt = { a = 3 }\n");
    let t = c
        .host("x")
        .get("t")
        .and_then(Value::as_table)
        .cloned()
        .expect("table");
    assert_eq!(t.get("a"), Some(&Value::Integer(3)));
    assert_eq!(t.get("b"), None);
}

#[test]
fn inherited_set_unions_host_and_global() {
    let c = load("admins = { \"a@x\" }\nVirtualHost \"x\"\nadmins = { \"b@x\" }\n");
    let set = c.host("x").inherited_set("admins");
    assert_eq!(set.into_iter().collect::<Vec<_>>(), vec!["a@x", "b@x"]);
    assert_eq!(c.host("x").set("admins").len(), 1);
}

#[test]
fn env_prefixed_names_read_environment_variables() {
    std::env::set_var("LILT_TEST_SECTIONS_VAR", "from-env");
    let c = load("x = ENV_LILT_TEST_SECTIONS_VAR\ny = ENV_LILT_TEST_SURELY_UNSET_VAR\nz = type(ENV_LILT_TEST_SURELY_UNSET_VAR)\nVirtualHost \"h\"\n");
    assert_eq!(c.global().string("x").as_deref(), Some("from-env"));
    assert_eq!(c.global().get("y"), None);
    assert_eq!(c.global().string("z").as_deref(), Some("nil"));
}

#[test]
fn options_are_not_variables() {
    let c = load("x = 1\ny = x\nVirtualHost \"h\"\n");
    assert_eq!(c.global().get("y"), None);
}

#[test]
fn arbitrary_lua_runs_with_standard_library() {
    let c = load("local n = 0\nfor i = 1, 3 do n = n + i end\ncount = n\nname = string.upper(\"ab\")\nsize = 2 * 1024 * 1024\n");
    assert_eq!(c.global().integer("count"), Some(6));
    assert_eq!(c.global().string("name").as_deref(), Some("AB"));
    assert_eq!(c.global().bytes("size"), Some(2 * 1024 * 1024));
}

#[test]
fn enabled_false_hosts_exist_but_are_not_virtual_hosts() {
    let c = load("VirtualHost \"on\"\nVirtualHost \"off\"\nenabled = false\n");
    assert_eq!(c.host_names(), vec!["on", "off"]);
    assert_eq!(c.virtual_hosts(), vec!["on"]);
    assert!(!c.is_enabled("off"));
}

#[test]
fn global_enabled_false_disables_every_host_that_does_not_override_it() {
    let c = load("enabled = false\nVirtualHost \"a\"\nVirtualHost \"b\"\nenabled = true\n");
    assert_eq!(c.virtual_hosts(), vec!["b"]);
}

#[test]
fn websocket_config_entries_read_as_flat_options_and_flat_wins() {
    let c = load("websocket_config = { websocket_ping_interval = 30, websocket_pong_timeout = 10 }\nwebsocket_pong_timeout = 15\nVirtualHost \"h\"\n");
    assert_eq!(c.host("h").number("websocket_ping_interval"), Some(30.0));
    assert_eq!(c.host("h").number("websocket_pong_timeout"), Some(15.0));
}

#[test]
fn nil_assignment_removes_an_option() {
    let c = load("x = 1\nx = nil\nVirtualHost \"h\"\n");
    assert_eq!(c.global().get("x"), None);
}

#[test]
fn typed_accessors_follow_prosody_conversions() {
    let c = load("s = { \"first\", \"second\" }\nn = \"42\"\nb1 = \"true\"\nb2 = 0\nb3 = \"yes\"\none = \"alone\"\nd = \"5 min\"\nsz = \"10kb\"\nVirtualHost \"h\"\n");
    let g = c.global();
    assert_eq!(g.string("s").as_deref(), Some("first"));
    assert_eq!(g.number("n"), Some(42.0));
    assert_eq!(g.integer("n"), Some(42));
    assert_eq!(g.boolean("b1"), Some(true));
    assert_eq!(g.boolean("b2"), Some(false));
    assert_eq!(g.boolean("b3"), None);
    assert_eq!(g.strings("one"), vec!["alone"]);
    assert_eq!(g.duration_secs("d"), Some(300.0));
    assert_eq!(g.bytes("sz"), Some(10_000));
    assert_eq!(
        g.path("one", Path::new("/data")),
        Some(std::path::PathBuf::from("/data/alone"))
    );
}

#[test]
fn tables_keep_sequence_and_keyed_parts() {
    let c = load("t = { \"a\", \"b\", key = \"v\", [5281] = \"port\" }\nVirtualHost \"h\"\n");
    let t = c
        .global()
        .get("t")
        .and_then(Value::as_table)
        .cloned()
        .expect("table");
    assert_eq!(t.seq().len(), 2);
    assert_eq!(t.get("key"), Some(&Value::String("v".into())));
    assert_eq!(t.get("5281"), Some(&Value::String("port".into())));
}

#[test]
fn os_getenv_and_string_library_are_available() {
    std::env::set_var("LILT_TEST_GETENV", "v");
    let c =
        load("x = os.getenv(\"LILT_TEST_GETENV\") .. string.rep(\"!\", 2)\nVirtualHost \"h\"\n");
    assert_eq!(c.global().string("x").as_deref(), Some("v!!"));
}

#[test]
fn os_exit_is_not_available_to_a_config() {
    let e = load_err("os.exit(3)\n");
    assert_eq!(e.line(), Some(1));
}

#[test]
fn a_host_with_no_options_is_still_defined() {
    let c = load("VirtualHost \"bare.example\"\n");
    assert_eq!(c.host_names(), vec!["bare.example"]);
    assert!(c
        .section_data("bare.example")
        .expect("defined")
        .options
        .is_empty());
}

#[test]
fn unknown_options_are_stored_and_readable() {
    let c = load("foo_unknown = { 1, 2 }\nVirtualHost \"h\"\n");
    assert_eq!(c.host("h").array("foo_unknown").len(), 2);
}

#[test]
fn non_ascii_host_names_are_nameprepped() {
    let c = load("VirtualHost \"ÄÖ.Example\"\n");
    assert_eq!(c.virtual_hosts(), vec!["äö.example"]);
}

#[test]
fn data_path_is_absolute_against_the_working_directory_and_certificates_against_the_config_dir() {
    let c = load("data_path = \"store\"\ncertificates = \"tls\"\nVirtualHost \"h\"\n");
    let cwd = std::env::current_dir().expect("cwd");
    assert_eq!(c.data_path(), cwd.join("store"));
    assert_eq!(c.certificates_dir(), Path::new("/virtual/tls"));
    let d = load("VirtualHost \"h\"\n");
    assert_eq!(d.data_path(), cwd.join("data"));
    assert_eq!(d.certificates_dir(), Path::new("/virtual/certs"));
}
