-- util.hex: bytes to lowercase hex and back (`to`/`from`, also `encode`/`decode`).

local M = {};

function M.to(s)
	return (s:gsub(".", function(c) return string.format("%02x", c:byte()); end));
end

function M.from(s)
	if #s % 2 ~= 0 or s:find("[^%x]") then return nil; end
	return (s:gsub("%x%x", function(h) return string.char(tonumber(h, 16)); end));
end

M.encode, M.decode = M.to, M.from;
return M;
