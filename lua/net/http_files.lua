-- net.http.files: an HTTP handler serving a directory (`serve(path)` or `serve{ path,
-- index_files, directory_index, mime_map }`), with content types by extension, index
-- files, optional listings, and no way out of the directory.

local lfs = require "lfs";

local M = {};

local mime = {
	html = "text/html; charset=utf-8", htm = "text/html; charset=utf-8",
	css = "text/css", js = "application/javascript", json = "application/json",
	txt = "text/plain; charset=utf-8", xml = "text/xml", svg = "image/svg+xml",
	png = "image/png", jpg = "image/jpeg", jpeg = "image/jpeg", gif = "image/gif",
	webp = "image/webp", ico = "image/vnd.microsoft.icon", woff = "font/woff", woff2 = "font/woff2",
	wasm = "application/wasm", pdf = "application/pdf",
};
M.mime_map = mime;

local function sanitize(path)
	local parts = {};
	for part in (path or ""):gmatch("[^/]+") do
		if part == ".." then return nil; end
		if part ~= "." and part ~= "" then parts[#parts + 1] = part; end
	end
	return table.concat(parts, "/");
end

local function read(path)
	local f = io.open(path, "rb");
	if not f then return nil; end
	local data = f:read("a");
	f:close();
	return data;
end

function M.serve(opts)
	if type(opts) ~= "table" then opts = { path = opts }; end
	local base = opts.path;
	local index_files = opts.index_files or { "index.html", "index.htm" };
	local types = setmetatable(opts.mime_map or {}, { __index = mime });
	return function(event, path)
		local response = event.response;
		local rel = sanitize(path or event.request.path:match("^/[^/]*/?(.*)$"));
		if not rel then return 403; end
		local full = base .. (rel ~= "" and ("/" .. rel) or "");
		local mode = lfs.attributes(full, "mode");
		if mode == "directory" then
			if event.request.path:sub(-1) ~= "/" then
				response.headers.location = event.request.path .. "/";
				return 301;
			end
			for _, index in ipairs(index_files) do
				if lfs.attributes(full .. "/" .. index, "mode") == "file" then
					full, mode = full .. "/" .. index, "file";
					break;
				end
			end
			if mode == "directory" then
				if not opts.directory_index then return 403; end
				local names = {};
				for name in lfs.dir(full) do
					if name:sub(1, 1) ~= "." then names[#names + 1] = name; end
				end
				table.sort(names);
				local lines = { "<!DOCTYPE html><title>Index</title><ul>" };
				for _, name in ipairs(names) do
					lines[#lines + 1] = string.format("<li><a href='%s'>%s</a></li>", name, name);
				end
				lines[#lines + 1] = "</ul>";
				response.headers.content_type = "text/html; charset=utf-8";
				return table.concat(lines, "\n");
			end
		end
		if mode ~= "file" then return 404; end
		local data = read(full);
		if not data then return 403; end
		local ext = full:match("%.([^./]+)$");
		response.headers.content_type = ext and types[ext:lower()] or "application/octet-stream";
		return data;
	end;
end

return M;
