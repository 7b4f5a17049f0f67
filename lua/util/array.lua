-- util.array with Prosody 0.12's semantics. `array(t)` wraps a table (or collects an
-- iterator); methods called on an array transform it in place and return it, while
-- `array.method(t, ...)` leaves `t` alone and returns a new array. `a + b` concatenates,
-- `a / f` maps into a new array dropping nil results, `==` compares element-wise.

local array_methods = {};
local array_mt = { __index = array_methods, __name = "array" };
local M = {};

local function collect(f, s, var)
	local t = {};
	while true do
		var = f(s, var);
		if var == nil then break; end
		t[#t + 1] = var;
	end
	return setmetatable(t, array_mt);
end
M.collect = collect;

local function new(_, t, s, var)
	if type(t) == "function" then return collect(t, s, var); end
	return setmetatable(t or {}, array_mt);
end
setmetatable(M, { __call = new });
M.mt, M.methods = array_mt, array_methods;
function M.new(t) return setmetatable(t or {}, array_mt); end

function array_mt.__add(a, b)
	return M.new():append(a):append(b);
end
function array_mt.__eq(a, b)
	if getmetatable(a) ~= array_mt or getmetatable(b) ~= array_mt then return false; end
	if #a ~= #b then return false; end
	for i = 1, #a do if a[i] ~= b[i] then return false; end end
	return true;
end
function array_mt.__div(a, func)
	local r, n = M.new(), 0;
	for i = 1, #a do
		local v = func(a[i]);
		if v ~= nil then n = n + 1; r[n] = v; end
	end
	return r;
end
function array_mt.__tostring(a) return "{" .. a:concat(", ") .. "}"; end
function array_mt.__freeze(a) return a; end

-- Transformations written once as (out, input, ...): `out == input` means in place.
local transforms = {};

function transforms.map(out, input, func)
	for i, v in ipairs(input) do out[i] = func(v); end
	return out;
end

function transforms.filter(out, input, func)
	local n, w = #input, 1;
	for r = 1, n do
		local v = input[r];
		if func(v) then out[w] = v; w = w + 1; end
	end
	if out == input then for i = w, n do out[i] = nil; end end
	return out;
end

function transforms.slice(out, input, i, j)
	local len = #input;
	j = j or -1;
	if j < 0 then j = len + j + 1; end
	if i < 0 then i = len + i + 1; end
	if i < 1 then i = 1; end
	if j > len then j = len; end
	local count = j >= i and (j - i + 1) or 0;
	for k = 1, count do out[k] = input[i + k - 1]; end
	for k = count + 1, #out do out[k] = nil; end
	return out;
end

function transforms.sort(out, input, ...)
	if out ~= input then out:append(input); end
	table.sort(out, ...);
	return out;
end

function transforms.unique(out, input)
	local seen = {};
	return transforms.filter(out, input, function(v)
		if seen[v] then return false; end
		seen[v] = true;
		return true;
	end);
end

function transforms.pluck(out, input, key, default)
	for i = 1, #input do
		local v = input[i][key];
		if v == nil then v = default; end
		out[i] = v;
	end
	return out;
end

function transforms.reverse(out, input)
	local n = #input;
	if out == input then
		for i = 1, n // 2 do out[i], out[n - i + 1] = out[n - i + 1], out[i]; end
	else
		for i = 1, n do out[i] = input[n - i + 1]; end
	end
	return out;
end

for name, f in pairs(transforms) do
	array_methods[name] = function(self, ...) return f(self, self, ...); end
	M[name] = function(input, ...) return f(M.new(), input, ...); end
end

function array_methods:random() return self[math.random(1, #self)]; end
function array_methods:random_other(idx)
	local n = #self;
	return self[((math.random(1, n - 1) + (idx - 1)) % n) + 1];
end
function array_methods:shuffle()
	local n = #self;
	for i = 1, n do
		local r = math.random(i, n);
		self[i], self[r] = self[r], self[i];
	end
	return self;
end
function array_methods:append(other)
	local n = #self;
	for i = 1, #other do self[n + i] = other[i]; end
	return self;
end
function array_methods:push(x) self[#self + 1] = x; return self; end
array_methods.pop = table.remove;
function array_methods:concat(sep)
	local parts = {};
	for i = 1, #self do parts[i] = tostring(self[i]); end
	return table.concat(parts, sep);
end
function array_methods:length() return #self; end

return M;
