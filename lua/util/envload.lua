-- util.envload: load a chunk (text only) with a given environment.

local M = {};

function M.envload(code, chunkname, env)
	return load(code, chunkname, "t", env);
end

function M.envloadfile(file, env)
	local f, err = io.open(file);
	if not f then return nil, err; end
	local code = f:read("*a");
	f:close();
	if not code then return nil, "could not read " .. file; end
	return load(code, "@" .. file, "t", env);
end

return M;
