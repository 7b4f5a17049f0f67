-- core.storagemanager for plugins (`module:open_store`): keyval, map and archive stores
-- on Lilt's internal storage driver (Prosody's .dat/.list layout).

local native = require "lilt.native";
local st = require "util.stanza";
local id = require "util.id";

local M = {};

local keyval_mt = {};
keyval_mt.__index = keyval_mt;

function keyval_mt:get(user)
	return native.store_get(self.host, user, self.store);
end
function keyval_mt:set(user, data)
	return native.store_set(self.host, user, self.store, data);
end
-- Users with data in the store: the internal driver's files, as Prosody lists them.
function keyval_mt:users()
	return require "util.datamanager".users(self.host, self.store, "keyval");
end

local map_mt = {};
map_mt.__index = map_mt;

function map_mt:get(user, key)
	local data, err = native.store_get(self.host, user, self.store);
	if not data then return nil, err; end
	return data[key];
end
function map_mt:set(user, key, value)
	local data = native.store_get(self.host, user, self.store) or {};
	data[key] = value;
	return native.store_set(self.host, user, self.store, data);
end
function map_mt:set_keys(user, keys)
	local data = native.store_get(self.host, user, self.store) or {};
	for k, v in pairs(keys) do
		if v == M.remove then data[k] = nil else data[k] = v end
	end
	return native.store_set(self.host, user, self.store, data);
end
-- { [user] = value } for every user whose map has `key` (used for role lookups).
function map_mt:get_all(key)
	local result;
	for user in require "util.datamanager".users(self.host, self.store, "keyval") do
		local data = native.store_get(self.host, user, self.store);
		if data and data[key] ~= nil then
			result = result or {};
			result[user] = data[key];
		end
	end
	return result;
end
map_mt.users = keyval_mt.users;
M.remove = {};

local archive_mt = {};
archive_mt.__index = archive_mt;

-- Items are stored as Prosody's internal driver does: the stanza preserialised with
-- `key`, `when` and `with` fields.
function archive_mt:append(user, key, value, when, with)
	key = key or id.medium();
	when = when or os.time();
	with = with or "";
	local item;
	if st.is_stanza(value) then
		item = st.preserialize(value);
	else
		item = { value = value };
	end
	item.key, item.when, item.with = key, when, with;
	native.archive_append(self.host, user, self.store, item);
	return key;
end

local function matches(item, q)
	if q.with and item.with ~= q.with then return false; end
	if q.start and item.when < q.start then return false; end
	if q["end"] and item.when > q["end"] then return false; end
	if q.key and item.key ~= q.key then return false; end
	return true;
end

local function decode(item)
	if item.name then
		local copy = {};
		for k, v in pairs(item) do copy[k] = v; end
		copy.key, copy.when, copy.with = nil, nil, nil;
		return st.deserialize(copy);
	end
	return item.value;
end

function archive_mt:find(user, query)
	query = query or {};
	local items = native.archive_list(self.host, user, self.store);
	local selected = {};
	for _, item in ipairs(items) do
		if matches(item, query) then selected[#selected + 1] = item; end
	end
	if query.before or query.after then
		local from, to = 1, #selected;
		for i, item in ipairs(selected) do
			if query.after and item.key == query.after then from = i + 1; end
			if query.before and item.key == query.before then to = i - 1; end
		end
		local sliced = {};
		for i = from, to do sliced[#sliced + 1] = selected[i]; end
		selected = sliced;
	end
	if query.reverse then
		local r = {};
		for i = #selected, 1, -1 do r[#r + 1] = selected[i]; end
		selected = r;
	end
	if query.limit and #selected > query.limit then
		local cut = {};
		for i = 1, query.limit do cut[i] = selected[i]; end
		selected = cut;
	end
	local i = 0;
	return function()
		i = i + 1;
		local item = selected[i];
		if item then return item.key, decode(item), item.when, item.with; end
	end, #selected;
end

function archive_mt:get(user, key)
	for k, value, when, with in self:find(user, { key = key }) do
		return value, when, with;
	end
	return nil, "item-not-found";
end

function archive_mt:delete(user, query)
	query = query or {};
	local items = native.archive_list(self.host, user, self.store);
	local keep = {};
	for _, item in ipairs(items) do
		if next(query) ~= nil and not matches(item, query) then keep[#keep + 1] = item; end
	end
	native.archive_replace(self.host, user, self.store, keep);
	return true;
end

function archive_mt:summary(user, query)
	local counts, earliest, latest = {}, {}, {};
	for _, _, when, with in self:find(user, query) do
		counts[with] = (counts[with] or 0) + 1;
		earliest[with] = earliest[with] or when;
		latest[with] = when;
	end
	return { counts = counts, earliest = earliest, latest = latest };
end

-- Drivers Lilt implements natively; any other `storage` name is a Lua module
-- `mod_storage_<name>` whose `module:provides("storage", driver)` opens the stores.
local native_drivers = { internal = true, sql = true, memory = true, none = true, null = true };

-- The driver name for a store: `storage` as a string, or its per-store map entry
-- (`default_storage` for stores the map does not name).
function M.get_driver_name(host, store)
	local storage = native.config(host, "storage");
	if type(storage) == "table" then
		return storage[store] or native.config(host, "default_storage") or "internal";
	end
	return storage or native.config(host, "default_storage") or "internal";
end

local function lua_driver(host, name)
	local mm = require "core.modulemanager";
	local mod = mm.get_module(host, "storage_" .. name) or mm.get_module("*", "storage_" .. name);
	if not mod then
		local err;
		mod, err = mm.load(host, "storage_" .. name);
		if not mod then return nil, err; end
	end
	local items = rawget(mod, "items") and mod.items["storage-provider"];
	if not items or not items[1] then return nil, "mod_storage_" .. name .. " provides no storage driver"; end
	return items[1];
end

function M.open(host, store, store_type)
	store_type = store_type or "keyval";
	local driver_name = M.get_driver_name(host, store);
	if not native_drivers[driver_name] then
		local driver, err = lua_driver(host, driver_name);
		if not driver then
			native.log("error", host .. ":storagemanager", "Unable to load storage driver '"
				.. driver_name .. "': " .. tostring(err) .. "; the store '" .. store .. "' is unavailable");
			return nil, err;
		end
		return driver:open(store, store_type);
	end
	local mt = ({ keyval = keyval_mt, map = map_mt, archive = archive_mt })[store_type];
	if not mt then return nil, "unsupported-store-type"; end
	return setmetatable({ host = host, store = store, type = store_type }, mt);
end

function M.get_driver(host, store)
	local name = M.get_driver_name(host, store);
	if native_drivers[name] then return { name = name, native = true }; end
	return lua_driver(host, name);
end

-- Pre-0.9 plugins reach the datamanager through here.
M.olddm = require "util.datamanager";

return M;
