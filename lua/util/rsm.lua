-- util.rsm: XEP-0059 result set management — parse a `<set/>` into a table, generate one
-- from a table, and fetch it from a stanza.

local st = require "util.stanza";

local NS = "http://jabber.org/protocol/rsm";
local M = { xmlns = NS };

local function int(tag)
	local n = tonumber(tag:get_text());
	if n and n >= 0 and n == math.floor(n) then return math.tointeger(n); end
	return nil;
end

local parsers = {
	after = function(tag) return tag:get_text(); end,
	before = function(tag)
		local text = tag:get_text();
		if text == "" then return true; end
		return text;
	end,
	max = int, index = int, count = int,
	first = function(tag)
		local text = tag:get_text();
		local index = tonumber(tag.attr.index);
		if index then return { text, index = math.tointeger(index) }; end
		return text;
	end,
	last = function(tag) return tag:get_text(); end,
};

function M.parse(set)
	local r = {};
	for tag in set:childtags() do
		local p = parsers[tag.name];
		if p then r[tag.name] = p(tag); end
	end
	return r;
end

local order = { "after", "before", "max", "index", "first", "last", "count" };

function M.generate(t)
	local set = st.stanza("set", { xmlns = NS });
	for _, name in ipairs(order) do
		local v = t[name];
		if v ~= nil then
			if name == "before" and v == true then
				set:tag("before"):up();
			elseif name == "first" and type(v) == "table" then
				set:tag("first", { index = v.index and tostring(v.index) or nil }):text(v[1]):up();
			else
				set:tag(name):text(tostring(v)):up();
			end
		end
	end
	return set;
end

function M.get(stanza)
	local set = stanza:get_child("set", NS);
	if set and #set.tags > 0 then return M.parse(set); end
	return nil;
end

return M;
