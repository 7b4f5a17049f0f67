//! The Prosody configuration language: evaluates a config tree (with `Include`,
//! `VirtualHost`, `Component`, ...) into a [`Config`] of typed options per section.
//!
//! Evaluation (`eval`) runs each file as Lua in its own environment and ends with plain
//! data; everything after that (lookup, module sets, checks, JSON, logging) reads that data
//! and never touches Lua. This module does not start anything: it only describes.
//!
//! ```no_run
//! let config = lilt::config::Config::load(std::path::Path::new("config/prosody.cfg.lua"))?;
//! let ports = config.global().array("http_ports");
//! # Ok::<(), lilt::config::ConfigError>(())
//! ```

pub mod catalogue;
pub mod check;
mod convert;
mod directives;
mod error;
mod eval;
mod hostname;
pub mod include;
pub mod json;
pub mod logging;
mod modules;
mod require;
mod section;
pub mod units;
mod value;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub use error::ConfigError;
pub use hostname::{prep_host_name, HostNameError};
pub use section::Section;
pub use value::{format_number, Table, Value};

/// One option as set in the config: its value and where it was (last) assigned.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionEntry {
    pub value: Value,
    pub file: PathBuf,
    pub line: u32,
}

/// What kind of section a host name defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionKind {
    Global,
    VirtualHost,
    /// `Component "name" ["module"]`; `module` is `component` for an external component.
    Component {
        module: String,
    },
}

/// The raw options of one section, exactly as set in it (nothing inherited).
#[derive(Debug, Clone, PartialEq)]
pub struct SectionData {
    pub name: String,
    pub kind: SectionKind,
    pub options: BTreeMap<String, OptionEntry>,
    /// Where the section was first declared (for the global section: the main file, line 0).
    pub file: PathBuf,
    pub line: u32,
}

/// A later assignment that replaced an option set by an earlier *file* (not a duplicate
/// within one file, which is a [`Config::warnings`] entry).
#[derive(Debug, Clone, PartialEq)]
pub struct Replacement {
    pub section: String,
    pub key: String,
    pub old: OptionEntry,
    pub new: OptionEntry,
}

/// An evaluated config tree: plain data, `Send + Sync`.
#[derive(Debug, Clone)]
pub struct Config {
    main_file: PathBuf,
    config_dir: PathBuf,
    files: Vec<PathBuf>,
    global: SectionData,
    hosts: Vec<SectionData>,
    warnings: Vec<String>,
    replacements: Vec<Replacement>,
}

