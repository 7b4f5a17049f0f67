-- The `module` object plugins program against (reference §2.5, the 0.12 method list).
-- Everything a module registers through it is remembered so unloading removes it.

local native = require "lilt.native";
local logger = require "util.logger";
local hostmanager = require "core.hostmanager";
local storagemanager = require "core.storagemanager";

local api = {};
api.__index = api;
local M = { api = api };

local shared_data = setmetatable({}, { __mode = "" });
local metrics = {};
M.metrics = metrics;

function M.new(name, host, path, dir)
	return setmetatable({
		name = name,
		host = host,
		path = path,
		_dir = dir,
		_log = logger.init(host .. ":" .. name),
		event_handlers = {},
		items = {},
		timers = {},
		status_type = "core",
		status_message = "Loaded",
		loaded = true,
	}, api);
end

-- The per-host object of a global module (§2.4): own hooks and items, the rest shared.
function M.host_instance(global_mod, host)
	local inst = {
		host = host,
		global = false,
		_log = logger.init(host .. ":" .. global_mod.name),
		event_handlers = {},
		items = {},
		timers = {},
	};
	inst.environment = setmetatable({ module = inst }, { __index = global_mod.environment });
	return setmetatable(inst, { __index = global_mod });
end

function M.config_array(host, key)
	local v = native.config(host, key);
	if v == nil then return {}; end
	if type(v) ~= "table" then return { v }; end
	return v;
end

-- Identity --------------------------------------------------------------------------

function api:get_name() return self.name; end
function api:get_host() return self.host; end
function api:get_host_type()
	if self.host == "*" then return "global"; end
	local h = hostmanager.hosts[self.host];
	return h and h.type or "local";
end
function api:set_global()
	self.host = "*";
	self.global = true;
	self._log = logger.init("mod_" .. self.name);
end
function api:get_directory() return self._dir; end
function api:load_resource(path, mode)
	if not self._dir then return nil, "bundled modules have no directory"; end
	return io.open(self._dir .. "/" .. path, mode);
end

function api:log(level, fmt, ...)
	return self._log(level, fmt, ...);
end

-- Events ----------------------------------------------------------------------------

local function events_of(host)
	if host == "*" then return prosody.events; end
	return hostmanager.hosts[host].events;
end

function api:hook_object_event(object, event, handler, priority)
	self.event_handlers[#self.event_handlers + 1] = { object = object, event = event, handler = handler };
	return object.add_handler(event, handler, priority);
end

function api:unhook_object_event(object, event, handler)
	for i = #self.event_handlers, 1, -1 do
		local h = self.event_handlers[i];
		if h.object == object and h.event == event and h.handler == handler then
			table.remove(self.event_handlers, i);
		end
	end
	return object.remove_handler(event, handler);
end

function api:hook(event, handler, priority)
	return self:hook_object_event(events_of(self.host), event, handler, priority);
end

function api:hook_global(event, handler, priority)
	return self:hook_object_event(prosody.events, event, handler, priority);
end

function api:hook_tag(xmlns, name, handler, priority)
	if not handler and type(name) == "function" then
		xmlns, name, handler, priority = nil, xmlns, name, handler;
	end
	local event = xmlns and ("stanza/" .. xmlns .. ":" .. name) or ("stanza/" .. name);
	return self:hook(event, function(data)
		return handler(data.origin, data.stanza, data);
	end, priority);
end
api.hook_stanza = api.hook_tag;

function api:unhook(event, handler)
	return self:unhook_object_event(events_of(self.host), event, handler);
end

function api:wrap_object_event(object, event, wrapper)
	local list = rawget(self, "event_wrappers");
	if not list then list = {}; rawset(self, "event_wrappers", list); end
	list[#list + 1] = { object = object, event = event, wrapper = wrapper };
	return object.add_wrapper(event, wrapper);
end
function api:wrap_event(event, wrapper)
	return self:wrap_object_event(events_of(self.host), event, wrapper);
end
function api:wrap_global(event, wrapper)
	return self:wrap_object_event(prosody.events, event, wrapper);
end

function api:fire_event(name, data)
	return events_of(self.host).fire_event(name, data);
end

function api:context(host)
	return setmetatable({ host = host or "*", _log = logger.init((host or "*") .. ":" .. self.name) },
		{ __index = self });
end

-- Modules, libraries, shared state -----------------------------------------------------------

function api:depends(name)
	local mod, err = M._manager.depend(self.host == "*" and "*" or self.host, name);
	if not mod then
		error("Unable to load required module, mod_" .. name .. ": " .. tostring(err), 2);
	end
	local deps = rawget(self, "dependencies");
	if not deps then deps = {}; self.dependencies = deps; end
	deps[name] = true;
	return mod.environment or mod;
end

function api:require(lib)
	local source, path = native.locate_lib(self._dir, lib);
	if not source then error("Unable to load library " .. lib, 2); end
	local chunk, err = load(source, "@" .. path, "t", self.environment);
	if not chunk then error(err, 2); end
	return chunk();
end

function api:shared(...)
	local results = {};
	for i, path in ipairs({ ... }) do
		if path:sub(1, 1) ~= "/" then
			if path:find("/", 1, true) then
				path = "/" .. self.host .. "/" .. path;
			else
				path = "/" .. self.host .. "/" .. self.name .. "/" .. path;
			end
		end
		local t = shared_data[path];
		if not t then
			t = path:match("%-cache$") and setmetatable({}, { __mode = "kv" }) or {};
			shared_data[path] = t;
		end
		results[i] = t;
	end
	return table.unpack(results);
end

function api:open_store(name, store_type)
	return storagemanager.open(self.host, name or self.name, store_type);
end

-- Unloading: every hook, timer and item this module added goes. -----------------------------

function api:_cleanup()
	for i = #self.event_handlers, 1, -1 do
		local h = self.event_handlers[i];
		h.object.remove_handler(h.event, h.handler);
		self.event_handlers[i] = nil;
	end
	for _, w in ipairs(rawget(self, "event_wrappers") or {}) do
		w.object.remove_wrapper(w.event, w.wrapper);
	end
	rawset(self, "event_wrappers", nil);
	-- Session filters and filter hooks whose functions live in this module's file.
	local filters = package.loaded["util.filters"];
	if filters and self.path then filters._remove_owned("@" .. self.path); end
	for _, task in ipairs(self.timers) do task:stop(); end
	self.timers = {};
	for key, list in pairs(self.items) do
		for i = #list, 1, -1 do
			self:fire_event("item-removed/" .. key, { source = self, item = list[i] });
			if key == "feature" and self.host ~= "*" then
				native.add_feature(self.host, list[i], false);
			elseif key == "extension" and self.host ~= "*" then
				native.add_extension(self.host, list[i], false);
			end
		end
	end
	self.items = {};
	require "core.http".unregister(self);
	self.loaded = false;
end

require "core.moduleapi_config"(api);
require "core.moduleapi_items"(api, M);
require "core.moduleapi_send"(api);

return M;
