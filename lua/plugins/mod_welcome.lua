-- mod_welcome: greets newly registered users with `welcome_message`, where `$username`
-- and `$host` are replaced by the new account's parts.

local st = require "util.stanza";

local template = module:get_option_string("welcome_message",
	"Hello $username, welcome to the $host IM server!");

module:hook("user-registered", function(user)
	local body = template:gsub("%$(%w+)", function(key)
		local v = user[key];
		return v ~= nil and tostring(v) or "$" .. key;
	end);
	module:send(st.message({ to = user.username .. "@" .. user.host, from = module.host }, body));
	module:log("debug", "Welcomed %s@%s", user.username, user.host);
end);
