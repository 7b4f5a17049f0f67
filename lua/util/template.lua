-- util.template: a stanza written as XML text with `{name}` (or `{a.b}`) placeholders in
-- text and attribute values. `template(text)` returns an object whose `apply(data)`
-- builds a fresh stanza with the placeholders filled (missing ones become "").

local xml = require "util.xml";
local st = require "util.stanza";

local cache = setmetatable({}, { __mode = "k" });

local function lookup(data, path)
	local v = data;
	for part in path:gmatch("[^.]+") do
		if type(v) ~= "table" then return nil; end
		v = v[part];
	end
	return v;
end

local function fill(s, data)
	return (s:gsub("{([^}]*)}", function(path)
		local v = lookup(data, path);
		if v == nil then return ""; end
		return tostring(v);
	end));
end

local function build(node, data)
	local attr = {};
	for k, v in pairs(node.attr) do attr[k] = fill(v, data); end
	local out = st.stanza(node.name, attr);
	for _, child in ipairs(node) do
		if type(child) == "string" then
			out:text(fill(child, data));
		else
			out:add_child(build(child, data));
		end
	end
	return out;
end

-- Drops whitespace-only text between elements, as the template's layout is not content.
local function trim(node)
	for i = #node, 1, -1 do
		local child = node[i];
		if type(child) == "string" then
			if not child:find("%S") then table.remove(node, i); end
		else
			trim(child);
		end
	end
	node.tags = {};
	for _, child in ipairs(node) do
		if type(child) ~= "string" then node.tags[#node.tags + 1] = child; end
	end
	return node;
end

return function(text)
	local t = cache[text];
	if t then return t; end
	local tree = assert(xml.parse(text));
	tree = trim(tree);
	t = { apply = function(data) return build(tree, data or {}); end };
	cache[text] = t;
	return t;
end;
