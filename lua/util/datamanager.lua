-- util.datamanager for plugins: per-user data files the way Prosody's internal storage
-- names them (`data_path/<host>/<store>/<user>.dat`, `.list`), reached through Lilt's
-- store API so the files are the ones `module:open_store` and the native modules use.

local native = require "lilt.native";

local M = {};

local function encode(s)
	return s and (s:gsub("%W", function(c) return string.format("%%%02x", c:byte()); end));
end
local function decode(s)
	return s and (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)); end));
end
-- Store names keep `_` (they were historically written unencoded).
local function store_encode(s)
	return (s:gsub("[^%w_]", function(c) return string.format("%%%02x", c:byte()); end));
end
M.path_encode, M.path_decode = encode, decode;

local data_path = select(3, native.paths()) or "data";
function M.set_data_path(path) data_path = path; end
function M.get_data_path() return data_path; end

local callbacks = {};
function M.add_callback(f) callbacks[#callbacks + 1] = f; return f; end
function M.remove_callback(f)
	for i = #callbacks, 1, -1 do if callbacks[i] == f then table.remove(callbacks, i); end end
end

-- Callbacks may veto a write (false) or change what is written (Prosody's contract).
local function run_callbacks(username, host, store, data)
	for _, f in ipairs(callbacks) do
		local u, h, s, d = f(username, host, store, data);
		if u == false then return false; end
		username, host, store, data = u or username, h or host, s or store, d or data;
	end
	return username, host, store, data;
end

function M.getpath(username, host, store, ext, create)
	ext = ext or "dat";
	local dir = data_path .. "/" .. (host and encode(host) or "_global") .. "/" .. store_encode(store);
	if create then native.mkdir_p(dir); end
	if username then return dir .. "/" .. encode(username) .. "." .. ext; end
	return dir;
end

function M.load(username, host, store)
	local data, err = native.store_get(host, username, store);
	if err then return nil, err; end
	return data;
end

function M.store(username, host, store, data)
	if data ~= nil and next(data) == nil then data = nil; end
	local u, h, s, d = run_callbacks(username, host, store, data);
	if u == false then return true; end
	if d == nil then d = {}; end
	local ok, err = native.store_set(h, u, s, d);
	if not ok then return nil, err; end
	return true;
end

function M.list_load(username, host, store)
	local ok, items = pcall(native.archive_list, host, username, store);
	if not ok then return nil, items; end
	if #items == 0 then return nil; end
	return items;
end

function M.list_store(username, host, store, data)
	local ok, err = pcall(native.archive_replace, host, username, store, data or {});
	if not ok then return nil, err; end
	return true;
end

function M.list_append(username, host, store, data)
	local ok, err = pcall(native.archive_append, host, username, store, data);
	if not ok then return nil, err; end
	return true;
end

-- The users with a file in a store: iterates decoded usernames.
function M.users(host, store, typ)
	local ext = "." .. ((typ == "list" or typ == "archive") and "list" or "dat");
	local dir = data_path .. "/" .. encode(host) .. "/" .. store_encode(store or "accounts");
	local names = native.list_dir(dir) or {};
	local i = 0;
	return function()
		while true do
			i = i + 1;
			local name = names[i];
			if not name then return nil; end
			if name:sub(-#ext) == ext then return decode(name:sub(1, -#ext - 1)); end
		end
	end;
end

-- Which stores hold data for `username` (nil: any user) on `host`.
function M.stores(username, host, typ)
	local base = data_path .. "/" .. encode(host);
	local list = {};
	for _, store in ipairs(native.list_dir(base) or {}) do
		if username == true or username == nil then
			list[#list + 1] = decode(store);
		else
			local ext = (typ == "list" or typ == "archive") and ".list" or ".dat";
			for _, file in ipairs(native.list_dir(base .. "/" .. store) or {}) do
				if file == encode(username) .. ext then list[#list + 1] = decode(store); break; end
			end
		end
	end
	return list;
end

function M.purge(username, host)
	for _, store in ipairs(M.stores(username, host, "keyval")) do
		native.store_set(host, username, store, {});
	end
	for _, store in ipairs(M.stores(username, host, "list")) do
		pcall(native.archive_replace, host, username, store, {});
	end
	return true;
end

return M;
