-- `module:get_option*` (reference §2.5): raw values with the host falling back to the
-- global section, and the typed getters with Prosody 0.12's coercions and error logs.

local native = require "lilt.native";
local set = require "util.set";
local array = require "util.array";

return function(api)

-- Options (§2.5) ------------------------------------------------------------------------

function api:get_option(name, default)
	local v = native.config(self.host, name);
	if v == nil then return default; end
	return v;
end

function api:get_option_scalar(name, default)
	local v = self:get_option(name, default);
	if type(v) == "table" then
		if #v > 1 then
			self:log("error", "Config option '%s' does not take a list, using just the first item", name);
		end
		v = v[1];
	end
	return v;
end

function api:get_option_string(name, default)
	local v = self:get_option_scalar(name, default);
	if v == nil then return nil; end
	return tostring(v);
end

function api:get_option_number(name, ...)
	local v = self:get_option_scalar(name, ...);
	local n = tonumber(v);
	if v ~= nil and n == nil then
		self:log("error", "Config option '%s' not understood, expecting a number", name);
	end
	return n;
end

function api:get_option_boolean(name, ...)
	local v = self:get_option_scalar(name, ...);
	if v == nil then return nil; end
	if v == true or v == "true" or v == 1 then return true; end
	if v == false or v == "false" or v == 0 then return false; end
	self:log("error", "Config option '%s' not understood, expecting true/false", name);
	return nil;
end

function api:get_option_array(name, ...)
	local v = self:get_option(name, ...);
	if v == nil then return nil; end
	if type(v) ~= "table" then return array{ v }; end
	return array(v);
end

function api:get_option_set(name, ...)
	local v = self:get_option_array(name, ...);
	if v == nil then return nil; end
	return set.new(v);
end

function api:get_option_inherited_set(name, ...)
	local value = self:get_option_set(name, ...);
	local global_value = native.config("*", name);
	if self.host == "*" or global_value == nil then return value; end
	local g = set.new(type(global_value) == "table" and global_value or { global_value });
	if not value then return g; end
	return value + g;
end

function api:get_option_path(name, default, parent)
	local v = self:get_option_string(name, default);
	if v == nil then return nil; end
	if v:sub(1, 1) == "/" then return v; end
	local base = parent and prosody.paths[parent] or self._dir or prosody.paths.config;
	return base .. "/" .. v;
end

end;
