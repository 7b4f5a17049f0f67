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
    "util.hex" => "util/hex.lua",
    "util.time" => "util/time.lua",
    "util.paths" => "util/paths.lua",
    "util.envload" => "util/envload.lua",
    "util.xpcall" => "util/xpcall.lua",
    "util.multitable" => "util/multitable.lua",
    "util.queue" => "util/queue.lua",
    "util.rsm" => "util/rsm.lua",
    "util.interpolation" => "util/interpolation.lua",
    "util.human.units" => "util/human/units.lua",
    "util.human.io" => "util/human/io.lua",
    "util.helpers" => "util/helpers.lua",
    "util.dependencies" => "util/dependencies.lua",
    "util.smqueue" => "util/smqueue.lua",
    "util.presence" => "util/presence.lua",
    "util.jwt" => "util/jwt.lua",
    "util.watchdog" => "util/watchdog.lua",
    "util.http" => "util/http.lua",
    "util.adhoc" => "util/adhoc.lua",
    "util.caps" => "util/caps.lua",
    "util.pubsub" => "util/pubsub.lua",
    "util.dbuffer" => "util/dbuffer.lua",
    "util.x509" => "util/x509.lua",
    "util.template" => "util/template.lua",
    "util.datamanager" => "util/datamanager.lua",
    "util.sasl" => "util/sasl.lua",
    "util.sasl.plain" => "util/sasl/plain.lua",
    "util.sasl.anonymous" => "util/sasl/anonymous.lua",
    "util.sasl.external" => "util/sasl/external.lua",
    "util.sasl.scram" => "util/sasl/scram.lua",
    "util.encodings.confusable" => "util/encodings_confusable.lua",
    "socket.url" => "socket/url.lua",
    "lfs" => "lfs.lua",
    "lxp.lom" => "lxp_lom.lua",
    "util.xmppstream" => "util/xmppstream.lua",
    "net.server" => "net/server.lua",
    "net.http.files" => "net/http_files.lua",
    "core.configmanager" => "core/configmanager.lua",
    "core.portmanager" => "core/portmanager.lua",
    "core.s2smanager" => "core/s2smanager.lua",
    "net.http" => "net/http.lua",
    "net.http.server" => "net/http_server.lua",
    "net.http.codes" => "net/http_codes.lua",
    "util.pposix" => "util/pposix.lua",
    "util.prosodyctl" => "util/prosodyctl.lua",
    "bit" => "bit.lua",
};

const PLUGINS: &[(&str, &str)] = files! {
    "mod_motd.lua" => "plugins/mod_motd.lua",
    "mod_welcome.lua" => "plugins/mod_welcome.lua",
    "mod_announce.lua" => "plugins/mod_announce.lua",
    "mod_http_status.lua" => "plugins/mod_http_status.lua",
    "mod_adhoc.lua" => "plugins/mod_adhoc.lua",
    "adhoc.lib.lua" => "plugins/adhoc.lib.lua",
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
