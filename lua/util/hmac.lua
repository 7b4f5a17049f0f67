-- util.hmac: HMAC by hash name (sha1, sha256, sha512).

local hashes = require "util.hashes";

return {
	sha1 = hashes.hmac_sha1,
	sha256 = hashes.hmac_sha256,
	sha512 = hashes.hmac_sha512,
	md5 = hashes.hmac_md5,
};
