-- util.sasl.external: RFC 4422 EXTERNAL, the identity established by the transport
-- (a client certificate); the profile's `external` callback decides.

local saslprep = require "util.encodings".stringprep.saslprep;

local M = {};

local function process(self, message)
	message = message and saslprep(message);
	if not message then return "failure", "malformed-request"; end
	local ok, err_or_user, text = self.profile.external(self, message);
	if not ok then return "failure", err_or_user or "not-authorized", text; end
	if type(err_or_user) == "string" then self.username = err_or_user; end
	return "success";
end

function M.init(register)
	register("EXTERNAL", { "external" }, process);
end

return M;
