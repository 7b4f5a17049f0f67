-- util.presence: which of a user's resources get a bare-JID message — the available
-- ones with the highest non-negative priority.

local M = {};

function M.select_top_resources(user)
	local best, top = 0, {};
	for _, session in pairs(user.sessions or {}) do
		local p = session.presence;
		if p then
			local priority = session.priority or 0;
			if priority > best then
				best, top = priority, { session };
			elseif priority == best then
				top[#top + 1] = session;
			end
		end
	end
	return top;
end

function M.recalc_resource_map(user)
	if not user then return nil; end
	user.top_resources = M.select_top_resources(user);
	if #user.top_resources == 0 then user.top_resources = nil; end
	return user.top_resources;
end

return M;
