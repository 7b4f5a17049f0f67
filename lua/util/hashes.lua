-- util.hashes (reference §3.6): digests, HMACs and PBKDF2, computed natively.

local native = require "lilt.native";

local M = {
	sha1 = native.sha1, sha224 = native.sha224, sha256 = native.sha256,
	sha384 = native.sha384, sha512 = native.sha512,
	hmac_sha1 = native.hmac_sha1, hmac_sha256 = native.hmac_sha256, hmac_sha512 = native.hmac_sha512,
	pbkdf2_hmac_sha1 = native.pbkdf2_hmac_sha1, pbkdf2_hmac_sha256 = native.pbkdf2_hmac_sha256,
};
M.scram_Hi_sha1 = M.pbkdf2_hmac_sha1;

function M.md5()
	error("util.hashes.md5 is not available in Lilt", 2);
end
M.hmac_md5 = M.md5;

-- Constant-time comparison.
function M.equals(a, b)
	if #a ~= #b then return false; end
	local diff = 0;
	for i = 1, #a do diff = diff | (a:byte(i) ~ b:byte(i)); end
	return diff == 0;
end

return M;
