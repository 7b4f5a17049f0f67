-- util.dataforms: XEP-0004 data forms from a layout table — render a form (or a result)
-- as <x xmlns='jabber:x:data'/>, read submitted values back with type conversion.

local st = require "util.stanza";

local xmlns_forms = "jabber:x:data";

local M = {};
local form_mt = {};
form_mt.__index = form_mt;

function M.new(layout)
	return setmetatable(layout, form_mt);
end

local function add_value(x, value)
	x:text_tag("value", tostring(value));
end

function form_mt:form(data, formtype)
	formtype = formtype or "form";
	local x = st.stanza("x", { xmlns = xmlns_forms, type = formtype });
	if formtype == "form" or formtype == "result" then
		if self.title then x:text_tag("title", self.title); end
		if self.instructions then x:text_tag("instructions", self.instructions); end
	end
	for _, field in ipairs(self) do
		local field_type = field.type or "text-single";
		x:tag("field", { type = formtype ~= "submit" and field_type or nil, var = field.var or field.name,
			label = formtype ~= "submit" and field.label or nil });
		if formtype == "form" and field.desc then x:text_tag("desc", field.desc); end
		local value = data and data[field.name];
		if value == nil then value = field.value; end
		if value ~= nil then
			if field_type == "boolean" then
				add_value(x, (value == true or value == "1" or value == "true") and "1" or "0");
			elseif field_type == "text-multi" and type(value) == "string" then
				for line in (value .. "\n"):gmatch("([^\n]*)\n") do add_value(x, line); end
			elseif type(value) == "table" then
				for _, v in ipairs(value) do
					if type(v) == "table" then
						if v.default then add_value(x, v.value or v.label); end
					else
						add_value(x, v);
					end
				end
			else
				add_value(x, value);
			end
		end
		if formtype == "form" and field.options then
			for _, option in ipairs(field.options) do
				local label, value_ = option, option;
				if type(option) == "table" then label, value_ = option.label, option.value; end
				x:tag("option", { label = label }):text_tag("value", value_):up();
			end
		end
		if formtype == "form" and field.required then x:tag("required"):up(); end
		x:up();
	end
	return x;
end

local readers = {
	["boolean"] = function(values)
		local v = values[1];
		if v == "1" or v == "true" then return true; end
		if v == "0" or v == "false" then return false; end
		return nil, "Invalid boolean representation";
	end,
	["text-multi"] = function(values) return table.concat(values, "\n"); end,
	["list-multi"] = function(values) return values; end,
	["jid-multi"] = function(values) return values; end,
};

function form_mt:data(stanza)
	local data, errors, present = {}, nil, {};
	if not stanza then return data; end
	for _, field in ipairs(self) do
		local tag;
		for f in stanza:childtags("field") do
			if f.attr.var == (field.var or field.name) then tag = f; break; end
		end
		if tag then
			local values = {};
			for v in tag:childtags("value") do values[#values + 1] = v:get_text(); end
			local read = readers[field.type or "text-single"];
			local value, err;
			if read then
				value, err = read(values);
			else
				value = values[1];
			end
			if err then
				errors = errors or {};
				errors[field.name] = err;
			else
				data[field.name] = value;
				present[field.name] = true;
			end
		elseif field.required then
			errors = errors or {};
			errors[field.name] = "Required value missing";
		end
	end
	return data, errors, present;
end

function M.get_type(stanza)
	if not stanza then return nil; end
	for f in stanza:childtags("field") do
		if f.attr.var == "FORM_TYPE" then return f:get_child_text("value"); end
	end
	return nil;
end

return M;
