-- The `module` object plugins program against (reference §2.5, the 0.12 method list).
-- Everything a module registers through it is remembered so unloading removes it.

local native = require "lilt.native";
local logger = require "util.logger";
local set = require "util.set";
local array = require "util.array";
local timer = require "util.timer";
local st = require "util.stanza";
local jid = require "util.jid";
local promise = require "util.promise";
local errors = require "util.error";
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

-- Options (§2.5) ------------------------------------------------------------------------

function api:get_option(name, default)
	local v = native.config(self.host, name);
	if v == nil then return default; end
	return v;
end

function api:get_option_scalar(name, default)
	local v = self:get_option(name, default);
	if type(v) == "table" then
		if #v > 1 then
			self:log("error", "Config option '%s' does not take a list, using just the first item", name);
		end
		v = v[1];
	end
	return v;
end

function api:get_option_string(name, default)
	local v = self:get_option_scalar(name, default);
	if v == nil then return nil; end
	return tostring(v);
end

function api:get_option_number(name, ...)
	local v = self:get_option_scalar(name, ...);
	local n = tonumber(v);
	if v ~= nil and n == nil then
		self:log("error", "Config option '%s' not understood, expecting a number", name);
	end
	return n;
end

function api:get_option_boolean(name, ...)
	local v = self:get_option_scalar(name, ...);
	if v == nil then return nil; end
	if v == true or v == "true" or v == 1 then return true; end
	if v == false or v == "false" or v == 0 then return false; end
	self:log("error", "Config option '%s' not understood, expecting true/false", name);
	return nil;
end

function api:get_option_array(name, ...)
	local v = self:get_option(name, ...);
	if v == nil then return nil; end
	if type(v) ~= "table" then return array{ v }; end
	return array(v);
end

function api:get_option_set(name, ...)
	local v = self:get_option_array(name, ...);
	if v == nil then return nil; end
	return set.new(v);
end

function api:get_option_inherited_set(name, ...)
	local value = self:get_option_set(name, ...);
	local global_value = native.config("*", name);
	if self.host == "*" or global_value == nil then return value; end
	local g = set.new(type(global_value) == "table" and global_value or { global_value });
	if not value then return g; end
	return value + g;
end

function api:get_option_path(name, default, parent)
	local v = self:get_option_string(name, default);
	if v == nil then return nil; end
	if v:sub(1, 1) == "/" then return v; end
	local base = parent and prosody.paths[parent] or self._dir or prosody.paths.config;
	return base .. "/" .. v;
end

-- Items -------------------------------------------------------------------------------

