-- util.filters (reference §3.8): per-session filter chains by type; higher priority runs
-- first; a filter returning nil drops the data. Lilt's core does not run c2s filters yet,
-- so this serves plugins that call `session.filter` themselves.

local M = {};
local new_filter_hooks = {};

function M.initialize(session)
	if not session.filters then
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
	end
	for _, hook in ipairs(new_filter_hooks) do hook(session); end
	return session.filter;
end

function M.add_filter(session, type, fn, priority)
	if not session.filters then M.initialize(session); end
	local list = session.filters[type];
	if not list then list = {}; session.filters[type] = list; end
	for _, f in ipairs(list) do if f.fn == fn then return; end end
	list[#list + 1] = { fn = fn, priority = priority or 0 };
	table.sort(list, function(a, b) return a.priority > b.priority; end);
end

function M.remove_filter(session, type, fn)
	local list = session.filters and session.filters[type];
	if not list then return; end
	for i = #list, 1, -1 do if list[i].fn == fn then table.remove(list, i); end end
end

function M.add_filter_hook(fn) new_filter_hooks[#new_filter_hooks + 1] = fn; end
function M.remove_filter_hook(fn)
	for i = #new_filter_hooks, 1, -1 do
		if new_filter_hooks[i] == fn then table.remove(new_filter_hooks, i); end
	end
end

return M;
