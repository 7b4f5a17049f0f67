-- util.sasl.plain: RFC 4616. The message is [authzid] NUL authcid NUL password; the
-- profile checks the password (`plain_test`) or hands it out (`plain`).

local saslprep = require "util.encodings".stringprep.saslprep;
local nodeprep = require "util.encodings".stringprep.nodeprep;

local M = {};

local function process(self, message)
	if not message then return "failure", "malformed-request"; end
	local authorization, authentication, password = message:match("^([^%z]*)%z([^%z]+)%z([^%z]+)$");
	if not authorization then return "failure", "malformed-request"; end
	authentication = saslprep(authentication);
	password = saslprep(password);
	if not authentication or not password then
		return "failure", "malformed-request", "Invalid username or password.";
	end
	local username = nodeprep(authentication);
	if not username or username == "" then
		return "failure", "malformed-request", "Invalid username or password.";
	end
	self.username = username;
	local ok, state;
	if self.profile.plain_test then
		ok, state = self.profile.plain_test(self, username, password, self.realm);
	elseif self.profile.plain then
		local correct;
		correct, state = self.profile.plain(self, username, self.realm);
		ok = correct ~= nil and correct == password;
	end
	if state == false then return "failure", "account-disabled"; end
	if state == nil and ok == nil then return "failure", "not-authorized", "Unable to authorize you with the authentication credentials you've sent."; end
	if not ok then return "failure", "not-authorized", "Unable to authorize you with the authentication credentials you've sent."; end
	return "success";
end

function M.init(register)
	register("PLAIN", { "plain", "plain_test" }, process);
end

return M;
