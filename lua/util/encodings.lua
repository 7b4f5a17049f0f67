-- util.encodings: base64, stringprep profiles (nodeprep, nameprep, resourceprep,
-- saslprep), UTF-8 validation and IDNA stand-ins.

local native = require "lilt.native";

local M = {};
M.base64 = { encode = native.base64_encode, decode = native.base64_decode };
M.stringprep = {
	nodeprep = native.nodeprep,
	nameprep = native.nameprep,
	resourceprep = native.resourceprep,
	saslprep = native.saslprep,
};
M.utf8 = {
	valid = function(s) return utf8.len(s) ~= nil; end,
	length = function(s) return utf8.len(s); end,
};
-- Only ASCII names pass through IDNA here: Lilt leaves punycode to the stringprep layer.
M.idna = {
	to_ascii = function(s) if s:match("^[%w%.%-]*$") then return s; end return nil; end,
	to_unicode = function(s) return s; end,
};
-- `encodings.confusable.skeleton`, loaded when first used.
setmetatable(M, { __index = function(t, k)
	if k == "confusable" then
		local c = require "util.encodings.confusable";
		rawset(t, k, c);
		return c;
	end
end });
return M;
