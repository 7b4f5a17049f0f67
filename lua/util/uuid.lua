-- util.uuid (reference §3.5): random version 4 UUIDs.

local native = require "lilt.native";

local M = {};
M.generate = native.uuid;
function M.get_nibbles(n)
	return native.sha1(native.random_bytes(n), true):sub(1, n);
end
function M.seed() end
return M;
