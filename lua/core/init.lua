-- Lilt's Lua runtime bootstrap: makes bundled libraries requirable under both their
-- short and `prosody.` names, builds the `prosody` global and the table the native side
-- calls into (handlers, origins, module loading, timers).

local native = require "lilt.native";

-- Plugins get the parts of the debug library that only look (tracebacks, frame info).
do
	local full = debug;
	debug = {
		traceback = full.traceback,
		getinfo = full.getinfo,
		getlocal = full.getlocal,
		gethook = full.gethook,
	};
	package.loaded.debug = debug;
end

-- Bundled libraries come first; C modules from the system are never loaded, since they
-- are built for another interpreter.
local function bundled(name)
	local short = name:match("^prosody%.(.+)$");
	if short then
		if not native.source(short) then
			return "\n\tno bundled module '" .. short .. "'";
		end
		return function() return require(short); end;
	end
	local src = native.source(name);
	if not src then
		return "\n\tno bundled module '" .. name .. "'";
	end
	local chunk, err = load(src, "@lilt/" .. name:gsub("%.", "/") .. ".lua");
	if not chunk then error(err, 0); end
	return chunk;
end
package.searchers = { package.searchers[1], bundled, package.searchers[2] };
-- Files are searched on `plugin_paths` only: never the working directory or the system's
-- Lua tree, so nothing lying around the server's directory can be loaded into the VM.
package.path = native.lua_path();
package.cpath = "";

-- A plugin stopped for running too long must not catch that and go on: the protected
-- calls plugins see re-raise the error once the budget is spent. The runtime keeps the
-- raw ones for its own error handling.
local raw_pcall, raw_xpcall, raw_resume = pcall, xpcall, coroutine.resume;
package.loaded["lilt.raw"] = { pcall = raw_pcall, xpcall = raw_xpcall };
local function check(ok, ...)
	if not ok and native.budget_exhausted() then error((...), 0); end
	return ok, ...;
end
pcall = function(f, ...) return check(raw_pcall(f, ...)); end
xpcall = function(f, handler, ...) return check(raw_xpcall(f, handler, ...)); end
coroutine.resume = function(co, ...) return check(raw_resume(co, ...)); end

local logger = require "util.logger";
log = logger.init("general");

local sessions = require "core.sessions";
local hostmanager = require "core.hostmanager";

local paths_config, paths_dir, paths_data = native.paths();

prosody = {
	hosts = hostmanager.hosts,
	full_sessions = sessions.full_sessions,
	bare_sessions = sessions.bare_sessions,
	events = hostmanager.bus_events("*"),
	paths = { config = paths_dir, data = paths_data, plugins = "", source = "lilt" },
	config_file = paths_config,
	version = "0.12.3",
	lilt = true,
	platform = "posix",
	process_type = "prosody",
	start_time = native.start_time(),
	log = log,
	opts = {},
	arg = {},
};
function prosody.core_post_stanza(origin, stanza)
	return sessions.post(origin, stanza);
end
prosody.core_route_stanza = prosody.core_post_stanza;
function prosody.core_process_stanza(origin, stanza)
	return sessions.post(origin, stanza);
end
function prosody.shutdown(reason)
	log("warn", "A plugin asked for shutdown (%s); Lilt ignores it", tostring(reason));
end
function prosody.lock_globals() end
function prosody.unlock_globals() end
prosody.incoming_s2s = {};
-- Prosody's `import("util.x", "a", "b")`: fields of a library as values.
function import(name, ...)
	local lib = require(name);
	local out = {};
	for i, field in ipairs({ ... }) do out[i] = lib[field]; end
	return table.unpack(out, 1, select("#", ...));
end
hosts = prosody.hosts;
full_sessions = prosody.full_sessions;
bare_sessions = prosody.bare_sessions;

local modulemanager = require "core.modulemanager";
local timer = require "util.timer";

local internal = {};

