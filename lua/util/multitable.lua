-- util.multitable: a tree of tables addressed by a path of keys, with lists of values at
-- the leaves (`add`), single values (`set`), and wildcard searches (nil matches any key).

local M = {};
local mt_methods = {};
local mt = { __index = mt_methods };

local function walk(root, keys, n, create)
	local t = root;
	for i = 1, n do
		local k = keys[i];
		local child = t[k];
		if child == nil then
			if not create then return nil; end
			child = {};
			t[k] = child;
		end
		t = child;
	end
	return t;
end

function mt_methods:get(...)
	local keys = { ... };
	return walk(self.data, keys, #keys, false);
end

function mt_methods:add(...)
	local keys = table.pack(...);
	local leaf = walk(self.data, keys, keys.n - 1, true);
	leaf[#leaf + 1] = keys[keys.n];
end

function mt_methods:set(...)
	local keys = table.pack(...);
	local parent = walk(self.data, keys, keys.n - 2, true);
	parent[keys[keys.n - 1]] = keys[keys.n];
end

-- remove(k1, ..., kn[, value]): drops the value from the list at the path, or the
-- whole path's subtree when no value is given; empty tables on the way are pruned.
function mt_methods:remove(...)
	local keys = table.pack(...);
	local stack = { self.data };
	local t = self.data;
	for i = 1, keys.n - 1 do
		t = t[keys[i]];
		if type(t) ~= "table" then return; end
		stack[i + 1] = t;
	end
	local last = keys[keys.n];
	local removed = false;
	for i = #t, 1, -1 do
		if t[i] == last then table.remove(t, i); removed = true; end
	end
	if not removed then t[last] = nil; end
	for i = keys.n - 1, 1, -1 do
		if next(stack[i + 1]) == nil then stack[i][keys[i]] = nil; else break; end
	end
end

local function search(t, keys, depth, n, out)
	if depth > n then
		if type(t) == "table" then
			for _, v in ipairs(t) do out[#out + 1] = v; end
		else
			out[#out + 1] = t;
		end
		return;
	end
	local k = keys[depth];
	if k == nil then
		for _, child in pairs(t) do
			if type(child) == "table" or depth == n then search(child, keys, depth + 1, n, out); end
		end
	elseif t[k] ~= nil then
		search(t[k], keys, depth + 1, n, out);
	end
end

function mt_methods:search(...)
	local keys = table.pack(...);
	local out = {};
	search(self.data, keys, 1, keys.n, out);
	return out;
end

function mt_methods:search_add(results, ...)
	local keys = table.pack(...);
	results = results or {};
	search(self.data, keys, 1, keys.n, results);
	return results;
end

function mt_methods:count()
	local n = 0;
	local function walk_count(t)
		for _, v in pairs(t) do
			if type(v) == "table" then walk_count(v); else n = n + 1; end
		end
	end
	walk_count(self.data);
	return n;
end

-- iter(depth, k1, ..., kn): iterates the key paths (and values) at `depth` levels,
-- nil keys matching anything.
function mt_methods:iter(depth, ...)
	local filter = table.pack(...);
	local results = {};
	local path = {};
	local function go(t, level)
		if level > depth then
			local row = {};
			for i = 1, depth do row[i] = path[i]; end
			row[depth + 1] = t;
			results[#results + 1] = row;
			return;
		end
		if type(t) ~= "table" then return; end
		for k, v in pairs(t) do
			local want = filter[level];
			if want == nil or want == k then
				path[level] = k;
				go(v, level + 1);
			end
		end
	end
	go(self.data, 1);
	local i = 0;
	return function()
		i = i + 1;
		local row = results[i];
		if row then return table.unpack(row, 1, depth + 1); end
	end;
end

function M.new()
	return setmetatable({ data = {} }, mt);
end

M.iter = function(self, ...) return self:iter(...); end
return M;
