-- lfs (LuaFileSystem's API, a subset, our implementation): file attributes, directory
-- listing and creation, as plugins use them for data and upload directories.

local native = require "lilt.native";

local M = { _VERSION = "LuaFileSystem 1.8.0 (Lilt subset)" };

function M.attributes(path, request)
	local attr, err = native.fs_stat(path, true);
	if not attr then return nil, err, 2; end
	if type(request) == "string" then return attr[request]; end
	if type(request) == "table" then
		for k, v in pairs(attr) do request[k] = v; end
		return request;
	end
	return attr;
end

function M.symlinkattributes(path, request)
	local attr, err = native.fs_stat(path, false);
	if not attr then return nil, err, 2; end
	if type(request) == "string" then return attr[request]; end
	return attr;
end

-- dir(path): iterates entry names, "." and ".." included (as LuaFileSystem does).
function M.dir(path)
	local names, err = native.list_dir(path);
	if not names then error("cannot open " .. tostring(path) .. ": " .. tostring(err), 2); end
	local list = { ".", ".." };
	for _, n in ipairs(names) do list[#list + 1] = n; end
	local i = 0;
	local dir_obj = {
		next = function()
			i = i + 1;
			return list[i];
		end,
		close = function() i = #list; end,
	};
	return function() i = i + 1; return list[i]; end, dir_obj;
end

function M.mkdir(path)
	local ok, err = native.mkdir(path);
	if not ok then return nil, err, 17; end
	return true;
end

function M.rmdir(path)
	local ok, err = native.rmdir(path);
	if not ok then return nil, err; end
	return true;
end

function M.currentdir() return native.currentdir(); end

function M.touch(path)
	local f, err = io.open(path, "a");
	if not f then return nil, err; end
	f:close();
	return true;
end

function M.chdir() return nil, "Lilt does not change its working directory for plugins"; end
function M.lock() return true; end
function M.unlock() return true; end
function M.setmode() return true, "binary"; end

return M;
