-- util.serialization: Lua values to Lua source (and back, in an empty environment).

local M = {};

local function ser(v, buf, seen)
	local t = type(v);
	if t == "string" then
		buf[#buf + 1] = string.format("%q", v);
	elseif t == "number" then
		if math.type(v) == "integer" then buf[#buf + 1] = tostring(v);
		elseif v ~= v then buf[#buf + 1] = "(0/0)";
		elseif v == math.huge then buf[#buf + 1] = "(1/0)";
		elseif v == -math.huge then buf[#buf + 1] = "(-1/0)";
		else buf[#buf + 1] = string.format("%.17g", v); end
	elseif t == "boolean" or t == "nil" then
		buf[#buf + 1] = tostring(v);
	elseif t == "table" then
		if seen[v] then error("cannot serialize a table with cycles", 0); end
		seen[v] = true;
		buf[#buf + 1] = "{";
		local n = #v;
		for i = 1, n do ser(v[i], buf, seen); buf[#buf + 1] = ";"; end
		local keys = {};
		for k in pairs(v) do
			if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k; end
		end
		table.sort(keys, function(a, b) return tostring(a) < tostring(b); end);
		for _, k in ipairs(keys) do
			if type(k) == "string" and k:match("^[%a_][%w_]*$") then
				buf[#buf + 1] = k;
			else
				buf[#buf + 1] = "[";
				ser(k, buf, seen);
				buf[#buf + 1] = "]";
			end
			buf[#buf + 1] = "=";
			ser(v[k], buf, seen);
			buf[#buf + 1] = ";";
		end
		buf[#buf + 1] = "}";
		seen[v] = nil;
	else
		error("cannot serialize a " .. t, 0);
	end
end

function M.serialize(v)
	local buf = {};
	local ok, err = pcall(ser, v, buf, {});
	if not ok then return nil, err; end
	return table.concat(buf);
end

function M.deserialize(s)
	local chunk, err = load("return " .. s, "=serialized", "t", {});
	if not chunk then return nil, err; end
	local ok, v = pcall(chunk);
	if not ok then return nil, v; end
	return v;
end

function M.new() return { serialize = M.serialize, deserialize = M.deserialize }; end

return M;
