-- core.s2smanager for plugins: the read surface (incoming and outgoing server-to-server
-- sessions). Federation is native in Lilt; these tables show what Lua can see of it.

local M = {};

M.incoming_s2s = setmetatable({}, { __mode = "k" });

function M.new_incoming() return nil, "s2s connections are handled natively"; end
function M.new_outgoing() return nil, "s2s connections are handled natively"; end
function M.make_authenticated() return false; end
function M.destroy_session(session, reason)
	if session and session.close then session:close(reason); end
end
function M.retire_session() end
function M.mark_connected() end

return M;
