-- core.sessionmanager, read side: plugins may look sessions up; creating and binding
-- sessions stays with Lilt's core.

local sessions = require "core.sessions";

local M = {};
M.get_session = sessions.get;
function M.get_full(full_jid) return sessions.full_sessions[full_jid]; end
function M.get_bare(bare_jid) return sessions.bare_sessions[bare_jid]; end
function M.send_to_available_resources(user, host, stanza)
	local u = sessions.bare_sessions[user .. "@" .. host];
	local count = 0;
	if u then
		for _, s in pairs(u.sessions) do
			if s.presence then s.send(stanza); count = count + 1; end
		end
	end
	return count;
end
M.send_to_interested_resources = M.send_to_available_resources;
return M;
