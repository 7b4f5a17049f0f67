//! Modules the config names that nothing provides (issue 15 point 3): each name in a
//! `modules_enabled`, a Component's module and the `authentication` provider is looked
//! up the way startup loads it ([`crate::lua::provenance::source`]); what is missing is
//! a problem, with what would provide it. Prosody's autoloaded modules that Lilt lacks
//! are only a note.

use std::collections::BTreeMap;

use super::prosody::at;
use super::Report;
use crate::config::{Config, OptionEntry, Value};
use crate::lua::provenance::{self, Source};

/// Where the config names a module for a host, for the message.
fn named_at(config: &Config, host: &str, module: &str) -> Option<String> {
    let lists = |e: Option<&OptionEntry>| {
        e.filter(|e| match &e.value {
            Value::Table(t) => t
                .seq()
                .iter()
                .any(|v| v.to_lua_string().as_deref() == Some(module)),
            other => other.to_lua_string().as_deref() == Some(module),
        })
        .map(|e| format!("modules_enabled at {}", at(e)))
    };
    let section = config.section_data(host);
    if let Some(where_) = lists(section.and_then(|s| s.options.get("modules_enabled"))) {
        return Some(where_);
    }
    if let Some(s) = section.filter(|_| config.component_module(host) == Some(module)) {
        return Some(format!("Component at {}:{}", s.file.display(), s.line));
    }
    if let Some(provider) = module.strip_prefix("auth_") {
        let entry = section
            .and_then(|s| s.options.get("authentication"))
            .or_else(|| config.global_data().options.get("authentication"));
        return Some(match entry {
            Some(e) => format!("authentication = {provider:?} at {}", at(e)),
            None => format!("authentication = {provider:?}"),
        });
    }
    lists(config.global_data().options.get("modules_enabled"))
}

/// (module, where it is named, why it is missing) -> hosts.
type Missing = BTreeMap<(String, String, String), Vec<String>>;

/// What is missing where: named modules, and Prosody's autoloads (module -> hosts).
fn find(config: &Config) -> (Missing, BTreeMap<String, Vec<String>>) {
    let mut missing = Missing::new();
    let mut defaults: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut hosts: Vec<&str> = config.virtual_hosts();
    hosts.extend(config.components());
    for host in hosts {
        for module in config.modules_for_host(host) {
            let Source::Missing(reason) = provenance::source(config, &module) else {
                continue;
            };
            match named_at(config, host, &module) {
                Some(where_) => missing
                    .entry((module, where_, reason))
                    .or_default()
                    .push(host.to_owned()),
                None => defaults.entry(module).or_default().push(host.to_owned()),
            }
        }
    }
    (missing, defaults)
}

pub(super) fn run(config: &Config, report: &mut Report) {
    for host in config.components() {
        let external =
            config.component_module(host) == Some(crate::modules::component::MODULE_NAME);
        if external && config.host(host).string("component_secret").is_none() {
            report.warning(format!(
                "Component {host:?} is an external component without component_secret: no \
                 component can log in as it"
            ));
        }
    }
    let (missing, defaults) = find(config);
    for ((module, where_, reason), hosts) in missing {
        report.problem(format!(
            "Module {module:?} is not provided ({where_}; for {}): {reason}",
            hosts.join(", ")
        ));
    }
    for (module, hosts) in defaults {
        report.note(format!(
            "Prosody loads mod_{module} by default; Lilt does not provide it yet (on {})",
            hosts.join(", ")
        ));
    }
}

/// The modules `lilt check config` reports as not provided, by name (for tests and docs).
pub fn missing_modules(config: &Config) -> std::collections::BTreeSet<String> {
    find(config)
        .0
        .into_keys()
        .map(|(module, _, _)| module)
        .collect()
}
