-- util.array: arrays with methods (map, filter, sort, pluck, ...), also callable as
-- `array(t)` to wrap an existing table.

local array_methods = {};
local array_mt = { __index = array_methods, __name = "array" };

local function new(t)
	return setmetatable(t or {}, array_mt);
end

function array_mt.__add(a, b)
	local r = new();
	for _, v in ipairs(a) do r[#r + 1] = v; end
	for _, v in ipairs(b) do r[#r + 1] = v; end
	return r;
end
function array_mt.__eq(a, b)
	if #a ~= #b then return false; end
	for i = 1, #a do if a[i] ~= b[i] then return false; end end
	return true;
end
function array_mt.__tostring(a)
	local parts = {};
	for i, v in ipairs(a) do parts[i] = tostring(v); end
	return "{" .. table.concat(parts, ", ") .. "}";
end

function array_methods:map(f) for i, v in ipairs(self) do self[i] = f(v); end return self; end
function array_methods:filter(f)
	local j = 1;
	local n = #self;
	for i = 1, n do
		local v = self[i];
		self[i] = nil;
		if f(v) then self[j] = v; j = j + 1; end
	end
	return self;
end
function array_methods:sort(...) table.sort(self, ...); return self; end
function array_methods:push(x) self[#self + 1] = x; return self; end
function array_methods:pop(x) return table.remove(self, x); end
function array_methods:append(t) for _, v in ipairs(t) do self[#self + 1] = v; end return self; end
function array_methods:reverse()
	local n = #self;
	for i = 1, n // 2 do self[i], self[n - i + 1] = self[n - i + 1], self[i]; end
	return self;
end
function array_methods:pluck(key) for i, v in ipairs(self) do self[i] = v[key]; end return self; end
function array_methods:concat(sep) return table.concat(self, sep); end
function array_methods:length() return #self; end
function array_methods:random() return self[math.random(1, #self)]; end
function array_methods:unique()
	local seen, j = {}, 1;
	local n = #self;
	for i = 1, n do
		local v = self[i];
		self[i] = nil;
		if not seen[v] then seen[v] = true; self[j] = v; j = j + 1; end
	end
	return self;
end

local M = setmetatable({ mt = array_mt, methods = array_methods, new = new }, {
	__call = function(_, t) return new(t); end,
});

function M.collect(f, s, var)
	local r = new();
	while true do
		var = f(s, var);
		if var == nil then break; end
		r[#r + 1] = var;
	end
	return r;
end

-- Non-mutating variants: array.map(t, f) etc. return new arrays.
for name, method in pairs(array_methods) do
	M[name] = function(t, ...)
		local copy = new();
		for i, v in ipairs(t) do copy[i] = v; end
		return method(copy, ...);
	end;
end

return M;
