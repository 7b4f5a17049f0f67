-- util.dependencies: Prosody checks its C libraries at startup; Lilt bundles what it
-- provides, so the checks pass and optional requires are soft.

local M = {};

function M.softreq(...)
	local ok, lib = pcall(require, ...);
	if ok then return lib; end
	return nil, lib;
end

function M.missingdep() end
function M.check_dependencies() return true; end
function M.log_warnings() end

M.lua_version = function() return _VERSION; end
return M;
