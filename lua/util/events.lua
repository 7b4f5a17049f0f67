-- util.events (reference §2.6): named events, handlers in descending priority, the first
-- non-nil return stops the event; per-event and global wrappers.

local M = {};

function M.new()
	local handlers = {};     -- name -> { [fn] = priority }
	local sorted = {};       -- name -> array of fns (cache)
	local wrappers = {};     -- name|false -> array
	local ev = {};

	local function sort(name)
		local list = {};
		for fn in pairs(handlers[name] or {}) do list[#list + 1] = fn; end
		local prio = handlers[name] or {};
		table.sort(list, function(a, b) return prio[a] > prio[b]; end);
		sorted[name] = list;
		return list;
	end

	function ev.add_handler(name, fn, priority)
		local h = handlers[name];
		if not h then h = {}; handlers[name] = h; end
		h[fn] = priority or 0;
		sorted[name] = nil;
	end
	function ev.remove_handler(name, fn)
		local h = handlers[name];
		if h then
			h[fn] = nil;
			if next(h) == nil then handlers[name] = nil; end
			sorted[name] = nil;
		end
	end
	function ev.add_handlers(t)
		for name, fn in pairs(t) do ev.add_handler(name, fn); end
	end
	function ev.remove_handlers(t)
		for name, fn in pairs(t) do ev.remove_handler(name, fn); end
	end
	function ev.get_handlers(name)
		return sorted[name] or sort(name);
	end

	local function fire_handlers(name, data)
		local list = handlers[name] and (sorted[name] or sort(name));
		if not list then return nil; end
		for _, fn in ipairs(list) do
			local ret = fn(data);
			if ret ~= nil then return ret; end
		end
	end

	local function run(list, i, name, data, final)
		local w = list and list[i];
		if not w then return final(name, data); end
		return w(function(n, d) return run(list, i + 1, n, d, final); end, name, data);
	end

	function ev.fire_event(name, data)
		local per_event, global = wrappers[name], wrappers[false];
		if not per_event and not global then
			return fire_handlers(name, data);
		end
		return run(per_event, 1, name, data, function(n, d)
			return run(global, 1, n, d, fire_handlers);
		end);
	end

	function ev.add_wrapper(name, wrapper)
		local list = wrappers[name];
		if not list then list = {}; wrappers[name] = list; end
		table.insert(list, 1, wrapper);
	end
	function ev.remove_wrapper(name, wrapper)
		local list = wrappers[name];
		if not list then return; end
		for i = #list, 1, -1 do
			if list[i] == wrapper then table.remove(list, i); end
		end
		if #list == 0 then wrappers[name] = nil; end
	end
	ev.wrappers = { add_handler = ev.add_wrapper, remove_handler = ev.remove_wrapper };
	function ev.set_debug_hook() end
	ev._handlers = handlers;
	return ev;
end

return M;
