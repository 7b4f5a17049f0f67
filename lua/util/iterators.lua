-- util.iterators: helpers over Lua iterators (keys, values, sorted_pairs, filter, ...).

local M = {};

function M.keys(t)
	local key;
	return function() key = next(t, key); return key; end;
end

function M.values(t)
	local key, val;
	return function() key, val = next(t, key); return val; end;
end

function M.sorted_pairs(t, sort_func)
	local keys = {};
	for k in pairs(t) do keys[#keys + 1] = k; end
	table.sort(keys, sort_func);
	local i = 0;
	return function()
		i = i + 1;
		local k = keys[i];
		if k ~= nil then return k, t[k]; end
	end;
end

function M.count(f, s, var)
	local n = 0;
	while true do
		var = f(s, var);
		if var == nil then break; end
		n = n + 1;
	end
	return n;
end

function M.filter(filter, f, s, var)
	if type(filter) ~= "function" then
		local value = filter;
		filter = function(x) return x ~= value; end;
	end
	return function(_s, _var)
		local r;
		repeat
			r = table.pack(f(_s, _var));
			_var = r[1];
		until _var == nil or filter(table.unpack(r, 1, r.n));
		return table.unpack(r, 1, r.n);
	end, s, var;
end

function M.head(n, f, s, var)
	local c = 0;
	return function(_s, _var)
		if c >= n then return nil; end
		c = c + 1;
		return f(_s, _var);
	end, s, var;
end

function M.to_array(f, s, var)
	local t = {};
	while true do
		var = f(s, var);
		if var == nil then break; end
		t[#t + 1] = var;
	end
	return t;
end

function M.to_table(f, s, var)
	local t = {};
	while true do
		local k, v = f(s, var);
		var = k;
		if k == nil then break; end
		t[k] = v;
	end
	return t;
end

function M.unique(f, s, var)
	local seen = {};
	return function(_s, _var)
		repeat
			_var = f(_s, _var);
		until _var == nil or not seen[_var];
		if _var ~= nil then seen[_var] = true; end
		return _var;
	end, s, var;
end

return M;
