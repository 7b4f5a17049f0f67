//! The option catalogue (DESIGN principle 5): every option Prosody 0.12's core and the
//! modules Lilt implements read, and every option the WebSocket guide names — with type,
//! default, scope and status. `lilt check config` and docs/config.md are driven by it.

mod options;
mod read;

pub use options::*;
pub use read::{read, FromOption};

/// Every catalogued option: the central list (Prosody's core and the modules not yet
/// on the module handle), then what each handle module's definition declares, then the
/// option lists declared beside the code that reads them.
pub fn all() -> impl Iterator<Item = &'static OptionSpec> {
    OPTIONS
        .iter()
        .chain(
            crate::modules::MODULES
                .iter()
                .flat_map(|d| d.options.iter()),
        )
        .chain(DECLARED_BESIDE_READERS.iter().flat_map(|l| l.iter()))
}

/// Option lists kept next to the code that reads them (one line per list).
const DECLARED_BESIDE_READERS: &[&[OptionSpec]] = &[
    crate::modules::limits::auth::OPTIONS,
    crate::lua::sandbox::OPTIONS,
];

/// How an option's value is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionType {
    String,
    Number,
    Integer,
    Boolean,
    Array,
    Set,
    InheritedSet,
    Path,
    Duration,
    Bytes,
    Table,
    /// Several shapes are accepted (e.g. `log`, `storage`).
    Any,
}

/// Where an option is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Only the global section is consulted; setting it under a host has no effect.
    Global,
    /// Read per host, falling back to the global value.
    Host,
}

/// Where an option comes from and whether it still does anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Read by Prosody 0.12 and by Lilt the same way.
    Prosody,
    /// Not in Prosody 0.12; named by the guide and implemented by Lilt.
    Extension,
    /// Prosody 0.12 still reads it but calls it deprecated; the text says what replaces it.
    Deprecated(&'static str),
    /// Ignored by Prosody 0.12; the text says what to use instead.
    Obsolete(&'static str),
}

/// One catalogue entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionSpec {
    pub name: &'static str,
    pub ty: OptionType,
    /// The default as it would be written in the config ("" = none / nil).
    pub default: &'static str,
    pub scope: Scope,
    pub status: Status,
    /// The module (or `core`) that reads it.
    pub module: &'static str,
    pub summary: &'static str,
}

impl OptionSpec {
    /// An option Prosody 0.12 reads the same way, for a module's definition.
    pub const fn prosody(
        name: &'static str,
        ty: OptionType,
        default: &'static str,
        scope: Scope,
        module: &'static str,
        summary: &'static str,
    ) -> Self {
        OptionSpec {
            name,
            ty,
            default,
            scope,
            status: Status::Prosody,
            module,
            summary,
        }
    }

    /// A Lilt extension (not in Prosody 0.12), for a module's definition.
    pub const fn extension(
        name: &'static str,
        ty: OptionType,
        default: &'static str,
        scope: Scope,
        module: &'static str,
        summary: &'static str,
    ) -> Self {
        OptionSpec {
            status: Status::Extension,
            ..Self::prosody(name, ty, default, scope, module, summary)
        }
    }
}

/// The catalogue entry for `name`.
pub fn lookup(name: &str) -> Option<&'static OptionSpec> {
    all().find(|o| o.name == name)
}

/// True when Prosody reads `name` from the global section only: a catalogue entry with
/// global scope, or a name of the forms `interface(s)`, `*_port(s)`, `*_interface(s)`,
/// `*_ssl` (except `c2s_ssl`/`s2s_ssl`), as `prosodyctl check config` treats them.
pub fn is_global_only(name: &str) -> bool {
    if let Some(spec) = lookup(name) {
        return spec.scope == Scope::Global;
    }
    let service_ssl = name.ends_with("_ssl") && name != "c2s_ssl" && name != "s2s_ssl";
    matches!(name, "interface" | "interfaces")
        || name.ends_with("_port")
        || name.ends_with("_ports")
        || name.ends_with("_interface")
        || name.ends_with("_interfaces")
        || service_ssl
}

/// True for names the catalogue does not know but that follow a known family
/// (service ports/interfaces/ssl), so they are not reported as unknown.
pub fn is_known(name: &str) -> bool {
    lookup(name).is_some() || is_global_only(name)
}

