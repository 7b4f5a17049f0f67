-- util.http: URL and form encoding for HTTP plugins, token lists, path normalisation.

local M = {};

function M.urlencode(s)
	return s and (s:gsub("[^%w._~-]", function(c) return string.format("%%%02X", c:byte()); end));
end

function M.urldecode(s)
	return s and (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)); end));
end

local function form_part(s)
	return (M.urlencode(s):gsub("%%20", "+"));
end

-- A list of { name = k, value = v } (order kept) or a map (keys sorted).
function M.formencode(form)
	local parts = {};
	if form[1] then
		for _, field in ipairs(form) do
			parts[#parts + 1] = form_part(field.name) .. "=" .. form_part(field.value);
		end
	else
		local keys = {};
		for k in pairs(form) do keys[#keys + 1] = k; end
		table.sort(keys);
		for _, k in ipairs(keys) do parts[#parts + 1] = form_part(k) .. "=" .. form_part(form[k]); end
	end
	return table.concat(parts, "&");
end

-- Returns a table that is both a map (name -> value) and a list of { name, value }.
function M.formdecode(s)
	if not s:find("=", 1, true) then return M.urldecode(s); end
	local r = {};
	for k, v in s:gmatch("([^&=]*)=([^&]*)") do
		k = M.urldecode((k:gsub("+", " ")));
		v = M.urldecode((v:gsub("+", " ")));
		r[#r + 1] = { name = k, value = v };
		r[k] = v;
	end
	return r;
end

function M.contains_token(field, token)
	field = "," .. field:gsub("[ \t]", ""):lower() .. ",";
	return field:find("," .. token:lower() .. ",", 1, true) ~= nil;
end

function M.normalize_path(path, is_dir)
	if is_dir then
		if path:sub(-1) ~= "/" then path = path .. "/"; end
	elseif path:sub(-1) == "/" then
		path = path:sub(1, -2);
	end
	if path:sub(1, 1) ~= "/" then path = "/" .. path; end
	return path;
end

return M;
