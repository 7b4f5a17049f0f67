-- util.caps: the XEP-0115 verification string of a disco#info query and its SHA-1
-- hash (base64), used by PEP and disco to name the server's capabilities.

local base64 = require "util.encodings".base64.encode;
local sha1 = require "util.hashes".sha1;

local M = {};

local function lt(a, b) return a < b; end

-- Returns hash, verification string; or nil, an error for malformed input.
function M.calculate_hash(disco_info)
	local identities, features, extensions = {}, {}, {};
	for _, tag in ipairs(disco_info) do
		if type(tag) == "table" and tag.name then
			if tag.name == "identity" then
				local a = tag.attr;
				identities[#identities + 1] = (a.category or "") .. "/" .. (a.type or "") .. "/"
					.. (a["xml:lang"] or "") .. "/" .. (a.name or "");
			elseif tag.name == "feature" then
				if tag.attr.var then features[#features + 1] = tag.attr.var; end
			elseif tag.name == "x" and tag.attr.xmlns == "jabber:x:data" then
				local form_type, fields = nil, {};
				for field in tag:childtags("field") do
					local var = field.attr.var;
					local values = {};
					for value in field:childtags("value") do values[#values + 1] = value:get_text(); end
					if var == "FORM_TYPE" then
						form_type = values[1];
					elseif var then
						table.sort(values, lt);
						if #values > 0 then
							fields[#fields + 1] = var .. "<" .. table.concat(values, "<");
						else
							fields[#fields + 1] = var;
						end
					end
				end
				if form_type then
					table.sort(fields, lt);
					local s = form_type;
					if #fields > 0 then s = s .. "<" .. table.concat(fields, "<"); end
					extensions[#extensions + 1] = s;
				end
			end
		end
	end
	table.sort(identities, lt);
	table.sort(features, lt);
	table.sort(extensions, lt);
	local parts = {};
	for _, v in ipairs(identities) do parts[#parts + 1] = v; end
	for _, v in ipairs(features) do parts[#parts + 1] = v; end
	for _, v in ipairs(extensions) do parts[#parts + 1] = v; end
	local ver = #parts > 0 and (table.concat(parts, "<") .. "<") or "";
	return base64(sha1(ver)), ver;
end

return M;
