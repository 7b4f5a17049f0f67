//! Value checks: an option whose value has the wrong shape for its catalogue type, unknown
//! `network_settings` keys, and `limits` entries mod_limits could not parse.

use super::prosody::{all_sections, at};
use super::Report;
use crate::config::catalogue::{self, OptionType};
use crate::config::units::{parse_bytes, parse_duration};
use crate::config::{Config, Value};

/// The keys `network_settings` understands (reference §8.1).
use crate::net::settings::KEYS as NETWORK_SETTINGS;

pub(super) fn run(config: &Config, report: &mut Report) {
    types(config, report);
    network_settings(config, report);
    limits(config, report);
    trusted_proxies(config, report);
}

/// An IP address or a CIDR range such as `10.0.0.0/8` or `fd00::/8`.
fn ip_or_cidr(s: &str) -> bool {
    let (addr, bits) = match s.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    let Ok(ip) = addr.parse::<std::net::IpAddr>() else {
        return false;
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    bits.is_none_or(|b| b.parse::<u8>().is_ok_and(|n| n <= max))
}

fn trusted_proxies(config: &Config, report: &mut Report) {
    let Some(e) = config.global_data().options.get("trusted_proxies") else {
        return;
    };
    let entries = match &e.value {
        Value::Table(t) => t.seq().to_vec(),
        other => vec![other.clone()],
    };
    for entry in entries {
        let text = entry.to_lua_string().unwrap_or_default();
        if !ip_or_cidr(&text) {
            report.warning(format!(
                "{}: trusted_proxies entry {entry} is not an IP address or CIDR range and never matches",
                at(e)
            ));
        }
    }
}

fn fits(ty: OptionType, v: &Value) -> bool {
    let scalar = !matches!(v, Value::Table(_) | Value::Function);
    match ty {
        OptionType::Any => true,
        OptionType::String | OptionType::Path => scalar,
        OptionType::Number | OptionType::Integer => v.as_f64().is_some(),
        OptionType::Duration => match v {
            Value::String(s) => parse_duration(s).is_some(),
            other => other.as_f64().is_some(),
        },
        OptionType::Bytes => match v {
            Value::String(s) => parse_bytes(s).is_some(),
            other => other.as_f64().is_some(),
        },
        OptionType::Boolean => match v {
            Value::Bool(_) => true,
            Value::String(s) => s == "true" || s == "false",
            Value::Integer(i) => *i == 0 || *i == 1,
            _ => false,
        },
        OptionType::Array | OptionType::Set | OptionType::InheritedSet => {
            !matches!(v, Value::Function)
        }
        OptionType::Table => matches!(v, Value::Table(_)),
    }
}

fn type_word(ty: OptionType) -> &'static str {
    match ty {
        OptionType::String => "a string",
        OptionType::Path => "a path (string)",
        OptionType::Number => "a number",
        OptionType::Integer => "an integer",
        OptionType::Duration => "a duration (seconds, or a string like \"30s\")",
        OptionType::Bytes => "a size (bytes, or a string like \"10kb\")",
        OptionType::Boolean => "true or false",
        OptionType::Array | OptionType::Set | OptionType::InheritedSet => "a list",
        OptionType::Table => "a table",
        OptionType::Any => "any value",
    }
}

fn types(config: &Config, report: &mut Report) {
    for s in all_sections(config) {
        for (name, e) in &s.options {
            let Some(spec) = catalogue::lookup(name) else {
                continue;
            };
            if !fits(spec.ty, &e.value) {
                report.warning(format!(
                    "{}: {name} should be {}, not {} ({}); it will be read as unset",
                    at(e),
                    type_word(spec.ty),
                    e.value.type_name(),
                    e.value
                ));
            }
        }
    }
}

fn network_settings(config: &Config, report: &mut Report) {
    for (name, why) in crate::net::settings::ineffective_global_options() {
        if let Some(e) = config.global_data().options.get(*name) {
            report.note(format!("{}: {name} has no effect in Lilt: {why}", at(e)));
        }
    }
    let Some(e) = config.global_data().options.get("network_settings") else {
        return;
    };
    let Some(t) = e.value.as_table() else { return };
    for key in t.entries().keys() {
        if let Some((_, why)) = crate::net::settings::ineffective_keys()
            .iter()
            .find(|(k, _)| k == key)
        {
            report.note(format!(
                "{}: network_settings.{key} has no effect in Lilt: {why}",
                at(e)
            ));
        }
        if !NETWORK_SETTINGS.contains(&key.as_str()) {
            let best = NETWORK_SETTINGS.iter().min_by_key(|k| strsim(key, k));
            let hint = best
                .filter(|b| strsim(key, b) <= 3)
                .map(|b| format!(" (did you mean {b:?}?)"))
                .unwrap_or_default();
            report.warning(format!(
                "{}: network_settings.{key} is not a known network setting{hint}",
                at(e)
            ));
        }
    }
}