/// The closest catalogue name, for a did-you-mean hint.
pub fn suggest(name: &str) -> Option<&'static str> {
    let limit = (name.len() / 4).clamp(1, 3);
    all()
        .map(|o| (edit_distance(name, o.name), o.name))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The catalogue as a Markdown table (the "Option catalogue" section of docs/config.md).
pub fn markdown_table() -> String {
    let mut out = String::from("| option | type | default | scope | status | read by | meaning |\n|---|---|---|---|---|---|---|\n");
    for o in all() {
        let status = match o.status {
            Status::Prosody => "Prosody".to_string(),
            Status::Extension => "Lilt extension".to_string(),
            Status::Deprecated(r) => format!("deprecated: use {r}"),
            Status::Obsolete(r) => format!("obsolete: use {r}"),
        };
        let scope = match o.scope {
            Scope::Global => "global",
            Scope::Host => "per host",
        };
        let cell = |s: &str| s.replace('|', "\\|");
        let default = if o.default.is_empty() {
            String::new()
        } else {
            format!("`{}`", cell(o.default))
        };
        out.push_str(&format!(
            "| `{}` | {:?} | {} | {} | {} | {} | {} |\n",
            o.name,
            o.ty,
            default,
            scope,
            cell(&status),
            o.module,
            cell(o.summary)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_names_are_unique() {
        let mut names: Vec<_> = all().map(|o| o.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }

    #[test]
    fn service_port_families_are_global_only_but_c2s_ssl_is_not() {
        assert!(is_global_only("proxy65_ports"));
        assert!(is_global_only("legacy_ssl_ssl"));
        assert!(!is_global_only("c2s_ssl"));
        assert!(is_global_only("trusted_proxies"));
        assert!(!is_global_only("http_host"));
    }

    #[test]
    fn misspelt_options_get_a_suggestion() {
        assert_eq!(suggest("modules_enable"), Some("modules_enabled"));
        assert_eq!(suggest("http_prots"), Some("http_ports"));
        assert_eq!(suggest("completely_different_thing"), None);
    }

    #[test]
    fn options_read_outside_the_central_list_are_catalogued() {
        for name in [
            "limit_auth_period",
            "limit_auth_max",
            "limit_auth_account_max",
            "lua_instruction_budget",
            "lua_memory_limit",
        ] {
            assert!(lookup(name).is_some(), "{name} is read but not catalogued");
        }
    }

    #[test]
    fn catalogued_defaults_match_what_the_code_falls_back_to() {
        let default = |name: &str| lookup(name).map(|o| o.default);
        let budget = crate::lua::sandbox::DEFAULT_BUDGET.to_string();
        assert_eq!(default("lua_instruction_budget"), Some(budget.as_str()));
        let memory = crate::lua::sandbox::DEFAULT_MEMORY_LIMIT.to_string();
        assert_eq!(default("lua_memory_limit"), Some(memory.as_str()));
        let max = crate::modules::limits::auth::DEFAULT_AUTH_MAX.to_string();
        assert_eq!(default("limit_auth_max"), Some(max.as_str()));
        let period = crate::modules::limits::auth::DEFAULT_AUTH_PERIOD_SECS;
        assert_eq!(
            default("limit_auth_period").map(str::parse::<f64>),
            Some(Ok(period))
        );
    }

    #[test]
    fn a_spec_reads_the_config_value_else_its_default() {
        let path = std::path::Path::new("/nonexistent/prosody.cfg.lua");
        let unset = crate::config::Config::load_str(path, "").expect("parses");
        let set = crate::config::Config::load_str(path, "c2s_stanza_size_limit = 1000\n")
            .expect("parses");
        assert_eq!(
            read::<i64>(&unset, None, &C2S_STANZA_SIZE_LIMIT),
            Some(262_144)
        );
        assert_eq!(read::<i64>(&set, None, &C2S_STANZA_SIZE_LIMIT), Some(1000));
        assert_eq!(
            read::<bool>(&unset, Some("a.test"), &C2S_REQUIRE_ENCRYPTION),
            Some(true)
        );
        assert_eq!(
            read::<String>(&unset, Some("a.test"), &CONFLICT_RESOLVE).as_deref(),
            Some("kick_old")
        );
    }
}