local function traceback(err)
	return debug.traceback(tostring(err), 2);
end

function internal.call_handler(handler, event)
	local ok, ret = raw_xpcall(handler, traceback, event);
	if not ok then
		log("error", "Error in event handler: %s", ret);
		return nil;
	end
	return ret;
end

-- util.events wrapper semantics: the wrapper calls `handlers(name, data)` to go on and
-- its return is the event's result.
function internal.call_wrapper(wrapper, handlers, name, event)
	local ok, ret = raw_xpcall(wrapper, traceback, handlers, name, event);
	if not ok then
		log("error", "Error in event wrapper: %s", ret);
		return nil;
	end
	return ret;
end

-- A session's filter chain of `kind` on a stanza (nil: dropped).
-- `bytes/in` runs first on what the session sent (its serialized stanza); a session whose
-- writes are paused keeps what its `stanzas/out` chain lets through until they resume.
function internal.run_filter(sid, kind, stanza)
	local session = sessions.get(sid);
	local filter = session and rawget(session, "filter");
	if not filter then return sessions.hold(session, kind, stanza); end
	if kind == "stanzas/in" and session.filters["bytes/in"] then
		local ok, ret = raw_xpcall(filter, traceback, "bytes/in", tostring(stanza));
		if not ok then
			log("error", "Error in bytes/in filter: %s", ret);
		elseif ret == nil then
			return nil;
		end
	end
	local ok, ret = raw_xpcall(filter, traceback, kind, stanza);
	if not ok then
		log("error", "Error in %s filter: %s", kind, ret);
		return sessions.hold(session, kind, stanza);
	end
	return sessions.hold(session, kind, ret);
end

-- An outgoing HTTP request finished (src/lua/http_client.rs).
function internal.http_response(id, err, code, body, headers)
	require "net.http"._answer(id, err, code, body, headers);
end

-- Native modules set fields plugins read on the session object (mod_csi: `state`).
function internal.set_session_field(sid, key, value)
	local session = sessions.get(sid);
	if session then rawset(session, key, value); end
end

-- `origin` of `stream-features` for a stream that is not bound yet: the facts the
-- connection sent, plus what every session object has.
function internal.stream_origin(s)
	s.base_type = "c2s";
	s.id = "c2s" .. s._lilt_stream;
	s.log = logger.init(s.id);
	function s.send()
		s.log("warn", "Lilt cannot send to a stream before it is bound");
		return false;
	end
	return s;
end

function internal.call_http(handler, event, rest)
	local ok, ret = raw_xpcall(handler, traceback, event, rest);
	if not ok then
		log("error", "Error in HTTP handler: %s", ret);
		return false, ret;
	end
	return true, ret;
end

function internal.origin_proxy(kind, id)
	if kind == "session" then
		return sessions.get(id);
	end
	return hostmanager.hosts[id];
end

function internal.host_ready(host)
	hostmanager.sync_modules(host);
end

function internal.load_module(host, name)
	hostmanager.sync_modules(host);
	local mod, err = modulemanager.load(host, name);
	if not mod then return false, tostring(err); end
	return true;
end

function internal.unload_module(host, name)
	local ok, err = modulemanager.unload(host, name);
	if not ok then return false, tostring(err); end
	return true;
end

function internal.reload_module(host, name)
	local ok, err = modulemanager.reload(host, name);
	if not ok then return false, tostring(err); end
	return true;
end

-- A Lua authentication provider's method (`test_password`, `user_exists`, ...).
function internal.auth_call(host, method, ...)
	local provider = require "core.usermanager".get_provider(host);
	local f = provider and not provider.native and provider[method];
	if not f then return nil; end
	local ok, ret = raw_xpcall(f, traceback, ...);
	if not ok then
		log("error", "Error in auth provider %s: %s", tostring(provider.name), ret);
		return false;
	end
	return ret;
end

function internal.fire_timer(id)
	timer._fire(id);
end

native.set_internal(internal);
