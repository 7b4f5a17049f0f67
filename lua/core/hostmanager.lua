-- Host objects (`prosody.hosts[h]`) and util.events-shaped views of the native event
-- buses, so Lua handlers and native handlers share one bus per host.

local native = require "lilt.native";
local sessions = require "core.sessions";

local M = {};

-- An events object (util.events API) over a native bus ("*" = global).
function M.bus_events(bus)
	local ids = {};
	local ev = {};
	function ev.add_handler(name, handler, priority)
		local by_fn = ids[name];
		if not by_fn then by_fn = {}; ids[name] = by_fn; end
		if by_fn[handler] then native.unhook(bus, name, by_fn[handler]); end
		by_fn[handler] = native.hook(bus, name, priority or 0, handler);
	end
	function ev.remove_handler(name, handler)
		local by_fn = ids[name];
		local id = by_fn and by_fn[handler];
		if id then
			native.unhook(bus, name, id);
			by_fn[handler] = nil;
		end
	end
	function ev.add_handlers(handlers)
		for name, handler in pairs(handlers) do ev.add_handler(name, handler); end
	end
	function ev.remove_handlers(handlers)
		for name, handler in pairs(handlers) do ev.remove_handler(name, handler); end
	end
	function ev.get_handlers(name)
		local list = {};
		for handler in pairs(ids[name] or {}) do list[#list + 1] = handler; end
		return list;
	end
	function ev.has_handlers(name)
		return native.has_handlers(bus, name);
	end
	function ev.fire_event(name, data)
		return native.fire(bus, name, data);
	end
	-- Wrappers (util.events semantics; name `false` wraps every event) run natively
	-- around native and Lua handlers alike.
	local wrapper_ids = {};
	function ev.add_wrapper(name, wrapper)
		local by_fn = wrapper_ids[name];
		if not by_fn then by_fn = {}; wrapper_ids[name] = by_fn; end
		if by_fn[wrapper] then return; end
		by_fn[wrapper] = native.wrap(bus, name or nil, wrapper);
	end
	function ev.remove_wrapper(name, wrapper)
		local by_fn = wrapper_ids[name];
		local id = by_fn and by_fn[wrapper];
		if id then
			native.unwrap(bus, name or nil, id);
			by_fn[wrapper] = nil;
		end
	end
	ev.wrappers = { add_handler = ev.add_wrapper, remove_handler = ev.remove_wrapper };
	function ev.set_debug_hook() end
	-- util.events' handler table, read by plugins to ask "does anyone handle X?".
	ev._handlers = setmetatable({}, {
		__index = function(_, name)
			if native.has_handlers(bus, name) then return ev.get_handlers(name); end
		end;
	});
	return ev;
end

-- hosts[h].modules: each Lua module's environment by name (as in Prosody, `.module` is
-- its API object), plus a plain stand-in for every native module. It is a real table so
-- `next`-based iteration sees everything; `sync_modules` adds natives loaded since.
local function native_stub(host, name)
	-- mod_muc's exports (get_room_from_jid, each_room, ...) come with its stand-in.
	if name == "muc" and native.muc_api then return native.muc_api(host); end
	-- mod_pep's get_pep_service and mod_pubsub's service: util.pubsub-shaped objects.
	if name == "pep" and native.pep_api then return native.pep_api(host); end
	if name == "pubsub" and native.pubsub_api then return native.pubsub_api(host); end
	return { native = true, module = { name = name, host = host, native = true } };
end

local function module_table(host)
	return setmetatable({}, {
		__index = function(t, name)
			for _, n in ipairs(native.host_modules(host) or {}) do
				if n == name then
					local stub = native_stub(host, name);
					rawset(t, name, stub);
					return stub;
				end
			end
		end;
	});
end

function M.sync_modules(host)
	local h = rawget(M.hosts, host);
	if not h then return; end
	local present = {};
	for _, n in ipairs(native.host_modules(host) or {}) do
		present[n] = true;
		if rawget(h.modules, n) == nil then rawset(h.modules, n, native_stub(host, n)); end
	end
	for n, m in next, h.modules do
		if rawget(m, "native") and not present[n] then rawset(h.modules, n, nil); end
	end
end

local function new_host(name)
	local component = native.is_component(name);
	if component == nil then return nil; end
	local host = {
		host = name,
		type = component and "component" or "local",
		events = M.bus_events(name),
		modules = module_table(name),
		-- Outgoing s2s sessions by remote host: federation is native, none show here.
		s2sout = {},
	};
	-- Components have no sessions table in Prosody (reference §12.1).
	if not component then host.sessions = sessions.host_sessions(name); end
	function host.send(stanza)
		return native.post(name, stanza, nil);
	end
	return host;
end

M.hosts = setmetatable({}, {
	__index = function(t, name)
		if type(name) ~= "string" then return nil; end
		local h = new_host(name);
		if h then
			rawset(t, name, h);
			M.sync_modules(name);
		end
		return h;
	end;
	__pairs = function(t)
		for _, name in ipairs(native.hosts()) do local _ = t[name]; end
		return next, t, nil;
	end;
});

function M.get_host(name)
	return M.hosts[name];
end

function M.get_children(host)
	local children = {};
	for _, name in ipairs(native.hosts()) do
		if name:sub(-#host - 1) == "." .. host then children[name] = true; end
	end
	return children;
end

return M;
