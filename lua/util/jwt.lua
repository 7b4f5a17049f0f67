-- util.jwt: HS256 JSON Web Tokens — `sign(key, payload)` and `verify(key, token)`
-- (true + payload; false + "signature-mismatch"; nil + why the token is malformed).

local json = require "util.json";
local hashes = require "util.hashes";
local base64 = require "util.encodings".base64;

local M = {};

local function b64url(data)
	return (base64.encode(data):gsub("[+/=]", { ["+"] = "-", ["/"] = "_", ["="] = "" }));
end

local function unb64url(data)
	local s = data:gsub("[-_]", { ["-"] = "+", ["_"] = "/" });
	s = s .. string.rep("=", (4 - #s % 4) % 4);
	return base64.decode(s);
end
M._b64url, M._unb64url = b64url, unb64url;

local header = b64url('{"alg":"HS256","typ":"JWT"}');

function M.sign(key, payload)
	local signed = header .. "." .. b64url(json.encode(payload));
	return signed .. "." .. b64url(hashes.hmac_sha256(key, signed));
end

function M.verify(key, token)
	local signed, h, body, sig = token:match("^(([%w_-]+)%.([%w_-]+))%.([%w_-]+)$");
	if not signed then return nil, "invalid-encoding"; end
	local head = json.decode(unb64url(h) or "");
	if type(head) ~= "table" then return nil, "invalid-header"; end
	if head.alg ~= "HS256" then return nil, "unsupported-algorithm"; end
	if not hashes.equals(b64url(hashes.hmac_sha256(key, signed)), sig) then
		return false, "signature-mismatch";
	end
	local payload = json.decode(unb64url(body) or "");
	if payload == nil then return nil, "json-decode-error"; end
	return true, payload;
end

-- 0.12.x later API: signer/verifier closures for one key.
function M.new_signer(_, key)
	return function(payload) return M.sign(key, payload); end;
end
function M.new_verifier(_, key)
	return function(token) return M.verify(key, token); end;
end
function M.init(alg, key)
	return M.new_signer(alg, key), M.new_verifier(alg, key);
end

return M;
