-- util.sasl: server-side SASL for plugins (auth providers' `get_sasl_handler`). A handler
-- is made from a realm and a profile of callbacks (`plain_test`, `plain`, `scram_sha_1`,
-- `scram_sha_256`, `anonymous`, `external`); it offers the mechanisms its profile can
-- back, and `process(message)` returns "challenge"|"success"|"failure" with the data or
-- the error condition (and a text).

local set = require "util.set";

local M = {};

local mechanisms = {};          -- name -> process function
local backend_mechanisms = {};  -- profile field -> list of mechanism names
local mechanism_channel_binding = {};

function M.registerMechanism(name, backends, f, cb_backends)
	if type(backends) == "string" then backends = { backends }; end
	mechanisms[name] = f;
	for _, backend in ipairs(backends) do
		local list = backend_mechanisms[backend];
		if not list then list = {}; backend_mechanisms[backend] = list; end
		list[#list + 1] = name;
	end
	if cb_backends then mechanism_channel_binding[name] = cb_backends; end
end

local method = {};
method.__index = method;

function M.new(realm, profile)
	local allowed = {};
	for backend in pairs(profile) do
		for _, mech in ipairs(backend_mechanisms[backend] or {}) do allowed[mech] = true; end
	end
	-- Not offered by their defining profile key, but by anything that can check a password.
	if profile.plain or profile.plain_test then allowed.PLAIN = mechanisms.PLAIN and true or nil; end
	return setmetatable({ profile = profile, realm = realm, mechs = allowed }, method);
end

function method:clean_clone()
	return M.new(self.realm, self.profile);
end

function method:mechanisms()
	local list = {};
	local disabled = self.profile.disabled_mechanisms or {};
	for mech in pairs(self.mechs) do
		if not (set.is_set(disabled) and disabled:contains(mech) or disabled[mech]) then
			local cb = mechanism_channel_binding[mech];
			if not cb or (self.profile.cb and next(self.profile.cb)) then list[mech] = true; end
		end
	end
	return list;
end

function method:select(mechanism)
	if not self.selected and self:mechanisms()[mechanism] then
		self.selected = mechanism;
		return true;
	end
	return false;
end

function method:process(message)
	local f = self.selected and mechanisms[self.selected];
	if not f then return "failure", "invalid-mechanism"; end
	return f(self, message);
end

function method:add_cb_handler(name, f)
	self.profile.cb = self.profile.cb or {};
	self.profile.cb[name] = f;
	return self;
end

M.method = method;

require "util.sasl.plain".init(M.registerMechanism);
require "util.sasl.anonymous".init(M.registerMechanism);
require "util.sasl.scram".init(M.registerMechanism);
require "util.sasl.external".init(M.registerMechanism);

return M;
