//! Lilt's bundled Lua, compiled into the binary: the runtime (`core.*`), the `util.*`
//! libraries plugins require, and the bundled plugins.

macro_rules! files {
    ($($name:literal => $path:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../lua/", $path)))),*]
    };
}

const LIBRARIES: &[(&str, &str)] = files! {
    "core.init" => "core/init.lua",
    "core.moduleapi" => "core/moduleapi.lua",
    "core.moduleapi_config" => "core/moduleapi_config.lua",
    "core.moduleapi_items" => "core/moduleapi_items.lua",
    "core.moduleapi_send" => "core/moduleapi_send.lua",
    "core.modulemanager" => "core/modulemanager.lua",
    "core.sessions" => "core/sessions.lua",
    "core.usermanager" => "core/usermanager.lua",
    "core.storagemanager" => "core/storagemanager.lua",
    "core.sessionmanager" => "core/sessionmanager.lua",
    "core.rostermanager" => "core/rostermanager.lua",
    "core.hostmanager" => "core/hostmanager.lua",
    "core.http" => "core/http.lua",
    "core.metrics" => "core/metrics.lua",
    "core.statsmanager" => "core/metrics.lua",
    "util.stanza" => "util/stanza.lua",
    "util.jid" => "util/jid.lua",
    "util.events" => "util/events.lua",
    "util.timer" => "util/timer.lua",
    "util.datetime" => "util/datetime.lua",
    "util.uuid" => "util/uuid.lua",
    "util.id" => "util/id.lua",
    "util.hashes" => "util/hashes.lua",
    "util.hmac" => "util/hmac.lua",
    "util.json" => "util/json.lua",
    "util.set" => "util/set.lua",
    "util.array" => "util/array.lua",
    "util.iterators" => "util/iterators.lua",
    "util.error" => "util/error.lua",
    "util.cache" => "util/cache.lua",
    "util.serialization" => "util/serialization.lua",
    "util.xml" => "util/xml.lua",
    "util.filters" => "util/filters.lua",
    "util.throttle" => "util/throttle.lua",
    "util.async" => "util/async.lua",
    "util.promise" => "util/promise.lua",
    "util.ip" => "util/ip.lua",
    "util.random" => "util/random.lua",
    "util.encodings" => "util/encodings.lua",
    "util.logger" => "util/logger.lua",
    "util.format" => "util/format.lua",
    "util.dataforms" => "util/dataforms.lua",
};

const PLUGINS: &[(&str, &str)] = files! {
    "mod_motd.lua" => "plugins/mod_motd.lua",
    "mod_welcome.lua" => "plugins/mod_welcome.lua",
    "mod_announce.lua" => "plugins/mod_announce.lua",
    "mod_http_status.lua" => "plugins/mod_http_status.lua",
};

/// The source of a bundled library by its `require` name (`util.stanza`, `core.init`).
pub fn library(name: &str) -> Option<&'static str> {
    LIBRARIES.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// The source of a bundled plugin file (`mod_motd.lua`).
pub fn plugin(file: &str) -> Option<&'static str> {
    PLUGINS.iter().find(|(n, _)| *n == file).map(|(_, s)| *s)
}

/// Every bundled library name (for tests that load them all).
pub fn library_names() -> impl Iterator<Item = &'static str> {
    LIBRARIES.iter().map(|(n, _)| *n)
}
