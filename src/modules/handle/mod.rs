//! The native module handle, shaped like Lua's `module` object: what a module hooks,
//! the disco features and identities it adds, and the stream features it offers are
//! recorded against (host, module), so unloading the module takes all of them back.
//! Options are read through their catalogue entry ([`OptionSpec`]), so each default
//! lives in one place. A module folder exports a [`Definition`]; `modules/mod.rs` lists
//! them.

mod record;
mod value;

#[cfg(test)]
mod tests;

use std::sync::Arc;

pub use record::{is_loaded, load, unload, UnloadError};
pub use value::FromOption;

use crate::config::catalogue::OptionSpec;
use crate::core::events::Handler;
use crate::core::{Bus, Core, HookId, Shared};
use crate::storage::Driver;

/// What a native module folder exports: its name, the options it reads (collected into
/// the option catalogue), and what runs when it is loaded onto or unloaded from a host.
#[derive(Clone, Copy)]
pub struct Definition {
    pub name: &'static str,
    pub options: &'static [OptionSpec],
    pub load: fn(&mut Module<'_>),
    /// Extra clean-up beyond what the handle recorded (hooks, features, identities and
    /// stream features go by themselves); `None` when there is nothing more.
    pub unload: Option<fn(&mut Module<'_>)>,
}

/// One module on one host, for the length of its `load`/`unload` call.
pub struct Module<'c> {
    core: &'c mut Core,
    host: String,
    name: &'static str,
}

impl<'c> Module<'c> {
    pub(super) fn new(core: &'c mut Core, host: &str, name: &'static str) -> Self {
        Module {
            core,
            host: host.to_owned(),
            name,
        }
    }

    /// The core, for what the handle does not wrap (sending, state).
    pub fn core(&mut self) -> &mut Core {
        self.core
    }

    /// The host the module is loaded on.
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The host's event bus.
    pub fn bus(&self) -> Bus {
        Bus::Host(self.host.clone())
    }

    /// `module:hook(event, handler, priority)` on the host's bus; unhooked on unload.
    pub fn hook(&mut self, event: &str, priority: f64, handler: Handler) -> HookId {
        let bus = self.bus();
        self.hook_on(&bus, event, priority, handler)
    }

    /// `module:hook_global`: on the server-wide bus; unhooked on unload too.
    pub fn hook_global(&mut self, event: &str, priority: f64, handler: Handler) -> HookId {
        self.hook_on(&Bus::Global, event, priority, handler)
    }

    fn hook_on(&mut self, bus: &Bus, event: &str, priority: f64, handler: Handler) -> HookId {
        let id = self.core.hook(bus, event, priority, handler);
        record::of(self.core, &self.host, self.name)
            .hooks
            .push(id.clone());
        id
    }

    /// `module:add_feature(var)`: a disco#info feature of the host.
    pub fn add_feature(&mut self, var: &str) {
        let added = self
            .core
            .hosts
            .get_mut(&self.host)
            .is_some_and(|h| h.features.insert(var.to_owned()));
        // A feature another module added first stays when this one goes.
        if added {
            record::of(self.core, &self.host, self.name)
                .features
                .push(var.to_owned());
        }
    }

    /// `module:add_identity(category, type, name)`.
    pub fn add_identity(&mut self, category: &str, kind: &str, name: &str) {
        let identity = (category.to_owned(), kind.to_owned(), name.to_owned());
        let Some(h) = self.core.hosts.get_mut(&self.host) else {
            return;
        };
        if h.identities.contains(&identity) {
            return;
        }
        h.identities.push(identity.clone());
        record::of(self.core, &self.host, self.name)
            .identities
            .push(identity);
    }

    /// A `<stream:features/>` child offered once the stream is authenticated (roster
    /// versioning, CSI, ...): kept in [`Shared`] so streams add it without asking the
    /// core; withdrawn on unload.
    pub fn stream_feature(&mut self, feature: crate::xml::Element) {
        self.core
            .shared
            .feature_hooks
            .add_static(&self.host, self.name, feature);
        record::of(self.core, &self.host, self.name).stream_features = true;
    }

    /// The value of `spec` for this host as the config sets it (the reloaded config, as
    /// Prosody's `module:get_option`), else the catalogue default; `None` when neither
    /// gives a `T`.
    pub fn option<T: FromOption>(&self, spec: &OptionSpec) -> Option<T> {
        value::read(self.core.options(), Some(&self.host), spec)
    }

    /// `module:open_store(name)`: the host's store of that name, behind its driver.
    pub fn open_store(&self, store: &str) -> Store {
        Store {
            shared: self.core.shared.clone(),
            host: self.host.clone(),
            store: store.to_owned(),
        }
    }

    /// `module:depends(name)`: loads `name` on this host first unless it is there.
    pub fn depends(&mut self, name: &str) {
        let loaded = self
            .core
            .hosts
            .get(&self.host)
            .is_some_and(|h| h.modules.contains(name));
        if !loaded && !super::load_native(self.core, &self.host, name) {
            tracing::error!(
                "mod_{} on {} depends on mod_{name}, which Lilt does not have",
                self.name,
                self.host
            );
        }
    }
}

/// A store opened by a module: the driver `storage` routes it to for the host.
pub struct Store {
    shared: Arc<Shared>,
    host: String,
    store: String,
}

impl Store {
    pub fn driver(&self) -> &dyn Driver {
        self.shared.store.driver(&self.host, &self.store)
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn name(&self) -> &str {
        &self.store
    }
}
