-- util.sasl.scram: RFC 5802 SCRAM-SHA-1 and SCRAM-SHA-256 (server side, no channel
-- binding). The profile gives stored credentials (`scram_sha_1(self, user, realm)` ->
-- stored_key, server_key, iterations, salt, state) or a plain password (`plain`), from
-- which the salted password is derived.

local hashes = require "util.hashes";
local base64 = require "util.encodings".base64;
local saslprep = require "util.encodings".stringprep.saslprep;
local nodeprep = require "util.encodings".stringprep.nodeprep;
local random = require "util.random";

local M = {};

local function xor(a, b)
	local out = {};
	for i = 1, #a do out[i] = string.char(a:byte(i) ~ b:byte(i)); end
	return table.concat(out);
end

local algorithms = {
	["SHA-1"] = { profile = "scram_sha_1", H = hashes.sha1, HMAC = hashes.hmac_sha1, Hi = hashes.pbkdf2_hmac_sha1 },
	["SHA-256"] = { profile = "scram_sha_256", H = hashes.sha256, HMAC = hashes.hmac_sha256, Hi = hashes.pbkdf2_hmac_sha256 },
};

-- The stored key and server key for a password (what internal_hashed keeps).
function M.getAuthenticationDatabaseSHA1(password, salt, iterations)
	local a = algorithms["SHA-1"];
	local salted = a.Hi(password, salt, iterations);
	local stored = a.H(a.HMAC(salted, "Client Key"));
	return true, stored, a.HMAC(salted, "Server Key");
end

local function unescape_name(s)
	if s:find("=[^23]") or s:find("=.?$") then return nil; end
	return (s:gsub("=2C", ","):gsub("=3D", "="));
end

local function make(alg_name)
	local a = algorithms[alg_name];
	return function(self, message)
		local state = self.state;
		if not state then
			if not message then return "failure", "malformed-request"; end
			local gs2_header, gs2_cb, authzid = message:match("^(([pny])=?[^,]*,([^,]*),)");
			if not gs2_header then return "failure", "malformed-request"; end
			if gs2_cb == "p" then return "failure", "malformed-request", "Channel binding is not supported"; end
			local client_first_bare = message:sub(#gs2_header + 1);
			local name, cnonce = client_first_bare:match("^n=([^,]*),r=([^,]*)");
			if not name or cnonce == "" then return "failure", "malformed-request"; end
			authzid = authzid:match("^a=(.*)$") or "";
			name = unescape_name(name);
			name = name and saslprep(name);
			local username = name and nodeprep(name);
			if not username or username == "" then return "failure", "malformed-request", "Invalid username."; end
			local stored_key, server_key, iterations, salt, account_state;
			local by_scram = self.profile[a.profile];
			if by_scram then
				stored_key, server_key, iterations, salt, account_state = by_scram(self, username, self.realm);
				if account_state == false then return "failure", "account-disabled"; end
				if not stored_key then return "failure", "not-authorized", "The response provided by the client doesn't match the one we calculated."; end
			elseif self.profile.plain then
				local password;
				password, account_state = self.profile.plain(self, username, self.realm);
				if account_state == false then return "failure", "account-disabled"; end
				if not password then return "failure", "not-authorized", "The response provided by the client doesn't match the one we calculated."; end
				password = saslprep(password);
				salt, iterations = random.bytes(16), 4096;
				local salted = a.Hi(password, salt, iterations);
				stored_key = a.H(a.HMAC(salted, "Client Key"));
				server_key = a.HMAC(salted, "Server Key");
			else
				return "failure", "temporary-auth-failure";
			end
			local nonce = cnonce .. base64.encode(random.bytes(15)):gsub("[^%w+/]", "");
			local server_first = "r=" .. nonce .. ",s=" .. base64.encode(salt) .. ",i=" .. tostring(iterations);
			self.username = username;
			self.state = {
				gs2_header = gs2_header, nonce = nonce, client_first_bare = client_first_bare,
				server_first = server_first, stored_key = stored_key, server_key = server_key,
				authzid = authzid ~= "" and authzid or nil,
			};
			return "challenge", server_first;
		end
		if not message then return "failure", "malformed-request"; end
		local without_proof, channel, nonce, proof = message:match("^(c=([^,]*),r=([^,]*),.-)p=([^,]*)$");
		if not without_proof then
			without_proof, channel, nonce, proof = message:match("^(c=([^,]*),r=([^,]*)),p=([^,]*)$");
		end
		if not without_proof then return "failure", "malformed-request"; end
		without_proof = without_proof:gsub(",$", "");
		if base64.decode(channel) ~= state.gs2_header then
			return "failure", "malformed-request", "Invalid channel binding value.";
		end
		if nonce ~= state.nonce then return "failure", "malformed-request", "Wrong nonce in client-final message."; end
		local auth_message = state.client_first_bare .. "," .. state.server_first .. "," .. without_proof;
		local client_signature = a.HMAC(state.stored_key, auth_message);
		local client_key = xor(base64.decode(proof) or "", client_signature);
		if #client_key ~= #client_signature or not hashes.equals(a.H(client_key), state.stored_key) then
			return "failure", "not-authorized", "The response provided by the client doesn't match the one we calculated.";
		end
		local verifier = base64.encode(a.HMAC(state.server_key, auth_message));
		return "success", "v=" .. verifier;
	end;
end

function M.init(register)
	register("SCRAM-SHA-1", { "plain", "scram_sha_1" }, make("SHA-1"));
	register("SCRAM-SHA-256", { "plain", "scram_sha_256" }, make("SHA-256"));
end

return M;
