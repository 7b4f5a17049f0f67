-- util.stanza (reference §3.1): Prosody's stanza objects — tables with `name`, `attr`,
-- `tags`, children in the array part — with the builder, query and serialisation API.

local native = require "lilt.native";

local t_insert, t_remove, t_concat = table.insert, table.remove, table.concat;
local s_format = string.format;
local type, ipairs, pairs, setmetatable, tostring = type, ipairs, pairs, setmetatable, tostring;

local xmlns_stanzas = "urn:ietf:params:xml:ns:xmpp-stanzas";
local xmlns_xml = "http://www.w3.org/XML/1998/namespace";

local stanza_mt = { __name = "stanza" };
stanza_mt.__index = stanza_mt;

local function check_name(name, what)
	if type(name) ~= "string" then
		error("invalid " .. what .. " name: expected string, got " .. type(name), 3);
	end
	if name:find("[<>& '\"%c]") or not utf8.len(name) then
		error("invalid " .. what .. " name: " .. s_format("%q", name), 3);
	end
end

local function check_text(text, what)
	if type(text) ~= "string" then
		error("invalid " .. what .. ": expected string, got " .. type(text), 3);
	end
	if not utf8.len(text) or text:find("[%z\1-\8\11\12\14-\31]") then
		error("invalid " .. what .. ": " .. s_format("%q", text), 3);
	end
end

local function check_attr(attr)
	if attr == nil then return; end
	if type(attr) ~= "table" then error("invalid attributes: expected table", 3); end
	for k, v in pairs(attr) do
		if type(k) ~= "string" then error("invalid attribute name", 3); end
		check_text(k, "attribute name");
		check_text(v, "attribute value");
	end
end

local function new_stanza(name, attr, namespaces)
	check_name(name, "tag");
	check_attr(attr);
	return setmetatable({ name = name, attr = attr or {}, namespaces = namespaces, tags = {} }, stanza_mt);
end

local function is_stanza(s)
	return getmetatable(s) == stanza_mt;
end

function stanza_mt:query(xmlns)
	return self:tag("query", { xmlns = xmlns });
end

function stanza_mt:body(text, attr)
	return self:text_tag("body", text, attr);
end

function stanza_mt:text_tag(name, text, attr, namespaces)
	return self:tag(name, attr, namespaces):text(text):up();
end

