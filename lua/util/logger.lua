-- util.logger: named loggers writing into Lilt's log (`level, fmt, ...`).

local native = require "lilt.native";
local format = require "util.format".format;

local M = {};

function M.init(name)
	return function(level, fmt, ...)
		native.log(level, name, format(fmt, ...));
	end;
end

function M.make_logger(name, level)
	local log = M.init(name);
	return function(fmt, ...) return log(level, fmt, ...); end;
end

return M;
