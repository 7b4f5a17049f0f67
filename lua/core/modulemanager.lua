-- Loading, unloading and reloading plugins (reference §2.2–2.4): a fresh environment per
-- module falling back to the globals, the lifecycle hooks, global modules with per-host
-- `add_host` instances, and `module-loaded`/`module-unloaded` events.

local native = require "lilt.native";
local xpcall = require "lilt.raw".xpcall;
local hostmanager = require "core.hostmanager";
local moduleapi = require "core.moduleapi";
local set = require "util.set";

local M = {};

-- modulemap[host][name] = module API object; "*" holds global modules.
local modulemap = { ["*"] = {} };
M.modulemap = modulemap;

local function traceback(err)
	return debug.traceback(tostring(err), 2);
end

local function host_map(host)
	local m = modulemap[host];
	if not m then m = {}; modulemap[host] = m; end
	return m;
end

local function publish(host, name, mod)
	local h = host ~= "*" and hostmanager.hosts[host];
	if h then rawset(h.modules, name, mod and mod.environment or nil); end
end

local function fire(host, name, data)
	if host == "*" then
		return prosody.events.fire_event(name, data);
	end
	return native.fire(host, name, data);
end

local function parse_meta(source)
	local meta = {};
	for line in source:gmatch("[^\n]*") do
		if line:sub(1, 2) ~= "--" then break; end
		local k, v = line:match("^%-%-%%%s*([%w_-]+)%s*:%s*(.-)%s*$");
		if k then meta[k] = v; end
	end
	return meta;
end

-- Core features plugins may require with `--% requires:` (none in Lilt, as in 0.12.3
-- only mod_bookmarks is declared).
local features = set.new({});

local function check_meta(meta)
	for feature in (meta.requires or ""):gmatch("[^,%s]+") do
		if not features:contains(feature) then
			return false, "missing required feature '" .. feature .. "'";
		end
	end
	for feature in (meta.conflicts or ""):gmatch("[^,%s]+") do
		if features:contains(feature) then
			return false, "conflicts with feature '" .. feature .. "'";
		end
	end
	return true;
end

local function attach_host(global_mod, host)
	local host_mod = moduleapi.host_instance(global_mod, host);
	local ok, ret = xpcall(global_mod.add_host, traceback, host_mod);
	if not ok or ret == false then
		host_mod:_cleanup();
		return nil, ok and "module refused host" or ret;
	end
	host_map(host)[global_mod.name] = host_mod;
	publish(host, global_mod.name, host_mod);
	native.mark_loaded(host, global_mod.name, true);
	fire(host, "module-loaded", { module = global_mod.name, host = host });
	return host_mod;
end

local function do_load(host, name, state)
	if host_map(host)[name] then return nil, "module-already-loaded"; end
	local global_mod = modulemap["*"][name];
	if global_mod and host ~= "*" then
		if global_mod.add_host then return attach_host(global_mod, host); end
		return nil, "global-module-already-loaded";
	end
	local source, path, dir = native.locate_plugin(name);
	if not source then return nil, "module-not-found"; end
	local meta = parse_meta(source);
	local ok, err = check_meta(meta);
	if not ok then
		native.log("warn", host .. ":" .. name, "Not loading: " .. err);
		return nil, err;
	end
	local api = moduleapi.new(name, host, path, dir);
	api.meta = meta;
	api.reloading = state.reloading;
	api.saved_state = state.saved_state;
	local env = setmetatable({ module = api }, { __index = _G });
	api.environment = env;
	local chunk, syntax_err = load(source, "@" .. path, "t", env);
	if not chunk then return nil, syntax_err; end
	host_map(host)[name] = api;
	local ran, run_err = xpcall(chunk, traceback);
	if not ran then
		api:_cleanup();
		host_map(host)[name] = nil;
		return nil, run_err;
	end
	if api.load then
		-- As in Prosody, a module whose load() fails is not loaded: everything it
		-- registered goes, and the caller logs the traceback.
		local loaded, load_err = xpcall(api.load, traceback);
		if not loaded then
			api:_cleanup();
			host_map(host)[name] = nil;
			return nil, load_err;
		end
	end
	if api.host == "*" and host ~= "*" then
		-- module:set_global() was called: re-home it, then attach the requesting host.
		host_map(host)[name] = nil;
		modulemap["*"][name] = api;
		fire("*", "module-loaded", { module = name, host = "*" });
		if api.add_host then return attach_host(api, host); end
		publish(host, name, api);
		native.mark_loaded(host, name, true);
		return api;
	end
	publish(host, name, api);
	native.mark_loaded(host, name, true);
	fire(host, "module-loaded", { module = name, host = host });
	return api;
