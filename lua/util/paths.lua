-- util.paths: joining and resolving file paths, and shell-style globs as Lua patterns.

local M = {};

local sep = package.config:sub(1, 1);
M.sep = sep;

-- `path` relative to `parent` unless it is absolute (or `~/`-prefixed, left as is).
function M.resolve_relative_path(parent, path)
	if not path then return nil; end
	if path:sub(1, 1) == sep or path:match("^~") or not parent then return path; end
	return parent .. sep .. path;
end

function M.glob_to_pattern(glob)
	return "^" .. glob:gsub("[%p]", function(c)
		if c == "*" then return ".*";
		elseif c == "?" then return ".";
		end
		return "%" .. c;
	end) .. "$";
end

function M.join(...)
	return (table.concat({ ... }, sep):gsub(sep .. "+", sep));
end

-- Lilt never searches the system Lua path, so there is nothing to complement.
function M.complement_lua_path() end

return M;
