-- core.usermanager for plugins: accounts on the host's authentication provider — Lilt's
-- native internal_hashed, or a Lua `mod_auth_<name>` (`authentication` option) — admin
-- checks through the authorization provider (mod_authz_internal) or `admins`, and SASL
-- handlers for plugins that authenticate themselves.

local native = require "lilt.native";
local jid = require "util.jid";

local M = {};

-- The native provider, shaped like a Lua one (`test_password(user, pw)`, ...).
local function native_provider(host)
	return {
		name = "internal_hashed", native = true,
		test_password = function(u, pw) return native.test_password(host, u, pw); end,
		user_exists = function(u) return native.user_exists(host, u); end,
		create_user = function(u, pw)
			local ok, err = pcall(native.create_user, host, u, pw);
			if not ok then return nil, err; end
			return true;
		end,
		set_password = function(u, pw)
			local ok, err = pcall(native.set_password, host, u, pw);
			if not ok then return nil, err; end
			return true;
		end,
		delete_user = function(u)
			local ok, err = pcall(native.delete_user, host, u);
			if not ok then return nil, err; end
			return true;
		end,
		users = function() return require "util.datamanager".users(host, "accounts", "keyval"); end,
	};
end

-- The `auth-provider` a loaded mod_auth_<authentication> module gave, if it is Lua.
function M.get_provider(host)
	local name = native.config(host or "*", "authentication") or "internal_hashed";
	if name ~= "internal_hashed" and name ~= "internal_plain" then
		local mm = package.loaded["core.modulemanager"];
		local mod = mm and mm.get_module(host, "auth_" .. name);
		local items = mod and rawget(mod, "items") and mod.items["auth-provider"];
		if items and items[1] then return items[1]; end
	end
	return native_provider(host);
end

local function call(host, method, ...)
	local provider = M.get_provider(host);
	local f = provider[method];
	if not f then return nil, "method not implemented"; end
	return f(...);
end

function M.user_exists(username, host) return call(host, "user_exists", username); end
function M.test_password(username, host, password) return call(host, "test_password", username, password); end
function M.get_password(username, host) return call(host, "get_password", username); end
function M.create_user(username, password, host) return call(host, "create_user", username, password); end
function M.set_password(username, password, host, resource)
	local ok, err = call(host, "set_password", username, password);
	if ok then
		prosody.events.fire_event("user-password-changed", { username = username, host = host, resource = resource });
	end
	return ok, err;
end
function M.delete_user(username, host)
	local ok, err = call(host, "delete_user", username);
	if ok then prosody.events.fire_event("user-deleted", { username = username, host = host }); end
	return ok, err;
end
function M.users(host)
	local provider = M.get_provider(host);
	if not provider.users then return function() end; end
	return provider.users();
end

-- A util.sasl handler for `host`: the provider's own, or one checking passwords through it.
function M.get_sasl_handler(host, session)
	local provider = M.get_provider(host);
	if provider.get_sasl_handler then return provider.get_sasl_handler(session); end
	local profile = {
		plain_test = function(_, username, password)
			return M.test_password(username, host, password) == true, true;
		end,
	};
	if provider.get_password then
		profile.plain = function(_, username)
			return provider.get_password(username), true;
		end;
	end
	return require "util.sasl".new(host, profile);
end

function M.initialize_host() end

local function admins(host)
	local list = native.config(host or "*", "admins");
	if type(list) ~= "table" then return {}; end
	return list;
end

-- The authorization provider of a host (`authorization`, default "internal"): a loaded
-- mod_authz_* Lua module's environment, as Prosody's usermanager uses it.
local function authz(host)
	if not host then return nil; end
	local name = native.config(host, "authorization") or "internal";
	local h = prosody.hosts[host];
	local mod = h and rawget(h.modules, "authz_" .. name);
	if mod and not rawget(mod, "native") then return mod; end
	return nil;
end

local function config_admin(bare, host)
	for _, a in ipairs(admins("*")) do if jid.prep(a) == bare then return true; end end
	if host then
		for _, a in ipairs(admins(host)) do if jid.prep(a) == bare then return true; end end
	end
	return false;
end

function M.get_roles(user_jid, host)
	local bare = jid.bare(jid.prep(user_jid) or user_jid);
	local provider = authz(host);
	if provider then
		local node, jhost = jid.split(bare);
		if jhost == host and node and provider.get_user_roles then
			return provider.get_user_roles(node);
		end
		if provider.get_jid_roles then return provider.get_jid_roles(bare); end
	end
	if bare and config_admin(bare, host) then return { ["prosody:admin"] = true }; end
	return nil;
end

function M.is_admin(user_jid, host)
	local bare = jid.bare(jid.prep(user_jid) or user_jid);
	if not bare then return false; end
	if authz(host) then
		local roles = M.get_roles(bare, host);
		return roles and roles["prosody:admin"] == true or false;
	end
	return config_admin(bare, host);
end

function M.set_roles(user_jid, host, roles)
	local provider = authz(host);
	if not provider then return nil, "no authorization provider"; end
	local node, jhost = jid.split(user_jid);
	local ok;
	if node and jhost == host and provider.set_user_roles then
		ok = provider.set_user_roles(node, roles);
	elseif provider.set_jid_roles then
		ok = provider.set_jid_roles(user_jid, roles);
	end
	if ok then
		prosody.events.fire_event("user-roles-changed", { username = node, host = jhost });
	end
	return ok;
end

function M.get_users_with_role(role, host)
	local provider = authz(host);
	if provider and provider.get_users_with_role then return provider.get_users_with_role(role); end
	local list = {};
	if role == "prosody:admin" then
		for _, a in ipairs(admins(host)) do
			local node, jhost = jid.split(jid.prep(a) or a);
			if jhost == host and node then list[#list + 1] = node; end
		end
	end
	return list;
end

function M.get_jids_with_role(role, host)
	local provider = authz(host);
	if provider and provider.get_jids_with_role then return provider.get_jids_with_role(role); end
	local list = {};
	if role == "prosody:admin" then
		for _, a in ipairs(admins(host)) do list[#list + 1] = jid.prep(a) or a; end
	end
	return list;
end


return M;
