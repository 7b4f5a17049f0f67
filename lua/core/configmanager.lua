-- core.configmanager for plugins: read access to the loaded configuration (the global
-- section is "*"); writes are refused, as Lilt's configuration comes from the files.

local native = require "lilt.native";

local M = {};

function M.get(host, key, _)
	if key == nil then key, host = host, "*"; end
	return native.config(host or "*", key);
end

function M.rawget(host, key)
	return native.config_raw and native.config_raw(host or "*", key) or native.config(host or "*", key);
end

function M.set(host, key, value)
	native.log("warn", "configmanager", "A plugin tried to set option '" .. tostring(key)
		.. "' at run time; Lilt's configuration is read from its files only");
	return false;
end

-- A table view of every host's section (`getconfig()[host][key]`).
function M.getconfig()
	return setmetatable({}, {
		__index = function(_, host)
			return setmetatable({}, { __index = function(_, key) return native.config(host, key); end });
		end,
	});
end

function M.load() return nil, "Lilt loads its configuration itself"; end
function M.addparser() end
function M.parsers() return {}; end
M.files = {};

return M;
