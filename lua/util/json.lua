-- util.json (reference §3.7): JSON with Prosody's conventions — `null` sentinel, arrays
-- decode with util.array's metatable, tables with non-string keys as {"__hash":[k,v,...]}.

local array_mt = require "util.array".mt;

local M = {};
local null = setmetatable({}, { __tostring = function() return "null"; end });
M.null = null;

local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
	["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" };
local function encode_string(s)
	return '"' .. s:gsub('[%c"\\]', function(c)
		return escapes[c] or string.format("\\u%04x", c:byte());
	end) .. '"';
end

local encode_value;

local function is_array(t)
	if getmetatable(t) == array_mt then return true; end
	local n = 0;
	for k in pairs(t) do
		if math.type(k) ~= "integer" or k < 1 then return false; end
		n = n + 1;
	end
	return n > 0 and n == #t;
end

local function encode_table(t, buf, ordered)
	if next(t) == nil and getmetatable(t) ~= array_mt then
		buf[#buf + 1] = "{}";
		return;
	end
	if is_array(t) then
		buf[#buf + 1] = "[";
		for i = 1, #t do
			if i > 1 then buf[#buf + 1] = ","; end
			encode_value(t[i], buf, ordered);
		end
		buf[#buf + 1] = "]";
		return;
	end
	local keys, hash = {}, {};
	for k in pairs(t) do
		if type(k) == "string" then keys[#keys + 1] = k; else hash[#hash + 1] = k; end
	end
	if ordered then table.sort(keys); end
	buf[#buf + 1] = "{";
	local first = true;
	for _, k in ipairs(keys) do
		if not first then buf[#buf + 1] = ","; end
		first = false;
		buf[#buf + 1] = encode_string(k) .. ":";
		encode_value(t[k], buf, ordered);
	end
	if #hash > 0 then
		if not first then buf[#buf + 1] = ","; end
		buf[#buf + 1] = '"__hash":[';
		for i, k in ipairs(hash) do
			if i > 1 then buf[#buf + 1] = ","; end
			encode_value(k, buf, ordered);
			buf[#buf + 1] = ",";
			encode_value(t[k], buf, ordered);
		end
		buf[#buf + 1] = "]";
	end
	buf[#buf + 1] = "}";
end

function encode_value(v, buf, ordered)
	local tv = type(v);
	if v == nil or v == null then
		buf[#buf + 1] = "null";
	elseif tv == "boolean" then
		buf[#buf + 1] = tostring(v);
	elseif tv == "number" then
		if v ~= v or v == math.huge or v == -math.huge then
			buf[#buf + 1] = "null";
		elseif math.type(v) == "integer" then
			buf[#buf + 1] = tostring(v);
		else
			buf[#buf + 1] = string.format("%.14g", v);
		end
	elseif tv == "string" then
		buf[#buf + 1] = encode_string(v);
	elseif tv == "table" then
		encode_table(v, buf, ordered);
	else
		buf[#buf + 1] = "null";
	end
end

function M.encode(v)
	local buf = {};
	encode_value(v, buf, false);
	return table.concat(buf);
end
function M.encode_ordered(v)
	local buf = {};
	encode_value(v, buf, true);
	return table.concat(buf);
end
function M.encode_array(v)
	return M.encode(setmetatable(v, array_mt));
end

-- Decoding --------------------------------------------------------------------------------

local function skip(s, pos)
	return s:match("^[ \t\r\n]*()", pos);
end

local decode_value;

local function decode_string(s, pos)
	local buf = {};
	pos = pos + 1;
	while true do
		local chunk, nxt = s:match('^([^"\\%c]*)()', pos);
		buf[#buf + 1] = chunk;
		pos = nxt;
		local c = s:sub(pos, pos);
		if c == '"' then return table.concat(buf), pos + 1; end
		if c ~= "\\" then return nil, "invalid string"; end
		local e = s:sub(pos + 1, pos + 1);
		local simple = ({ b = "\b", f = "\f", n = "\n", r = "\r", t = "\t", ['"'] = '"', ["\\"] = "\\", ["/"] = "/" })[e];
		if simple then
			buf[#buf + 1] = simple;
			pos = pos + 2;
		elseif e == "u" then
			local hex = s:match("^%x%x%x%x", pos + 2);
			if not hex then return nil, "invalid escape"; end
			local cp = tonumber(hex, 16);
			pos = pos + 6;
			if cp >= 0xD800 and cp <= 0xDBFF then
				local lo = s:match("^\\u(%x%x%x%x)", pos);
				if lo then
					cp = 0x10000 + (cp - 0xD800) * 0x400 + (tonumber(lo, 16) - 0xDC00);
					pos = pos + 6;
				end
			end
			buf[#buf + 1] = utf8.char(cp);
		else
			return nil, "invalid escape";
		end
	end
end

local function unhash(t)
	local hash = t.__hash;
	if type(hash) == "table" then
		t.__hash = nil;
		for i = 1, #hash, 2 do t[hash[i]] = hash[i + 1]; end
	end
	local arr = t.__array;
	if type(arr) == "table" then
		t.__array = nil;
		for i, v in ipairs(arr) do t[i] = v; end
	end
	return t;
end

function decode_value(s, pos)
	pos = skip(s, pos);
	local c = s:sub(pos, pos);
	if c == "{" then
		local t = {};
		pos = skip(s, pos + 1);
		if s:sub(pos, pos) == "}" then return t, pos + 1; end
		while true do
			if s:sub(pos, pos) ~= '"' then return nil, "expected key"; end
			local k, v;
			k, pos = decode_string(s, pos);
			if not k then return nil, pos; end
			pos = skip(s, pos);
			if s:sub(pos, pos) ~= ":" then return nil, "expected ':'"; end
			v, pos = decode_value(s, pos + 1);
			if pos == nil or type(pos) == "string" then return nil, pos; end
			t[k] = v;
			pos = skip(s, pos);
			local d = s:sub(pos, pos);
			if d == "}" then return unhash(t), pos + 1; end
			if d ~= "," then return nil, "expected ',' or '}'"; end
			pos = skip(s, pos + 1);
		end
	elseif c == "[" then
		local t = setmetatable({}, array_mt);
		pos = skip(s, pos + 1);
		if s:sub(pos, pos) == "]" then return t, pos + 1; end
		while true do
			local v;
			v, pos = decode_value(s, pos);
			if pos == nil or type(pos) == "string" then return nil, pos; end
			t[#t + 1] = v;
			pos = skip(s, pos);
			local d = s:sub(pos, pos);
			if d == "]" then return t, pos + 1; end
			if d ~= "," then return nil, "expected ',' or ']'"; end
			pos = pos + 1;
		end
	elseif c == '"' then
		return decode_string(s, pos);
	elseif s:sub(pos, pos + 3) == "true" then return true, pos + 4;
	elseif s:sub(pos, pos + 4) == "false" then return false, pos + 5;
	elseif s:sub(pos, pos + 3) == "null" then return null, pos + 4;
	end
	local num, nxt = s:match("^(-?%d+%.?%d*[eE]?[+-]?%d*)()", pos);
	if num and tonumber(num) then return tonumber(num), nxt; end
	return nil, "unexpected character at " .. pos;
end

function M.decode(s)
	if type(s) ~= "string" then return nil, "expected string"; end
	local ok, v, pos = pcall(decode_value, s, 1);
	if not ok then return nil, v; end
	if pos == nil or type(pos) == "string" then return nil, pos or "invalid JSON"; end
	if skip(s, pos) <= #s then return nil, "garbage at eof"; end
	return v;
end

return M;
