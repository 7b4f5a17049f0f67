//! Typed option reads through a catalogue entry: the config's value when it is set and
//! of the right shape, else the entry's default parsed the same way (one default, written
//! once, in the catalogue).

use crate::config::catalogue::{OptionSpec, Scope};
use crate::config::{Config, Section};

/// A Rust type an option can be read as.
pub trait FromOption: Sized {
    /// The value of `name` in `section`, if set and of this type.
    fn from_section(section: &Section<'_>, name: &str) -> Option<Self>;
    /// The catalogue default (as written in a config file), if it is of this type.
    fn from_default(text: &str) -> Option<Self>;
}

impl FromOption for i64 {
    fn from_section(section: &Section<'_>, name: &str) -> Option<Self> {
        section.integer(name)
    }
    fn from_default(text: &str) -> Option<Self> {
        text.parse().ok()
    }
}

impl FromOption for f64 {
    fn from_section(section: &Section<'_>, name: &str) -> Option<Self> {
        section.number(name)
    }
    fn from_default(text: &str) -> Option<Self> {
        text.parse().ok()
    }
}

impl FromOption for bool {
    fn from_section(section: &Section<'_>, name: &str) -> Option<Self> {
        section.boolean(name)
    }
    fn from_default(text: &str) -> Option<Self> {
        match text {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }
}

impl FromOption for String {
    fn from_section(section: &Section<'_>, name: &str) -> Option<Self> {
        section.string(name)
    }
    fn from_default(text: &str) -> Option<Self> {
        let unquoted = text.strip_prefix('"')?.strip_suffix('"')?;
        Some(unquoted.to_owned())
    }
}

/// The value of `spec` on `host` (`None`: the global section), or its default. A
/// global-only option is read from the global section whatever the host.
pub fn read<T: FromOption>(config: &Config, host: Option<&str>, spec: &OptionSpec) -> Option<T> {
    let section = match (host, spec.scope) {
        (Some(h), Scope::Host) => config.host(h),
        _ => config.global(),
    };
    T::from_section(&section, spec.name).or_else(|| T::from_default(spec.default))
}
