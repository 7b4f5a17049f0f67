-- util.sasl.anonymous: RFC 4505. The profile's `anonymous` callback accepts a generated
-- username (a random one is offered until it is free).

local id = require "util.id";

local M = {};

local function process(self)
	local username;
	repeat
		username = id.medium():lower();
	until self.profile.anonymous(self, username, self.realm);
	self.username = username;
	return "success";
end

function M.init(register)
	register("ANONYMOUS", { "anonymous" }, process);
end

return M;
