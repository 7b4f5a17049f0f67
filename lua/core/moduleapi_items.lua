-- Module items (`add_item`, `provides`, disco features and identities) and module status
-- and statistics.

local native = require "lilt.native";

return function(api, M)

-- Items -------------------------------------------------------------------------------

function api:add_item(key, value)
	local list = self.items[key];
	if not list then list = {}; self.items[key] = list; end
	list[#list + 1] = value;
	self:fire_event("item-added/" .. key, { source = self, item = value });
end

function api:remove_item(key, value)
	local list = self.items[key];
	if not list then return; end
	for i = #list, 1, -1 do
		if list[i] == value then
			table.remove(list, i);
			self:fire_event("item-removed/" .. key, { source = self, item = value });
			return value;
		end
	end
end

function api:get_host_items(key)
	local result = {};
	for _, host in ipairs({ self.host, "*" }) do
		local mods = M._manager.modulemap[host] or {};
		for _, mod in pairs(mods) do
			for _, item in ipairs(rawget(mod, "items") and mod.items[key] or {}) do
				result[#result + 1] = item;
			end
		end
		if self.host == "*" then break; end
	end
	return result;
end

function api:handle_items(key, added, removed, existing)
	self:hook("item-added/" .. key, added);
	self:hook("item-removed/" .. key, removed);
	if existing ~= false then
		for _, item in ipairs(self:get_host_items(key)) do
			added({ item = item });
		end
	end
end

function api:provides(kind, item)
	if not item then
		item = setmetatable({}, { __index = self.environment });
	end
	if item.name == nil then
		local name = self.name;
		if name:sub(1, #kind + 1) == kind .. "_" then name = name:sub(#kind + 2); end
		item.name = name;
	end
	item._provided_by = self.name;
	if kind == "http" then
		require "core.http".register(self, item);
	end
	self:add_item(kind .. "-provider", item);
end

-- disco#info items also reach the native disco module's feature list.
function api:add_feature(xmlns)
	self:add_item("feature", xmlns);
	if self.host ~= "*" then native.add_feature(self.host, xmlns, true); end
end

function api:add_identity(category, type_, name)
	self:add_item("identity", { category = category, type = type_, name = name });
	if self.host ~= "*" then native.add_identity(self.host, category, type_, name); end
end

-- disco#info extensions (XEP-0128 forms) also reach the native disco reply.
function api:add_extension(data)
	self:add_item("extension", data);
	if self.host ~= "*" then native.add_extension(self.host, data, true); end
end

-- Status and statistics --------------------------------------------------------------------

function api:set_status(status_type, message, override)
	self.status_type, self.status_message = status_type, message;
	self:fire_event("module-status/updated", { name = self.name });
end
function api:log_status(level, fmt, ...)
	local msg = string.format(fmt, ...);
	self:log(level, "%s", msg);
	self:set_status(level == "error" and "error" or level == "warn" and "warn" or "info", msg);
end
function api:get_status()
	return self.status_type, self.status_message;
end

-- Statistics go to Lilt's OpenMetrics registry (core.metrics), named as in Prosody 0.12:
-- `prosody_mod_<module>/<name>`, with a leading `host` label for host modules.
function api:measure(name, kind, conf)
	self:add_item("measure", { name = name, type = kind, conf = conf });
	local key, value;
	if self.host ~= "*" then key, value = "host", self.host; end
	return require "core.metrics".measure(kind, "mod_" .. self.name .. "/" .. name, conf, key, value);
end

function api:metric(kind, name, unit, description, label_keys, conf)
	local scoped = self.host ~= "*";
	if scoped then label_keys = { "host", table.unpack(label_keys or {}) }; end
	local mf = require "core.metrics".metric(kind, "prosody_mod_" .. self.name .. "/" .. name,
		unit, description, label_keys, conf);
	self:add_item("metric", { name = name, mf = mf });
	if scoped then return mf:with_partial_label(self.host); end
	return mf;
end

end;