function api:add_item(key, value)
	local list = self.items[key];
	if not list then list = {}; self.items[key] = list; end
	list[#list + 1] = value;
	self:fire_event("item-added/" .. key, { source = self, item = value });
end

function api:remove_item(key, value)
	local list = self.items[key];
	if not list then return; end
	for i = #list, 1, -1 do
		if list[i] == value then
			table.remove(list, i);
			self:fire_event("item-removed/" .. key, { source = self, item = value });
			return value;
		end
	end
end

function api:get_host_items(key)
	local result = {};
	for _, host in ipairs({ self.host, "*" }) do
		local mods = M._manager.modulemap[host] or {};
		for _, mod in pairs(mods) do
			for _, item in ipairs(rawget(mod, "items") and mod.items[key] or {}) do
				result[#result + 1] = item;
			end
		end
		if self.host == "*" then break; end
	end
	return result;
end

function api:handle_items(key, added, removed, existing)
	self:hook("item-added/" .. key, added);
	self:hook("item-removed/" .. key, removed);
	if existing ~= false then
		for _, item in ipairs(self:get_host_items(key)) do
			added({ item = item });
		end
	end
end

function api:provides(kind, item)
	if not item then
		item = setmetatable({}, { __index = self.environment });
	end
	if item.name == nil then
		local name = self.name;
		if name:sub(1, #kind + 1) == kind .. "_" then name = name:sub(#kind + 2); end
		item.name = name;
	end
	item._provided_by = self.name;
	if kind == "http" then
		require "core.http".register(self, item);
	end
	self:add_item(kind .. "-provider", item);
end

-- disco#info items also reach the native disco module's feature list.
function api:add_feature(xmlns)
	self:add_item("feature", xmlns);
	if self.host ~= "*" then native.add_feature(self.host, xmlns, true); end
end

function api:add_identity(category, type_, name)
	self:add_item("identity", { category = category, type = type_, name = name });
	if self.host ~= "*" then native.add_identity(self.host, category, type_, name); end
end

function api:add_extension(data)
	self:add_item("extension", data);
end

-- The public URL of an HTTP app (§6.8): `http_external_url` when set, else the first
-- HTTP port on the host name.
function api:http_url(app_name, default_path)
	app_name = app_name or (self.name:gsub("^http_", ""));
	local paths = self:get_option("http_paths", {});
	local path = type(paths) == "table" and paths[app_name] or default_path or ("/" .. app_name);
	path = path:gsub("%$host", self.host);
	if path:sub(1, 1) ~= "/" then path = "/" .. path; end
	local external = self:get_option_string("http_external_url");
	if external then
		return (external:gsub("/$", "")) .. path;
	end
	local ports = native.config("*", "http_ports");
	local port = type(ports) == "table" and ports[1] or 5280;
	local host = self:get_option_string("http_host", self.host);
	return "http://" .. host .. (port == 80 and "" or (":" .. tostring(port))) .. path;
end

-- Sending ---------------------------------------------------------------------------------

function api:send(stanza, origin)
	return prosody.core_post_stanza(origin or hostmanager.hosts[self.host], stanza);
end

function api:broadcast(jids, stanza, iter)
	for to in (iter or pairs)(jids) do
		local copy = st.clone(stanza);
		copy.attr.to = to;
		self:send(copy);
	end
end

function api:send_iq(stanza, origin, timeout)
	local iq_cache = rawget(self, "_iq_cache");
	if not iq_cache then iq_cache = {}; self._iq_cache = iq_cache; end
	local id = stanza.attr.id;
	local from = stanza.attr.from or self.host;
	local kind = (jid.node(from) and (jid.resource(from) and "full" or "bare")) or "host";
	local result_event = "iq-result/" .. kind .. "/" .. id;
	local error_event = "iq-error/" .. kind .. "/" .. id;
	return promise.new(function(resolve, reject)
		if iq_cache[id] then
			reject(errors.new({ type = "cancel", condition = "conflict", text = "IQ stanza id attribute already used" }));
			return;
		end
		local count = 0;
		for _ in pairs(iq_cache) do count = count + 1; end
		if count >= 256 then
			reject(errors.new({ type = "cancel", condition = "resource-constraint", text = "Too many outstanding IQs" }));
			return;
		end
		local result_handler, error_handler, timeout_task;
		local function cleanup()
			self:unhook(result_event, result_handler);
			self:unhook(error_event, error_handler);
			if timeout_task then timeout_task:stop(); end
			iq_cache[id] = nil;
		end
		result_handler = function(event)
			cleanup();
			resolve(event);
			return true;
		end
		error_handler = function(event)
			cleanup();
			reject(errors.from_stanza(event.stanza, event));
			return true;
		end
		self:hook(result_event, result_handler);
		self:hook(error_event, error_handler);
		timeout_task = self:add_timer(timeout or 120, function()
			timeout_task = nil;
			cleanup();
			reject(errors.new({ type = "wait", condition = "remote-server-timeout", text = "IQ stanza timed out" }));
		end);
		iq_cache[id] = true;
		self:send(stanza, origin);
	end);
end

-- Timers ----------------------------------------------------------------------------------

function api:add_timer(delay, callback, ...)
	local args = table.pack(...);
	local mod = self;
	local task = { stopped = false };
	local function run(now)
		if task.stopped or not mod.loaded then return; end
		local ret = callback(now, table.unpack(args, 1, args.n));
		if type(ret) == "number" and not task.stopped then return ret; end
		task.stopped = true;
	end
	task.id = timer.add_task(delay, run);
	function task:stop()
		self.stopped = true;
		timer.stop(self.id);
	end
	task.disarm = task.stop;
	function task:reschedule(new_delay)
		timer.stop(self.id);
		self.stopped = false;
		self.id = timer.add_task(new_delay, run);
	end
	self.timers[#self.timers + 1] = task;
	return task;
end

-- Cron-style tasks run from plain timers here (mod_cron is not needed).
local function periodic(self, seconds, name, fn)
	if type(name) == "function" then fn = name; end
	return self:add_timer(seconds, function()
		fn({ when = os.time() });
		return seconds;
	end);
end
function api:hourly(name, fn) return periodic(self, 3600, name, fn); end
function api:daily(name, fn) return periodic(self, 86400, name, fn); end
function api:weekly(name, fn) return periodic(self, 7 * 86400, name, fn); end
function api:cron(spec)
	local period = ({ hourly = 3600, daily = 86400, weekly = 7 * 86400 })[spec.when] or 86400;
	return periodic(self, period, spec.name, spec.run);
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

-- Status and statistics --------------------------------------------------------------------

function api:set_status(status_type, message, override)
	self.status_type, self.status_message = status_type, message;
	self:fire_event("module-status/updated", { name = self.name });
end
function api:log_status(level, fmt, ...)
	local msg = string.format(fmt, ...);
	self:log(level, "%s", msg);
	self:set_status(level == "error" and "error" or level == "warn" and "warn" or "info", msg);
end
function api:get_status()
	return self.status_type, self.status_message;
end

local function new_metric(kind)
	local m = { kind = kind, value = 0, count = 0, sum = 0 };
	function m:set(v) self.value = v; end
	function m:add(v) self.value = self.value + (v or 1); end
	function m:sample(v) self.count = self.count + 1; self.sum = self.sum + v; end
	function m:with_labels() return self; end
	return m;
end

function api:measure(name, kind, conf)
	local key = "prosody_mod_" .. self.name .. "/" .. name;
	local m = new_metric(kind);
	metrics[key] = m;
	return function(v)
		if kind == "counter" or kind == "rate" then m:add(v) else m:set(v) end
	end;
end

function api:metric(kind, name, unit, description, label_keys, conf)
	local key = "prosody_mod_" .. self.name .. "/" .. name;
	local family = new_metric(kind);
	family.unit, family.description = unit, description;
	metrics[key] = family;
	return family;
end

-- Unloading: every hook, timer and item this module added goes. -----------------------------

function api:_cleanup()
	for i = #self.event_handlers, 1, -1 do
		local h = self.event_handlers[i];
		h.object.remove_handler(h.event, h.handler);
		self.event_handlers[i] = nil;
	end
	for _, task in ipairs(self.timers) do task:stop(); end
	self.timers = {};
	for key, list in pairs(self.items) do
		for i = #list, 1, -1 do
			self:fire_event("item-removed/" .. key, { source = self, item = list[i] });
			if key == "feature" and self.host ~= "*" then
				native.add_feature(self.host, list[i], false);
			end
		end
	end
	self.items = {};
	self.loaded = false;
end

return M;
