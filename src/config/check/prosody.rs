//! The checks `prosodyctl check config` 0.12.3 makes, in its order (reference §1.8).

use std::collections::BTreeSet;

use super::Report;
use crate::config::catalogue::{self, Status};
use crate::config::{Config, OptionEntry, SectionData, SectionKind, Value};

/// `file:line` of an option assignment.
pub(super) fn at(e: &OptionEntry) -> String {
    format!("{}:{}", e.file.display(), e.line)
}

pub(super) fn all_sections(config: &Config) -> impl Iterator<Item = &SectionData> {
    std::iter::once(config.global_data()).chain(config.hosts_data().iter())
}

fn section_label(s: &SectionData) -> String {
    match s.kind {
        SectionKind::Global => "the global section".to_string(),
        _ => s.name.clone(),
    }
}

fn modules_of(v: &Value) -> Vec<String> {
    match v {
        Value::Table(t) => t.seq().iter().filter_map(Value::to_lua_string).collect(),
        other => other.to_lua_string().into_iter().collect(),
    }
}

pub(super) fn run(config: &Config, report: &mut Report) {
    let global = config.global_data();
    if global.options.keys().all(|k| k == "log") {
        report.problem(
            "No global options defined. Perhaps you have put a host definition at the top of \
             your config file before the global section?",
        );
    }
    if config.host_names().is_empty() {
        report.problem("No hosts are defined, please add at least one VirtualHost section");
    } else if config.virtual_hosts().is_empty() {
        report.problem("No enabled VirtualHost entries found in the config file (all hosts are disabled or components).");
    }
    if !global.options.contains_key("modules_enabled") {
        report.warning(
            "No global modules_enabled is set? Consider adding some of: roster, saslauth, tls, \
             disco, ping, register, time, uptime, version, carbons, smacks",
        );
    }
    let global_modules: BTreeSet<String> =
        global.options.get("modules_enabled").map(|e| modules_of(&e.value)).unwrap_or_default().into_iter().collect();
    for host in config.hosts_data() {
        if let Some(module) = config.component_module(&host.name) {
            if module != "component" && global_modules.contains(module) {
                report.warning(format!(
                    "{}:{}: mod_{module} is used by Component {:?} but is also in the global \
                     modules_enabled; it will be loaded on every VirtualHost too — remove it there",
                    host.file.display(),
                    host.line,
                    host.name
                ));
            }
        }
    }
    obsolete_and_deprecated(config, report);
    global_only_under_hosts(config, report);
    for host in config.virtual_hosts() {
        for prefix in ["jabber.", "xmpp.", "chat.", "im."] {
            if let Some(rest) = host.strip_prefix(prefix) {
                report.note(format!(
                    "Suggestion: if {host:?} is meant to be the domain in your users' addresses, \
                     consider {rest:?} (user@{rest}) and pointing DNS SRV records at {host}"
                ));
            }
        }
    }
    module_names(config, report);
    for s in all_sections(config) {
        let storage_is_string = matches!(s.options.get("storage").map(|e| &e.value), Some(Value::String(_)));
        if let (true, Some(e)) = (storage_is_string, s.options.get("default_storage")) {
            report.warning(format!(
                "{}: default_storage has no effect in {} because storage is a single driver name",
                at(e),
                section_label(s)
            ));
        }
    }
    encryption_without_tls(config, report);
    for host in config.virtual_hosts() {
        if config.host(host).boolean("allow_registration") == Some(true) {
            report.note(format!("{host} allows public registration (allow_registration = true)"));
        }
    }
    for comp in config.components() {
        let referenced = config.virtual_hosts().iter().any(|h| comp.ends_with(&format!(".{h}")));
        if !referenced {
            report.note(format!(
                "Component {comp:?} is not a subdomain of any VirtualHost, so clients will not \
                 discover it through service discovery"
            ));
        }
    }
}

fn obsolete_and_deprecated(config: &Config, report: &mut Report) {
    for s in all_sections(config) {
        for (name, e) in &s.options {
            match catalogue::lookup(name).map(|o| o.status) {
                Some(Status::Obsolete(instead)) => report.problem(format!(
                    "{}: option {name:?} is obsolete and ignored; use instead: {instead}",
                    at(e)
                )),
                Some(Status::Deprecated(instead)) => report.problem(format!(
                    "{}: option {name:?} is deprecated; replace it with: {instead}",
                    at(e)
                )),
                _ => {}
            }
        }
    }
}

fn global_only_under_hosts(config: &Config, report: &mut Report) {
    for host in config.hosts_data() {
        let misplaced: Vec<String> = host
            .options
            .iter()
            .filter(|(name, _)| catalogue::is_global_only(name))
            .map(|(name, e)| format!("{name} ({})", at(e)))
            .collect();
        if !misplaced.is_empty() {
            report.problem(format!(
                "You have {} option{} set under {} that should be in the global section: {}",
                misplaced.len(),
                if misplaced.len() == 1 { "" } else { "s" },
                host.name,
                misplaced.join(", ")
            ));
        }
    }
}

fn module_names(config: &Config, report: &mut Report) {
    for s in all_sections(config) {
        let Some(e) = s.options.get("modules_enabled") else { continue };
        let mods = modules_of(&e.value);
        for m in &mods {
            if let Some(bare) = m.strip_prefix("mod_") {
                report.problem(format!(
                    "{}: modules_enabled lists {m:?}; module names are written without the mod_ prefix: {bare:?}",
                    at(e)
                ));
            } else if let Some(provider) = m.strip_prefix("auth_") {
                report.problem(format!(
                    "{}: modules_enabled lists {m:?}; authentication providers are selected with authentication = {provider:?}",
                    at(e)
                ));
            } else if let Some(driver) = m.strip_prefix("storage_") {
                report.problem(format!(
                    "{}: modules_enabled lists {m:?}; storage drivers are selected with storage = {driver:?}",
                    at(e)
                ));
            }
        }
    }
    for host in config.host_names() {
        let set = config.prosody_modules_for_host(host);
        let enabled = |m: &str| {
            set.contains(m) || listed(config, host, m)
        };
        for (a, b) in [("vcard", "vcard_legacy"), ("pep", "pep_simple")] {
            if enabled(a) && enabled(b) {
                report.problem(format!("{host}: mod_{a} and mod_{b} are both enabled but conflict; enable only one"));
            }
        }
    }
}

fn listed(config: &Config, host: &str, module: &str) -> bool {
    [config.global().get_raw("modules_enabled"), config.host(host).get_raw("modules_enabled")]
        .into_iter()
        .flatten()
        .any(|v| modules_of(v).iter().any(|m| m == module))
}

fn encryption_without_tls(config: &Config, report: &mut Report) {
    let requires = |host: &str| {
        let s = config.host(host);
        s.boolean("c2s_require_encryption")
            .or_else(|| s.boolean("require_encryption"))
            .unwrap_or(true)
    };
    let offenders: Vec<&str> = config
        .virtual_hosts()
        .into_iter()
        .filter(|h| requires(h) && !config.modules_for_host(h).contains("tls"))
        .collect();
    if !offenders.is_empty() {
        report.problem(format!(
            "You require encryption but mod_tls is not enabled (on {}). Add \"tls\" to \
             modules_enabled, or set c2s_require_encryption = false if every client connects \
             through a TLS-terminating proxy or a secure WebSocket",
            offenders.join(", ")
        ));
    }
}
