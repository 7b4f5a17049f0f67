-- socket.url (LuaSocket's API, our implementation): parse and build URLs (RFC 3986),
-- escape/unescape, split and join paths, resolve a relative URL against a base.

local M = {};

function M.escape(s)
	return (s:gsub("[^%w%-_%.!~%*'%(%)]", function(c) return string.format("%%%02x", c:byte()); end));
end

function M.unescape(s)
	return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)); end));
end

-- parse(url[, defaults]): scheme, authority, userinfo, user, password, host, port, path,
-- params, query, fragment.
function M.parse(url, defaults)
	if not url or url == "" then return nil, "invalid url"; end
	local parsed = {};
	for k, v in pairs(defaults or {}) do parsed[k] = v; end
	url = url:gsub("#(.*)$", function(f) parsed.fragment = f; return ""; end);
	url = url:gsub("^([%w][%w%+%-%.]*)%:", function(s) parsed.scheme = s:lower(); return ""; end);
	url = url:gsub("^//([^/]*)", function(a) parsed.authority = a; return ""; end);
	url = url:gsub("%?(.*)", function(q) parsed.query = q; return ""; end);
	url = url:gsub("%;(.*)", function(p) parsed.params = p; return ""; end);
	if url ~= "" then parsed.path = url; end
	local authority = parsed.authority;
	if not authority then return parsed; end
	authority = authority:gsub("^([^@]*)@", function(u) parsed.userinfo = u; return ""; end);
	authority = authority:gsub(":([^:%]]*)$", function(p) parsed.port = p; return ""; end);
	if parsed.port == "" then parsed.port = nil; end
	if authority ~= "" then parsed.host = authority:match("^%[(.+)%]$") or authority; end
	local userinfo = parsed.userinfo;
	if userinfo then
		userinfo = userinfo:gsub(":([^:]*)$", function(p) parsed.password = p; return ""; end);
		parsed.user = userinfo;
	end
	return parsed;
end

function M.build(parsed)
	local url = parsed.path or "";
	if parsed.params then url = url .. ";" .. parsed.params; end
	if parsed.query then url = url .. "?" .. parsed.query; end
	local authority = parsed.authority;
	if parsed.host then
		authority = parsed.host;
		if authority:find(":", 1, true) then authority = "[" .. authority .. "]"; end
		if parsed.port then authority = authority .. ":" .. tostring(parsed.port); end
		local userinfo = parsed.userinfo;
		if parsed.user then
			userinfo = parsed.user;
			if parsed.password then userinfo = userinfo .. ":" .. parsed.password; end
		end
		if userinfo then authority = userinfo .. "@" .. authority; end
	end
	if authority then url = "//" .. authority .. url; end
	if parsed.scheme then url = parsed.scheme .. ":" .. url; end
	if parsed.fragment then url = url .. "#" .. parsed.fragment; end
	return url;
end

function M.parse_path(path)
	local parsed = {};
	path = path or "";
	for segment in path:gmatch("([^/]+)") do parsed[#parsed + 1] = M.unescape(segment); end
	parsed.is_absolute = path:sub(1, 1) == "/" and 1 or nil;
	parsed.is_directory = path:sub(-1) == "/" and #path > 0 and 1 or nil;
	return parsed;
end

function M.build_path(parsed, unsafe)
	local parts = {};
	for i, segment in ipairs(parsed) do
		parts[i] = unsafe and segment or M.escape(segment);
	end
	local path = table.concat(parts, "/");
	if parsed.is_absolute then path = "/" .. path; end
	if parsed.is_directory and #parts > 0 then path = path .. "/"; end
	return path;
end

local function remove_dot_segments(path)
	local out = {};
	for segment in (path .. "/"):gmatch("([^/]*)/") do
		if segment == ".." then
			if #out > 1 then out[#out] = nil; end
		elseif segment ~= "." then
			out[#out + 1] = segment;
		end
	end
	local r = table.concat(out, "/");
	if path:match("/%.?%.?$") and r:sub(-1) ~= "/" then r = r .. "/"; end
	return r;
end

function M.absolute(base, relative)
	local b = type(base) == "table" and base or M.parse(base);
	local r = M.parse(relative) or {};
	if r.scheme then return relative; end
	r.scheme = b.scheme;
	if not r.authority then
		r.authority, r.host, r.port, r.userinfo, r.user, r.password =
			b.authority, b.host, b.port, b.userinfo, b.user, b.password;
		if not r.path then
			r.path = b.path;
			r.params = r.params or b.params;
			r.query = r.query or b.query;
		elseif r.path:sub(1, 1) ~= "/" then
			local dir = (b.path or "/"):gsub("[^/]*$", "");
			r.path = remove_dot_segments(dir .. r.path);
		else
			r.path = remove_dot_segments(r.path);
		end
	end
	return M.build(r);
end

return M;
