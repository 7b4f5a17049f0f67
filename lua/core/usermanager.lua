-- core.usermanager for plugins: accounts on Lilt's auth backend, and admin checks
-- from the `admins` option.

local native = require "lilt.native";
local jid = require "util.jid";

local M = {};

function M.user_exists(username, host) return native.user_exists(host, username); end
function M.test_password(username, host, password) return native.test_password(host, username, password); end
function M.create_user(username, password, host)
	local ok, err = pcall(native.create_user, host, username, password);
	if not ok then return nil, err; end
	return true;
end
function M.set_password(username, password, host)
	local ok, err = pcall(native.set_password, host, username, password);
	if not ok then return nil, err; end
	return true;
end
function M.delete_user(username, host)
	local ok, err = pcall(native.delete_user, host, username);
	if not ok then return nil, err; end
	return true;
end

local function admins(host)
	local list = native.config(host or "*", "admins");
	if type(list) ~= "table" then return {}; end
	return list;
end

function M.is_admin(user_jid, host)
	local bare = jid.bare(jid.prep(user_jid) or user_jid);
	if not bare then return false; end
	for _, a in ipairs(admins("*")) do if jid.prep(a) == bare then return true; end end
	if host then
		for _, a in ipairs(admins(host)) do if jid.prep(a) == bare then return true; end end
	end
	return false;
end

function M.get_provider(host)
	return { name = "internal_hashed" };
end

return M;