impl Config {
    /// Loads a config tree as Prosody starts from it: evaluation errors, and a tree without
    /// an enabled VirtualHost, are errors.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let config = Self::load_unchecked(path)?;
        if config.virtual_hosts().is_empty() {
            return Err(ConfigError::NoVirtualHost {
                file: config.main_file.clone(),
            });
        }
        Ok(config)
    }

    /// Evaluates a config tree without requiring an enabled VirtualHost (for
    /// `lilt check config`, which reports that as a problem instead).
    pub fn load_unchecked(path: &Path) -> Result<Config, ConfigError> {
        eval::evaluate(path)
    }

    /// Evaluates config text as if it were the file `path` (includes resolve against it).
    pub fn load_str(path: &Path, source: &str) -> Result<Config, ConfigError> {
        eval::evaluate_source(path, source.as_bytes())
    }

    /// Evaluates raw bytes (any chunk, including invalid UTF-8) as the file `path`.
    pub fn load_bytes(path: &Path, source: &[u8]) -> Result<Config, ConfigError> {
        eval::evaluate_source(path, source)
    }

    /// Every config file loaded, absolute, in load order: a file is listed when it starts
    /// loading, so the main file is first and each file precedes the files it includes.
    /// (Prosody lists a file after its includes; Lilt shows the order options were read.)
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The main config file, absolute.
    pub fn main_file(&self) -> &Path {
        &self.main_file
    }

    /// Directory of the main config file (`prosody.paths.config`).
    pub fn config_dir(&self) -> &Path {
        &self.config_dir
    }

    /// `data_path` (global-only, default `data`), made absolute against the working
    /// directory as Prosody does (reference §1.9).
    pub fn data_path(&self) -> PathBuf {
        let raw = self
            .global()
            .string("data_path")
            .unwrap_or_else(|| "data".to_string());
        eval::absolute(Path::new(&raw))
    }

    /// `certificates` (default `certs`), resolved against the config directory (§8.5).
    pub fn certificates_dir(&self) -> PathBuf {
        let dir = self
            .global()
            .string("certificates")
            .unwrap_or_else(|| "certs".to_string());
        self.config_dir.join(dir)
    }

    /// Every defined section name except global, in order of first declaration.
    pub fn host_names(&self) -> Vec<&str> {
        self.hosts.iter().map(|h| h.name.as_str()).collect()
    }

    /// Enabled VirtualHosts only (`enabled = false` hosts exist but are not activated).
    pub fn virtual_hosts(&self) -> Vec<&str> {
        self.hosts
            .iter()
            .filter(|h| h.kind == SectionKind::VirtualHost && self.is_enabled(&h.name))
            .map(|h| h.name.as_str())
            .collect()
    }

    /// Enabled Components only.
    pub fn components(&self) -> Vec<&str> {
        self.hosts
            .iter()
            .filter(|h| matches!(h.kind, SectionKind::Component { .. }) && self.is_enabled(&h.name))
            .map(|h| h.name.as_str())
            .collect()
    }

    /// True when `host` is a defined section whose effective `enabled` is not false.
    pub fn is_enabled(&self, host: &str) -> bool {
        self.section_data(host).is_some() && self.host(host).boolean("enabled") != Some(false)
    }

    /// True when `host` was declared with `Component`.
    pub fn is_component(&self, host: &str) -> bool {
        matches!(
            self.section_data(host).map(|h| &h.kind),
            Some(SectionKind::Component { .. })
        )
    }

    /// The module a Component runs (`component` for an external XEP-0114 component).
    pub fn component_module(&self, host: &str) -> Option<&str> {
        match &self.section_data(host)?.kind {
            SectionKind::Component { module } => Some(module),
            _ => None,
        }
    }

    /// The global section.
    pub fn global(&self) -> Section<'_> {
        Section::new(&self.global, None)
    }

    /// A host's section; lookups fall back to global, and an unknown host is global.
    pub fn host(&self, host: &str) -> Section<'_> {
        match self.section_data(host) {
            Some(data) => Section::new(data, Some(&self.global)),
            None => self.global(),
        }
    }

    /// The raw data of a host section (`None` for undefined hosts).
    pub fn section_data(&self, host: &str) -> Option<&SectionData> {
        self.hosts.iter().find(|h| h.name == host)
    }

    /// The global section's raw data.
    pub fn global_data(&self) -> &SectionData {
        &self.global
    }

    /// All host sections' raw data, in declaration order.
    pub fn hosts_data(&self) -> &[SectionData] {
        &self.hosts
    }

    /// The modules Lilt loads on `host` (reference §1.5, plus Lilt's saslauth rule; see
    /// [`modules::for_host`](self::modules)).
    pub fn modules_for_host(&self, host: &str) -> BTreeSet<String> {
        modules::for_host(self, host, true)
    }

    /// The modules stock Prosody 0.12 would load on `host` (reference §1.5 exactly).
    pub fn prosody_modules_for_host(&self, host: &str) -> BTreeSet<String> {
        modules::for_host(self, host, false)
    }

    /// Load-time warnings (`file:line: Duplicate option 'x'`), in the order found.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Options that a later file assigned over an earlier file's value.
    pub fn replacements(&self) -> &[Replacement] {
        &self.replacements
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn config_is_plain_data_shared_across_threads() {
        assert_send_sync::<Config>();
    }
}
