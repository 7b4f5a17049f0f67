-- util.x509: PEM/DER conversion and certificate identity checks (RFC 6125). Lilt's TLS
-- lives in Rust, so plugins get no LuaSec certificate objects; name checks work on a
-- table `{ subjectAltName = { dNSName = {...}, ["1.3.6.1.5.5.7.8.5"] = {...} },
-- subject = {...} }`-shaped value or any object with `:extensions()` and `:subject()`.

local base64 = require "util.encodings".base64;

local M = {};

function M.pem2der(pem)
	local body = pem:match("%-%-%-%-%-BEGIN [^-]+%-%-%-%-%-\r?\n(.-)\r?\n%-%-%-%-%-END [^-]+%-%-%-%-%-");
	if not body then return nil; end
	return base64.decode((body:gsub("%s", "")));
end

function M.der2pem(der, kind)
	kind = kind or "CERTIFICATE";
	local b64 = base64.encode(der);
	local lines = {};
	for i = 1, #b64, 64 do lines[#lines + 1] = b64:sub(i, i + 63); end
	return "-----BEGIN " .. kind .. "-----\n" .. table.concat(lines, "\n") .. "\n-----END " .. kind .. "-----\n";
end

local function match_dns(name, pattern)
	name, pattern = name:lower(), pattern:lower();
	if name == pattern then return true; end
	local rest = pattern:match("^%*%.(.+)$");
	if rest then
		local _, tail = name:match("^([^.]+)%.(.+)$");
		return tail == rest;
	end
	return false;
end

local function extensions_of(cert)
	if type(cert) ~= "table" then return {}; end
	if type(cert.extensions) == "function" then return cert:extensions() or {}; end
	return cert;
end

function M.get_identities(cert)
	local names = {};
	local san = extensions_of(cert)["2.5.29.17"] or extensions_of(cert).subjectAltName or {};
	for _, n in ipairs(san.dNSName or {}) do names[n:lower()] = { DNS = true }; end
	for _, n in ipairs(san["1.3.6.1.5.5.7.8.7"] or {}) do
		local host = n:match("^_xmpp%-[%w]+%.(.+)$") or n;
		names[host:lower()] = names[host:lower()] or {};
		names[host:lower()].SRV = true;
	end
	for _, n in ipairs(san["1.3.6.1.5.5.7.8.5"] or {}) do
		names[n:lower()] = names[n:lower()] or {};
		names[n:lower()].xmppAddr = true;
	end
	return names;
end

function M.verify_identity(host, service, cert)
	local san = extensions_of(cert)["2.5.29.17"] or extensions_of(cert).subjectAltName;
	if san then
		for _, n in ipairs(san["1.3.6.1.5.5.7.8.5"] or {}) do
			if n:lower() == host:lower() then return true; end
		end
		if service then
			for _, n in ipairs(san["1.3.6.1.5.5.7.8.7"] or {}) do
				if n:lower() == ("_" .. service .. "." .. host):lower() then return true; end
			end
		end
		for _, n in ipairs(san.dNSName or {}) do
			if match_dns(host, n) then return true; end
		end
		if san.dNSName or san["1.3.6.1.5.5.7.8.5"] then return false; end
	end
	local subject = type(cert) == "table" and (type(cert.subject) == "function" and cert:subject() or cert.subject);
	for _, entry in ipairs(subject or {}) do
		if entry.name == "commonName" or entry.oid == "2.5.4.3" then
			if match_dns(host, entry.value) then return true; end
		end
	end
	return false;
end

return M;
