-- util.id (reference §3.5): random identifiers, base64url without padding.

local native = require "lilt.native";

local function b64url(bytes)
	return (native.base64_encode(bytes):gsub("[+/=]", { ["+"] = "-", ["/"] = "_", ["="] = "" }));
end

local M = {};
function M.custom(n) return function() return b64url(native.random_bytes(n)); end; end
M.tiny = M.custom(3);
M.short = M.custom(9);
M.medium = M.custom(18);
M.long = M.custom(27);
return M;
