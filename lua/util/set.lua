-- util.set with Prosody 0.12's semantics: a set is callable as its own iterator
-- (`for item in s do`), `items()` returns an iterator triple, `+` is union, `-` is
-- difference, `/` maps every item through a function (nil results dropped), `==`
-- compares members. `contains` returns the stored `true` or nil.

local M = {};

local set_mt = { __name = "set" };
local items_mt = {};

-- The item table is callable too, so `for item in s._items do` iterates keys.
function items_mt.__call(items, _, prev)
	return (next(items, prev));
end

function set_mt.__call(s, _, prev)
	return (next(s._items, prev));
end

local methods = {};
set_mt.__index = methods;

local function new(list)
	local s = setmetatable({ _items = setmetatable({}, items_mt) }, set_mt);
	if list then s:add_list(list); end
	return s;
end
M.new = new;

function methods:add(item) self._items[item] = true; end
function methods:remove(item) self._items[item] = nil; end
function methods:contains(item) return self._items[item]; end
function methods:contains_set(other)
	for item in other do
		if not self._items[item] then return false; end
	end
	return true;
end
function methods:items() return next, self._items; end
function methods:empty() return next(self._items) == nil; end
function methods:add_list(list)
	if not list then return; end
	for _, v in ipairs(list) do self._items[v] = true; end
end
function methods:include(other) for item in other do self._items[item] = true; end end
function methods:exclude(other) for item in other do self._items[item] = nil; end end

local function union(a, b)
	local r = new();
	local out = r._items;
	for item in pairs(a._items) do out[item] = true; end
	for item in pairs(b._items) do out[item] = true; end
	return r;
end

local function difference(a, b)
	local r = new();
	local out, other = r._items, b._items;
	for item in pairs(a._items) do
		if not other[item] then out[item] = true; end
	end
	return r;
end

local function intersection(a, b)
	local r = new();
	local out, other = r._items, b._items;
	for item in pairs(a._items) do
		if other[item] then out[item] = true; end
	end
	return r;
end

M.union, M.difference, M.intersection = union, difference, intersection;
function M.xor(a, b) return difference(union(a, b), intersection(a, b)); end

function M.is_set(x) return getmetatable(x) == set_mt; end

set_mt.__add = union;
set_mt.__sub = difference;
function set_mt.__div(s, func)
	local r = new();
	local out = r._items;
	for item in pairs(s._items) do
		local mapped = func(item);
		if mapped ~= nil then out[mapped] = true; end
	end
	return r;
end
function set_mt.__eq(a, b)
	-- Lua 5.4 asks __eq for any two tables; a set only equals a set.
	if getmetatable(a) ~= set_mt or getmetatable(b) ~= set_mt then return false; end
	local x, y = a._items, b._items;
	for item in pairs(x) do if not y[item] then return false; end end
	for item in pairs(y) do if not x[item] then return false; end end
	return true;
end
function set_mt.__tostring(s)
	local parts = {};
	for item in pairs(s._items) do parts[#parts + 1] = tostring(item); end
	return table.concat(parts, ", ");
end
function set_mt.__freeze(s)
	local list = {};
	for item in pairs(s._items) do list[#list + 1] = item; end
	return list;
end

return M;
