-- lxp.lom (LuaExpat's Lua Object Model, our implementation over Lilt's XML parser):
-- parse(text) gives { tag = name, attr = { [1] = first name, ..., name = value },
-- [1..n] = child nodes (tables) and text strings }, or nil and an error.

local native = require "lilt.native";

local M = {};

local function to_lom(el)
	local attr = {};
	local names = {};
	for k in pairs(el.attr) do names[#names + 1] = k; end
	table.sort(names);
	for _, k in ipairs(names) do
		attr[#attr + 1] = k;
		attr[k] = el.attr[k];
	end
	local node = { tag = el.name, attr = attr };
	for _, child in ipairs(el) do
		if type(child) == "table" then
			node[#node + 1] = to_lom(child);
		else
			node[#node + 1] = child;
		end
	end
	return node;
end

function M.parse(text)
	if type(text) ~= "string" then return nil, "lom.parse needs a string"; end
	local el, err = native.xml_parse(text);
	if not el then return nil, err; end
	return to_lom(el);
end

return M;
