-- util.helpers: debugging aids — log every event an events object fires, list its
-- handlers, read a function's upvalue.

local M = {};

function M.log_events(events, name, logger)
	local f = events.fire_event;
	if not f then return; end
	logger = logger or log;
	name = name or tostring(events);
	local wrapped = function(event, ...)
		logger("debug", "%s firing event: %s", name, event);
		return f(event, ...);
	end
	events[wrapped] = f;
	events.fire_event = wrapped;
	return events;
end

function M.revert_log_events(events)
	local original = events[events.fire_event];
	if original then
		events[events.fire_event] = nil;
		events.fire_event = original;
	end
end

function M.show_events(events, specific_event)
	local lines = {};
	local handlers = events._handlers or {};
	local names = {};
	for name in pairs(handlers) do names[#names + 1] = name; end
	if specific_event then names = { specific_event }; end
	table.sort(names);
	for _, name in ipairs(names) do
		lines[#lines + 1] = "Event: " .. name;
		for i, h in ipairs(handlers[name] or {}) do
			lines[#lines + 1] = string.format("  %d: %s", i, tostring(h));
		end
	end
	return table.concat(lines, "\n");
end

function M.get_upvalue(f, get_name)
	-- The sandbox keeps debug.getupvalue from plugins; then there is nothing to read.
	local getupvalue = debug.getupvalue;
	if not getupvalue then return nil; end
	local i = 0;
	while true do
		i = i + 1;
		local name, value = getupvalue(f, i);
		if name == nil then return nil; end
		if name == get_name then return value; end
	end
end

return M;
