//! What each handle-based module did on each host, so that unloading it undoes exactly
//! that: its hooks are unhooked, its disco features and identities and its stream
//! features are withdrawn, and its own `unload` runs first.

use std::collections::HashMap;

use super::{Definition, Module};
use crate::core::{Core, HookId};

/// What one module registered on one host.
#[derive(Default)]
pub(super) struct Record {
    pub hooks: Vec<HookId>,
    pub features: Vec<String>,
    pub identities: Vec<(String, String, String)>,
    pub stream_features: bool,
    pub definition: Option<Definition>,
}

/// Every (host, module) loaded through a handle. Core state: only the core thread
/// loads and unloads modules.
#[derive(Default)]
struct Records(HashMap<(String, &'static str), Record>);

pub(super) fn of<'a>(core: &'a mut Core, host: &str, name: &'static str) -> &'a mut Record {
    core.state::<Records>()
        .0
        .entry((host.to_owned(), name))
        .or_default()
}

/// Why a module could not be unloaded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnloadError {
    #[error("module '{module}' is not loaded on {host}")]
    NotLoaded { module: String, host: String },
}

/// Whether `definition` is loaded on `host` through its handle.
pub fn is_loaded(core: &mut Core, host: &str, name: &str) -> bool {
    core.state::<Records>()
        .0
        .keys()
        .any(|(h, n)| h == host && *n == name)
}

/// Loads `definition` onto `host` (Prosody's `modulemanager.load`): its `load` runs with
/// a handle that records what it registers. Loading a module that is loaded does
/// nothing, as in Prosody.
pub fn load(core: &mut Core, host: &str, definition: &Definition) {
    if is_loaded(core, host, definition.name) {
        return;
    }
    of(core, host, definition.name).definition = Some(*definition);
    (definition.load)(&mut Module::new(core, host, definition.name));
    if let Some(h) = core.hosts.get_mut(host) {
        h.modules.insert(definition.name.to_owned());
    }
}

/// Unloads module `name` from `host`: its own `unload`, then everything its handle
/// recorded is taken back. Sessions are not touched.
pub fn unload(core: &mut Core, host: &str, name: &str) -> Result<(), UnloadError> {
    let key = core
        .state::<Records>()
        .0
        .keys()
        .find(|(h, n)| h == host && *n == name)
        .cloned()
        .ok_or_else(|| UnloadError::NotLoaded {
            module: name.to_owned(),
            host: host.to_owned(),
        })?;
    let definition = core
        .state::<Records>()
        .0
        .get(&key)
        .and_then(|r| r.definition);
    if let Some(unload) = definition.and_then(|d| d.unload) {
        unload(&mut Module::new(core, host, key.1));
    }
    let Some(record) = core.state::<Records>().0.remove(&key) else {
        return Ok(());
    };
    for id in &record.hooks {
        core.unhook(id);
    }
    if record.stream_features {
        core.shared.feature_hooks.remove_static(host, key.1);
    }
    if let Some(h) = core.hosts.get_mut(host) {
        for f in &record.features {
            h.features.remove(f);
        }
        h.identities.retain(|i| !record.identities.contains(i));
        h.modules.remove(name);
    }
    Ok(())
}