function stanza_mt:tag(name, attr, namespaces)
	local s = new_stanza(name, attr, namespaces);
	local last = self.last_add;
	if not last then last = {}; self.last_add = last; end
	(last[#last] or self):add_direct_child(s);
	t_insert(last, s);
	return self;
end

function stanza_mt:text(text)
	if text ~= nil and text ~= "" then
		check_text(text, "text");
		local last = self.last_add;
		(last and last[#last] or self):add_direct_child(text);
	end
	return self;
end

function stanza_mt:up()
	local last = self.last_add;
	if last then t_remove(last); end
	return self;
end

function stanza_mt:at_top()
	return self.last_add == nil or #self.last_add == 0;
end

function stanza_mt:reset()
	self.last_add = nil;
	return self;
end

function stanza_mt:add_direct_child(child)
	if is_stanza(child) then
		t_insert(self.tags, child);
		t_insert(self, child);
	elseif type(child) == "string" then
		check_text(child, "text");
		t_insert(self, child);
	else
		error("invalid child: " .. tostring(child), 2);
	end
end

function stanza_mt:add_child(child)
	local last = self.last_add;
	(last and last[#last] or self):add_direct_child(child);
	return self;
end

function stanza_mt:remove_children(name, xmlns)
	xmlns = xmlns or self.attr.xmlns;
	return self:maptags(function(tag)
		if (not name or tag.name == name) and tag.attr.xmlns == xmlns then
			return nil;
		end
		return tag;
	end);
end

function stanza_mt:get_child(name, xmlns)
	for _, child in ipairs(self.tags) do
		if (not name or child.name == name)
			and ((not xmlns and self.attr.xmlns == child.attr.xmlns) or child.attr.xmlns == xmlns) then
			return child;
		end
	end
	return nil;
end

function stanza_mt:get_child_text(name, xmlns)
	local tag = self:get_child(name, xmlns);
	if tag then return tag:get_text(); end
	return nil;
end

function stanza_mt:get_child_with_attr(name, xmlns, attr_name, attr_value, normalize)
	for tag in self:childtags(name, xmlns) do
		local v = tag.attr[attr_name];
		if normalize and v then v = normalize(v); end
		if v == attr_value then return tag; end
	end
end

function stanza_mt:child_with_name(name)
	for _, child in ipairs(self.tags) do
		if child.name == name then return child; end
	end
end

function stanza_mt:child_with_ns(ns)
	for _, child in ipairs(self.tags) do
		if child.attr.xmlns == ns then return child; end
	end
end

function stanza_mt:children()
	local i = 0;
	return function()
		i = i + 1;
		return self[i];
	end;
end

function stanza_mt:childtags(name, xmlns)
	local tags = self.tags;
	local i, n = 0, #tags;
	return function()
		while i < n do
			i = i + 1;
			local v = tags[i];
			if (not name or v.name == name)
				and ((not xmlns and self.attr.xmlns == v.attr.xmlns) or v.attr.xmlns == xmlns) then
				return v;
			end
		end
	end;
end

function stanza_mt:maptags(callback)
	local tags, curr_tag = self.tags, 1;
	local n_children, n_tags = #self, #tags;
	local max_iterations = n_children + 1;
	local i = 1;
	while curr_tag <= n_tags and n_tags > 0 do
		if self[i] == tags[curr_tag] then
			local ret = callback(self[i]);
			if ret == nil then
				t_remove(self, i);
				t_remove(tags, curr_tag);
				n_children = n_children - 1;
				n_tags = n_tags - 1;
				i = i - 1;
				curr_tag = curr_tag - 1;
			else
				self[i] = ret;
				tags[curr_tag] = ret;
			end
			curr_tag = curr_tag + 1;
		end
		i = i + 1;
		if i > max_iterations then break; end
	end
	return self;
end

function stanza_mt:find(path)
	local pos = 1;
	local len = #path + 1;
	repeat
		local xmlns, name, text;
		local char = path:sub(pos, pos);
		if char == "@" then
			return self.attr[path:sub(pos + 1)];
		elseif char == "{" then
			xmlns, pos = path:match("^([^}]+)}()", pos + 1);
		end
		name, text, pos = path:match("^([^@/#]*)([/#]?)()", pos);
		name = name ~= "" and name or nil;
		if pos == len then
			if text == "#" then
				local child = self:get_child(name, xmlns);
				return child and child:get_text();
			end
			return self:get_child(name, xmlns);
		end
		self = self:get_child(name, xmlns);
	until not self;
	return nil;
end

function stanza_mt:get_text()
	if #self.tags == 0 then
		return t_concat(self);
	end
	return nil;
end

function stanza_mt:get_error()
	local error_type, condition, text, extra_tag;
	local err = self:get_child("error");
	if not err then return nil, nil, nil, nil; end
	error_type = err.attr.type;
	for _, child in ipairs(err.tags) do
		if child.attr.xmlns == xmlns_stanzas then
			if not text and child.name == "text" then
				text = child:get_text();
			elseif not condition then
				condition = child.name;
			end
		else
			extra_tag = child;
		end
		if condition and text and extra_tag then break; end
	end
	return error_type, condition or "undefined-condition", text, extra_tag;
end

-- Serialisation -------------------------------------------------------------------------

local escape_table = { ["'"] = "&apos;", ["\""] = "&quot;", ["<"] = "&lt;", [">"] = "&gt;", ["&"] = "&amp;" };
local function xml_escape(str)
	return (str:gsub("['&<>\"]", escape_table));
end

local function serialize(tag, buf, parent_ns)
	local name = tag.name;
	buf[#buf + 1] = "<" .. name;
	local ns = tag.attr.xmlns;
	local keys = {};
	for k in pairs(tag.attr) do keys[#keys + 1] = k; end
	table.sort(keys);
	for _, k in ipairs(keys) do
		local v = tag.attr[k];
		if k == "xmlns" then
			if v ~= parent_ns then buf[#buf + 1] = " xmlns='" .. xml_escape(v) .. "'"; end
		else
			local attr_ns, local_name = k:match("^([^\1]*)\1(.*)$");
			if attr_ns == xmlns_xml then
				k = "xml:" .. local_name;
			elseif attr_ns then
				k = local_name;
			end
			buf[#buf + 1] = " " .. k .. "='" .. xml_escape(v) .. "'";
		end
	end
	if #tag == 0 then
		buf[#buf + 1] = "/>";
		return;
	end
	buf[#buf + 1] = ">";
	for _, child in ipairs(tag) do
		if type(child) == "string" then
			buf[#buf + 1] = xml_escape(child);
		else
			serialize(child, buf, ns or parent_ns);
		end
	end
	buf[#buf + 1] = "</" .. name .. ">";
end

function stanza_mt:__tostring()
	local buf = {};
	serialize(self, buf, nil);
	return t_concat(buf);
end

function stanza_mt:top_tag()
	local buf = {};
	serialize(setmetatable({ name = self.name, attr = self.attr, tags = {} }, stanza_mt), buf, nil);
	local s = t_concat(buf);
	return (s:gsub("/>$", ">"));
end

function stanza_mt:pretty_print()
	return tostring(self);
end
stanza_mt.pretty_top_tag = stanza_mt.top_tag;

function stanza_mt:indent(level, indent)
	return self;
end

-- Copying and conversion ----------------------------------------------------------------

local function clone(s, only_top)
	local attr = {};
	for k, v in pairs(s.attr) do attr[k] = v; end
	local ns;
	if s.namespaces then ns = {}; for k, v in pairs(s.namespaces) do ns[k] = v; end end
	local new = setmetatable({ name = s.name, attr = attr, namespaces = ns, tags = {} }, stanza_mt);
	if not only_top then
		for _, child in ipairs(s) do
			if type(child) == "table" then
				child = clone(child);
				t_insert(new.tags, child);
			end
			t_insert(new, child);
		end
	end
	return new;
end

local function preserialize(s)
	local attr = {};
	for k, v in pairs(s.attr) do attr[k] = v; end
	local t = { name = s.name, attr = attr };
	for _, child in ipairs(s) do
		t[#t + 1] = type(child) == "table" and preserialize(child) or child;
	end
	return t;
end

local function deserialize(t)
	if not t then return nil; end
	local s = new_stanza(t.name, nil);
	for k, v in pairs(t.attr or {}) do s.attr[k] = v; end
	for _, child in ipairs(t) do
		if type(child) == "table" then
			child = deserialize(child);
			t_insert(s.tags, child);
		end
		t_insert(s, child);
	end
	return s;
end

-- Constructors ------------------------------------------------------------------------------

local function message(attr, body)
	local m = new_stanza("message", attr);
	if body then m:text_tag("body", body); end
	return m;
end

local function iq(attr)
	if not attr then error("iq stanzas require id and type attributes", 2); end
	if not attr.id then error("iq stanzas require an id attribute", 2); end
	if not attr.type then error("iq stanzas require a type attribute", 2); end
	return new_stanza("iq", attr);
end

local function presence(attr)
	return new_stanza("presence", attr);
end

local function reply(orig)
	if not is_stanza(orig) then error("bad argument to reply: expected stanza", 2); end
	local attr = { to = orig.attr.from, from = orig.attr.to, id = orig.attr.id };
	if orig.name == "iq" then
		attr.type = "result";
	else
		attr.type = orig.attr.type;
	end
	return new_stanza(orig.name, attr);
end

local function error_reply(orig, error_type, condition, text, by)
	if type(error_type) == "table" and error_type.type then
		local err = error_type;
		error_type, condition, text = err.type, err.condition, err.text;
		by = by or (err.context and err.context.by);
	end
	if orig.attr.type == "error" then
		error("bad argument to error_reply: got stanza of type error which must not be replied to", 2);
	end
	local t = reply(orig);
	t.attr.type = "error";
	if by == t.attr.from then by = nil; end
	t:tag("error", { type = error_type, by = by })
		:tag(condition or "undefined-condition", { xmlns = xmlns_stanzas }):up();
	if text then
		t:text_tag("text", text, { xmlns = xmlns_stanzas });
	end
	return t;
end

native.set_stanza_mt(stanza_mt);

return {
	stanza_mt = stanza_mt,
	stanza = new_stanza,
	is_stanza = is_stanza,
	message = message,
	iq = iq,
	presence = presence,
	reply = reply,
	error_reply = error_reply,
	clone = clone,
	preserialize = preserialize,
	deserialize = deserialize,
	xml_escape = xml_escape,
	pretty_print = tostring,
};