end

function M.load(host, name, state)
	return do_load(host, name, state or {});
end

function M.get_module(host, name)
	local m = modulemap[host];
	return m and m[name] or nil;
end

function M.is_loaded(host, name)
	return M.get_module(host, name) ~= nil;
end

function M.unload(host, name)
	local mod = M.get_module(host, name);
	if not mod then return nil, "module-not-loaded"; end
	if rawget(mod, "unload") or (mod.unload and host == mod.host) then
		local ok, err = xpcall(mod.unload, traceback);
		if not ok then mod:log("error", "Error in module.unload(): %s", err); end
	end
	mod:_cleanup();
	modulemap[host][name] = nil;
	publish(host, name, nil);
	if host ~= "*" then native.mark_loaded(host, name, false); end
	fire(host, "module-unloaded", { module = name, host = host });
	return true;
end

function M.reload(host, name)
	local mod = M.get_module(host, name);
	if not mod then return nil, "module-not-loaded"; end
	local saved;
	if mod.save then
		local ok, ret = xpcall(mod.save, traceback);
		if not ok then return nil, ret; end
		saved = ret;
	end
	M.unload(host, name);
	local new, err = do_load(host, name, { reloading = true, saved_state = saved });
	if not new then return nil, err; end
	if new.restore then
		local ok, rerr = xpcall(new.restore, traceback, saved or {});
		if not ok then new:log("error", "Error in module.restore(): %s", rerr); end
	end
	fire(host, "module-reloaded", { module = name, host = host });
	return true;
end

-- module:depends: a loaded module (Lua or native), else load it (native first unless a
-- plugin on plugin_paths replaces it).
function M.depend(host, name)
	if host ~= "*" and set.new(moduleapi.config_array(host, "modules_disabled")):contains(name) then
		error("Dependency on disabled module mod_" .. name, 3);
	end
	local mod = M.get_module(host, name) or M.get_module("*", name);
	if mod then return mod; end
	local natives = hostmanager.hosts[host] and hostmanager.hosts[host].modules[name];
	if natives and natives.native then return natives; end
	if native.is_core_native(name) then
		-- Transports (http, websocket, c2s, ...) are always there in Lilt; a reserved
		-- module with a loader (csi, roster, ...) is loaded now.
		if host ~= "*" and native.has_native(name) then
			native.load_native(host, name);
		elseif host ~= "*" then
			native.mark_loaded(host, name, true);
		end
		return { native = true, module = { name = name, host = host, native = true } };
	end
	if not native.prefer_lua(name) and native.has_native(name) then
		native.load_native(host, name);
		return hostmanager.hosts[host].modules[name];
	end
	return do_load(host, name, { depended = true });
end

-- The module names a host runs (native and Lua), as a set; and whether it is a component.
function M.get_modules_for_host(host)
	local names = set.new(native.host_modules(host) or {});
	for name in pairs(modulemap[host] or {}) do names:add(name); end
	return names, native.is_component(host) and "component" or nil;
end

function M.get_modules(host)
	return modulemap[host] or {};
end

function M.load_modules_for_host(host)
	for name in M.get_modules_for_host(host) do
		if not M.is_loaded(host, name) and native.prefer_lua(name) then M.load(host, name); end
	end
end

moduleapi._manager = M;
return M;
