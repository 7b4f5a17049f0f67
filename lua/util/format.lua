-- util.format: printf-style formatting that tolerates missing and non-string arguments.

local M = {};

function M.format(fmt, ...)
	local args = table.pack(...);
	if type(fmt) ~= "string" then fmt = tostring(fmt); end
	local i = 0;
	local out = fmt:gsub("%%([%-+ #0]*%d*%.?%d*)([%a%%])", function(flags, conv)
		if conv == "%" then return "%"; end
		i = i + 1;
		local v = args[i];
		if i > args.n then return "nil"; end
		if conv == "d" or conv == "i" then
			local n = tonumber(v);
			if not n then return tostring(v); end
			return string.format("%" .. flags .. "d", math.floor(n));
		elseif conv == "q" then
			return string.format("%q", tostring(v));
		elseif conv == "s" then
			return string.format("%" .. flags .. "s", tostring(v));
		elseif conv:match("[eEfgGxXoc]") then
			local n = tonumber(v);
			if not n then return tostring(v); end
			if conv:match("[xXoc]") then n = math.floor(n); end
			return string.format("%" .. flags .. conv, n);
		end
		return tostring(v);
	end);
	if i < args.n then
		local extra = {};
		for j = i + 1, args.n do extra[#extra + 1] = tostring(args[j]); end
		out = out .. " " .. table.concat(extra, " ");
	end
	return out;
end

return M;
