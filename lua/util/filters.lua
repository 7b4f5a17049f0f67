-- util.filters (reference §3.8): per-session filter chains by type; higher priority runs
-- first; a filter returning nil drops the data. Lilt's core runs `stanzas/in` (before
-- routing) and `stanzas/out` (before the connection gets the stanza) for bound sessions
-- that have such a filter; `bytes/in` and `bytes/out` are kept but never run by the core,
-- since bytes stay on the connection tasks. Filter hooks run for every newly bound session.

local native = require "lilt.native";

local M = {};
local new_filter_hooks = {};   -- array of { fn = f, source = chunk name }
local initialized = setmetatable({}, { __mode = "k" });
local warned = {};
local bind_handlers = nil;     -- host -> handler, while filter hooks exist

local function source_of(fn)
	local info = debug.getinfo(fn, "S");
	return info and info.source or "?";
end

-- Tells the core whether this session's stanza chain of `type` has filters.
-- `bytes/in` filters run on each stanza the session sends (Lilt's nearest point to
-- "the client sent data"), so they count for the `stanzas/in` flag; a session whose
-- writes are paused (`session.conn:pause_writes()`) needs its stanzas/out path too.
local function sync(session, type)
	local sid = rawget(session, "_lilt_sid");
	if type == "bytes/in" then type = "stanzas/in"; end
	if not sid or (type ~= "stanzas/in" and type ~= "stanzas/out") then return; end
	local filters = rawget(session, "filters") or {};
	local function has(t) local list = filters[t]; return list ~= nil and #list > 0; end
	local on = has(type) or (type == "stanzas/in" and has("bytes/in"))
		or (type == "stanzas/out" and rawget(session, "_lilt_paused") == true);
	native.set_session_filter(sid, type, on);
end
M._sync = sync;

function M.initialize(session)
	if not rawget(session, "filters") then
		local filters = {};
		session.filters = filters;
		function session.filter(type, data)
			local list = filters[type];
			if list then
				for _, f in ipairs(list) do
					data = f.fn(data, session);
					if data == nil then break; end
				end
			end
			return data;
		end
		initialized[session] = true;
	end
	for _, hook in ipairs(new_filter_hooks) do hook.fn(session); end
	return session.filter;
end

function M.add_filter(session, type, fn, priority)
	if not rawget(session, "filters") then M.initialize(session); end
	local source = source_of(fn);
	if type == "bytes/out" and not warned[source] then
		warned[source] = true;
		native.log("warn", source:gsub("^@", ""),
			"Lilt does not run bytes/out filters (bytes never reach Lua); this filter is kept but unused");
	end
	local list = session.filters[type];
	if not list then list = {}; session.filters[type] = list; end
	for _, f in ipairs(list) do if f.fn == fn then return; end end
	list[#list + 1] = { fn = fn, priority = priority or 0, source = source };
	table.sort(list, function(a, b) return a.priority > b.priority; end);
	sync(session, type);
end

function M.remove_filter(session, type, fn)
	local list = rawget(session, "filters") and session.filters[type];
	if not list then return; end
	for i = #list, 1, -1 do if list[i].fn == fn then table.remove(list, i); end end
	sync(session, type);
end

-- Lilt's sessions become visible to plugins when they bind, so that is when filter hooks
-- see them (Prosody runs them at connection time).
local function on_bind(event)
	if event.session then M.initialize(event.session); end
end

local function watch_binds(on)
	local hosts = prosody.hosts;
	if on and not bind_handlers then
		bind_handlers = {};
		for _, name in ipairs(native.hosts()) do
			local h = hosts[name];
			if h and h.type == "local" then
				h.events.add_handler("resource-bind", on_bind, 1000);
				bind_handlers[name] = h;
			end
		end
	elseif not on and bind_handlers then
		for _, h in pairs(bind_handlers) do h.events.remove_handler("resource-bind", on_bind); end
		bind_handlers = nil;
	end
end

function M.add_filter_hook(fn)
	new_filter_hooks[#new_filter_hooks + 1] = { fn = fn, source = source_of(fn) };
	watch_binds(true);
end

function M.remove_filter_hook(fn)
	for i = #new_filter_hooks, 1, -1 do
		if new_filter_hooks[i].fn == fn then table.remove(new_filter_hooks, i); end
	end
	if #new_filter_hooks == 0 then watch_binds(false); end
end

-- Unloading a module removes the filters and filter hooks defined in its file.
function M._remove_owned(source)
	for i = #new_filter_hooks, 1, -1 do
		if new_filter_hooks[i].source == source then table.remove(new_filter_hooks, i); end
	end
	if #new_filter_hooks == 0 then watch_binds(false); end
	for session in pairs(initialized) do
		for type, list in pairs(session.filters) do
			local removed = false;
			for i = #list, 1, -1 do
				if list[i].source == source then table.remove(list, i); removed = true; end
			end
			if removed then sync(session, type); end
		end
	end
end

return M;