fn strsim(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// mod_limits' rate syntax: digits, an optional space, a unit, `/s`.
fn rate_ok(s: &str) -> bool {
    let Some(body) = s.strip_suffix("/s") else {
        return false;
    };
    let digits = body.chars().take_while(char::is_ascii_digit).count();
    let unit = body[digits..].trim_start_matches(' ');
    digits > 0
        && unit
            .chars()
            .next()
            .is_some_and(|c| "bkmgtBKMGT".contains(c))
        && unit.chars().all(char::is_alphabetic)
}

/// mod_limits' burst syntax: a number, or digits with an optional space and `s`.
fn burst_seconds_ok(v: &Value) -> bool {
    match v {
        Value::String(s) => {
            let body = s.strip_suffix('s').unwrap_or("");
            let body = body.trim_end_matches(' ');
            !body.is_empty() && body.chars().all(|c| c.is_ascii_digit())
        }
        other => other.as_f64().is_some(),
    }
}

fn limits(config: &Config, report: &mut Report) {
    let Some(e) = config.global_data().options.get("limits") else {
        return;
    };
    let Some(t) = e.value.as_table() else { return };
    for (kind, entry) in t.entries() {
        let Some(entry) = entry.as_table() else {
            report.warning(format!(
                "{}: limits.{kind} should be a table {{ rate = ..., burst = ... }}",
                at(e)
            ));
            continue;
        };
        match entry.get("rate") {
            Some(Value::String(r)) if rate_ok(r) => {}
            Some(other) => report.warning(format!(
                "{}: limits.{kind}.rate = {other} is not of the form \"10kb/s\"; mod_limits would use 3000 bytes/s",
                at(e)
            )),
            None => report.warning(format!(
                "{}: limits.{kind} has no rate; mod_limits would use 3000 bytes/s",
                at(e)
            )),
        }
        if let Some(burst) = entry.get("burst") {
            let bytes_ok = kind == "websocket" && burst.as_str().and_then(parse_bytes).is_some();
            if !burst_seconds_ok(burst) && !bytes_ok {
                report.warning(format!(
                    "{}: limits.{kind}.burst = {burst} is not a number of seconds like \"2s\"; mod_limits would use 2 seconds",
                    at(e)
                ));
            } else if bytes_ok && !burst_seconds_ok(burst) {
                report.note(format!(
                    "{}: limits.websocket.burst = {burst} is read by Lilt as a byte allowance; \
                     Prosody's limits take burst in seconds (\"2s\")",
                    at(e)
                ));
            }
        }
        if !matches!(
            kind.as_str(),
            "c2s" | "s2sin" | "s2sout" | "websocket" | "component"
        ) {
            report.warning(format!(
                "{}: limits.{kind} names no session type (c2s, s2sin, s2sout, component; websocket in Lilt) and never applies",
                at(e)
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_follow_mod_limits_syntax() {
        assert!(rate_ok("10kb/s"));
        assert!(rate_ok("2 MB/s"));
        assert!(!rate_ok("10kb"));
        assert!(!rate_ok("1.5kb/s"));
    }

    #[test]
    fn trusted_proxies_are_ips_or_cidr_ranges() {
        assert!(ip_or_cidr("127.0.0.1"));
        assert!(ip_or_cidr("::1"));
        assert!(ip_or_cidr("10.0.0.0/8"));
        assert!(ip_or_cidr("fd00::/8"));
        assert!(!ip_or_cidr("proxy.ip.here"));
        assert!(!ip_or_cidr("10.0.0.0/33"));
    }

    #[test]
    fn bursts_are_seconds() {
        assert!(burst_seconds_ok(&Value::String("2s".into())));
        assert!(burst_seconds_ok(&Value::Integer(3)));
        assert!(!burst_seconds_ok(&Value::String("50kb".into())));
    }
}
