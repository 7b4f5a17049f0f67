-- mod_announce: an admin's message to `<host>/announce/online` is copied to every online
-- session of that host. Non-admins get `auth/forbidden`.

local st = require "util.stanza";
local jid = require "util.jid";
local usermanager = require "core.usermanager";

local function send_to_online(message, host)
	local count = 0;
	for username, user in pairs(prosody.hosts[host].sessions) do
		for _, session in pairs(user.sessions) do
			local copy = st.clone(message);
			copy.attr.from = host;
			copy.attr.to = session.full_jid;
			module:send(copy);
			count = count + 1;
		end
	end
	return count;
end

module:hook("message/host", function(event)
	local origin, stanza = event.origin, event.stanza;
	if jid.resource(stanza.attr.to) ~= "announce/online" then
		return;
	end
	if not usermanager.is_admin(stanza.attr.from, module.host) then
		module:log("warn", "Non-admin %s tried to send a server announcement", stanza.attr.from);
		origin.send(st.error_reply(stanza, "auth", "forbidden"));
		return true;
	end
	local message = st.clone(stanza);
	message.attr.to = nil;
	local count = send_to_online(message, module.host);
	module:log("info", "Announcement sent to %d online users", count);
	return true;
end);
