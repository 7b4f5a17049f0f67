//! Lilt's own checks: unknown options (with a did-you-mean), guide extensions, the
//! `websocket_config` table, `modules_enabled` replaced by a later file, and module notes.

use std::collections::BTreeSet;

use super::prosody::{all_sections, at};
use super::Report;
use crate::config::catalogue::{self, Status};
use crate::config::{Config, Value};

pub(super) fn run(config: &Config, report: &mut Report) {
    unknown_and_extensions(config, report);
    websocket_config(config, report);
    replaced_module_lists(config, report);
    limits_websocket(config, report);
    cors_overrides(config, report);
    saslauth_note(config, report);
    tls_options(config, report);
}

fn unknown_and_extensions(config: &Config, report: &mut Report) {
    for s in all_sections(config) {
        for (name, e) in &s.options {
            match catalogue::lookup(name) {
                Some(spec) if spec.status == Status::Extension => report.note(format!(
                    "{}: {name:?} is a Lilt extension (Prosody 0.12 ignores it): {}",
                    at(e),
                    spec.summary
                )),
                Some(_) => {}
                None if catalogue::is_known(name) => {}
                None => {
                    let hint = catalogue::suggest(name)
                        .map(|s| format!(" (did you mean {s:?}?)"))
                        .unwrap_or_default();
                    report.warning(format!(
                        "{}: unknown option {name:?}{hint}; no built-in module reads it, though a plugin may",
                        at(e)
                    ));
                }
            }
        }
    }
}

fn websocket_config(config: &Config, report: &mut Report) {
    for s in all_sections(config) {
        let Some(e) = s.options.get("websocket_config") else {
            continue;
        };
        let Some(table) = e.value.as_table() else {
            report.problem(format!(
                "{}: websocket_config must be a table, got a {}",
                at(e),
                e.value.type_name()
            ));
            continue;
        };
        report.note(format!(
            "{}: websocket_config entries are read as flat options (websocket_x = ...); \
             where both are set, the flat option wins",
            at(e)
        ));
        for key in table.entries().keys() {
            if !key.starts_with("websocket_") {
                report.warning(format!(
                    "{}: websocket_config.{key} is not a websocket_* option and is not read",
                    at(e)
                ));
            } else if catalogue::lookup(key).is_none() {
                let hint = catalogue::suggest(key)
                    .map(|s| format!(" (did you mean {s:?}?)"))
                    .unwrap_or_default();
                report.warning(format!(
                    "{}: websocket_config.{key} is not a known option{hint}",
                    at(e)
                ));
            } else if let Some(flat) = s.options.get(key.as_str()) {
                report.note(format!(
                    "{}: websocket_config.{key} is overridden by the flat option at {}",
                    at(e),
                    at(flat)
                ));
            }
        }
    }
}

fn module_list(v: &Value) -> BTreeSet<String> {
    match v {
        Value::Table(t) => t.seq().iter().filter_map(Value::to_lua_string).collect(),
        other => other.to_lua_string().into_iter().collect(),
    }
}

fn replaced_module_lists(config: &Config, report: &mut Report) {
    for r in config.replacements() {
        if r.key != "modules_enabled" && r.key != "modules_disabled" {
            continue;
        }
        let old = module_list(&r.old.value);
        let new = module_list(&r.new.value);
        let lost: Vec<&str> = old.difference(&new).map(String::as_str).collect();
        let section = if r.section == "*" {
            "the global section".to_string()
        } else {
            r.section.clone()
        };
        let effect = if lost.is_empty() {
            "no module is lost".to_string()
        } else if r.key == "modules_enabled" {
            format!("these modules are no longer enabled: {}", lost.join(", "))
        } else {
            format!("these modules are no longer disabled: {}", lost.join(", "))
        };
        let message = format!(
            "{}: {} in {section} replaces the list set at {} (lists are not merged); {effect}",
            at(&r.new),
            r.key,
            at(&r.old)
        );
        if lost.is_empty() {
            report.note(message);
        } else {
            report.warning(message);
        }
    }
}

fn limits_websocket(config: &Config, report: &mut Report) {
    let Some(e) = config.global_data().options.get("limits") else {
        return;
    };
    if let Some(t) = e.value.as_table() {
        if t.entries().contains_key("websocket") {
            report.note(format!(
                "{}: limits.websocket is never applied by Prosody 0.12 (WebSocket sessions are c2s \
                 sessions, limited by limits.c2s); Lilt applies it to WebSocket connections",
                at(e)
            ));
        }
    }
}

fn cors_overrides(config: &Config, report: &mut Report) {
    for s in all_sections(config) {
        let Some(e) = s.options.get("http_cors_override") else {
            continue;
        };
        let Some(t) = e.value.as_table() else {
            continue;
        };
        for (app, v) in t.entries() {
            let Some(app_table) = v.as_table() else {
                continue;
            };
            let enabled = app_table.get("enabled");
            let has_fields = ["origins", "credentials", "headers"]
                .iter()
                .any(|k| app_table.get(k).is_some());
            if has_fields && enabled != Some(&Value::Bool(true)) {
                report.warning(format!(
                    "{}: http_cors_override.{app} sets origins/credentials/headers without \
                     enabled = true, so they are ignored (as in Prosody)",
                    at(e)
                ));
            }
        }
    }
}

fn saslauth_note(config: &Config, report: &mut Report) {
    for host in config.virtual_hosts() {
        let lilt = config.modules_for_host(host);
        let prosody = config.prosody_modules_for_host(host);
        if lilt.contains("saslauth") && !prosody.contains("saslauth") {
            report.note(format!(
                "{host}: Prosody would not load saslauth here (no modules_enabled names it), so \
                 nobody could log in; Lilt loads saslauth (with resource binding) wherever c2s or \
                 websocket is active unless modules_disabled names it"
            ));
        }
    }
}

/// `ssl`-style tables with LuaSec keys rustls cannot honour (the tcp slice's list).
fn tls_options(config: &Config, report: &mut Report) {
    for line in crate::modules::tls::contexts::unsupported_ssl_options(config) {
        report.warning(line);
    }
}
