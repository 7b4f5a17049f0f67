-- util.set: sets with union (+), difference (-), intersection (/), iteration and items().

local set_mt = { __name = "set" };
local M = {};

local function new(list)
	local items = {};
	local s = setmetatable({ _items = items }, set_mt);
	for _, v in ipairs(list or {}) do items[v] = true; end
	return s;
end
M.new = new;

local methods = {};
set_mt.__index = methods;

function methods:add(item) self._items[item] = true; end
function methods:remove(item) self._items[item] = nil; end
function methods:contains(item) return self._items[item] == true; end
function methods:contains_set(other)
	for item in other do if not self._items[item] then return false; end end
	return true;
end
function methods:items() return self._items; end
function methods:empty() return next(self._items) == nil; end
function methods:add_list(list) for _, v in ipairs(list or {}) do self._items[v] = true; end end
function methods:include(other) for item in other do self._items[item] = true; end end
function methods:exclude(other) for item in other do self._items[item] = nil; end end

set_mt.__call = function(self, _, prev)
	return (next(self._items, prev));
end
function set_mt.__add(a, b)
	local r = new();
	for item in a do r:add(item); end
	for item in b do r:add(item); end
	return r;
end
function set_mt.__sub(a, b)
	local r = new();
	for item in a do if not b:contains(item) then r:add(item); end end
	return r;
end
function set_mt.__div(a, b)
	local r = new();
	for item in a do if b:contains(item) then r:add(item); end end
	return r;
end
function set_mt.__eq(a, b)
	for item in a do if not b:contains(item) then return false; end end
	for item in b do if not a:contains(item) then return false; end end
	return true;
end
function set_mt.__len(s)
	local n = 0;
	for _ in pairs(s._items) do n = n + 1; end
	return n;
end
function set_mt.__tostring(s)
	local parts = {};
	for item in s do parts[#parts + 1] = tostring(item); end
	table.sort(parts);
	return table.concat(parts, ", ");
end

function M.is_set(x) return getmetatable(x) == set_mt; end
function M.union(a, b) return a + b; end
function M.difference(a, b) return a - b; end
function M.intersection(a, b) return a / b; end

return M;
