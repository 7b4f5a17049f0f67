//! The handle records what a module registers and unloading takes all of it back; options
//! come from the config or, unset, from their catalogue default.

use std::rc::Rc;

use super::{is_loaded, load, unload, Definition, Module, UnloadError};
use crate::config::catalogue::{OptionSpec, OptionType, Scope, Status};
use crate::core::{Bus, Core, Event};

fn core(extra: &str) -> Core {
    let text = format!("s2s_ports = {{}}\n{extra}\nVirtualHost \"a.test\"\n");
    let path = std::path::Path::new("/nonexistent/prosody.cfg.lua");
    let config = crate::config::Config::load_str(path, &text).expect("config parses");
    let mut core = Core::new(crate::core::server::build(config).0);
    core.hosts.insert(
        "a.test".into(),
        crate::core::Host {
            name: "a.test".into(),
            is_component: false,
            events: Default::default(),
            modules: Default::default(),
            features: Default::default(),
            identities: Vec::new(),
            extensions: Vec::new(),
        },
    );
    core
}

fn probe_load(m: &mut Module<'_>) {
    m.hook("probe", 0.0, Rc::new(|_, _| Some(true)));
    m.hook_global("probe-global", 0.0, Rc::new(|_, _| Some(true)));
    m.add_feature("urn:test:probe");
    m.add_identity("server", "im", "Probe");
    m.stream_feature(crate::xml::Element::new("probe", "urn:test:probe"));
}

const PROBE: Definition = Definition {
    name: "probe",
    options: &[],
    load: probe_load,
    unload: None,
};

fn fired(core: &mut Core, bus: &Bus, event: &str) -> bool {
    core.fire(bus, event, &mut Event::global()).is_some()
}

#[test]
fn unload_takes_back_hooks_features_identities_and_stream_features() {
    let mut core = core("");
    let host = Bus::Host("a.test".into());
    load(&mut core, "a.test", &PROBE);
    assert!(fired(&mut core, &host, "probe"));
    assert!(fired(&mut core, &Bus::Global, "probe-global"));
    assert!(core.hosts["a.test"].features.contains("urn:test:probe"));
    assert_eq!(core.hosts["a.test"].identities.len(), 1);
    assert_eq!(core.shared.feature_hooks.statics("a.test").len(), 1);
    assert!(core.hosts["a.test"].modules.contains("probe"));

    unload(&mut core, "a.test", "probe").expect("loaded");
    assert!(!fired(&mut core, &host, "probe"));
    assert!(!fired(&mut core, &Bus::Global, "probe-global"));
    assert!(!core.hosts["a.test"].features.contains("urn:test:probe"));
    assert!(core.hosts["a.test"].identities.is_empty());
    assert!(core.shared.feature_hooks.statics("a.test").is_empty());
    assert!(!core.hosts["a.test"].modules.contains("probe"));
    assert!(!is_loaded(&mut core, "a.test", "probe"));
}

#[test]
fn a_module_loads_again_after_unload_and_loading_twice_registers_once() {
    let mut core = core("");
    load(&mut core, "a.test", &PROBE);
    load(&mut core, "a.test", &PROBE);
    unload(&mut core, "a.test", "probe").expect("loaded");
    assert_eq!(
        unload(&mut core, "a.test", "probe"),
        Err(UnloadError::NotLoaded {
            module: "probe".into(),
            host: "a.test".into()
        })
    );
    load(&mut core, "a.test", &PROBE);
    assert!(fired(&mut core, &Bus::Host("a.test".into()), "probe"));
}

#[test]
fn a_feature_another_module_added_stays_when_this_one_unloads() {
    let mut core = core("");
    core.hosts
        .get_mut("a.test")
        .expect("host")
        .features
        .insert("urn:test:probe".into());
    load(&mut core, "a.test", &PROBE);
    unload(&mut core, "a.test", "probe").expect("loaded");
    assert!(core.hosts["a.test"].features.contains("urn:test:probe"));
}

const SIZE: OptionSpec = OptionSpec {
    name: "probe_size",
    ty: OptionType::Integer,
    default: "42",
    scope: Scope::Host,
    status: Status::Extension,
    module: "probe",
    summary: "test",
};

fn read_size(core: &mut Core) -> Option<i64> {
    Module::new(core, "a.test", "probe").option::<i64>(&SIZE)
}

#[test]
fn an_option_unset_reads_its_catalogue_default_and_a_set_one_its_value() {
    assert_eq!(read_size(&mut core("")), Some(42));
    assert_eq!(read_size(&mut core("probe_size = 7")), Some(7));
    // The wrong shape falls back to the default rather than a made-up value.
    assert_eq!(read_size(&mut core("probe_size = \"big\"")), Some(42));
}
