-- util.human.units: numbers for people — `format(1536, "B", "b")` gives "1.5 KiB";
-- `adapt(value, unit, base)` returns the scaled number and the prefixed unit.

local M = {};

local decimal = { [-4] = "p", [-3] = "n", [-2] = "μ", [-1] = "m", [0] = "", "k", "M", "G", "T", "P", "E", "Z", "Y" };
local binary = { [0] = "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi" };

function M.adapt(value, unit, base)
	if value == 0 then return 0, unit; end
	if value ~= value or value == math.huge or value == -math.huge then return value, unit; end
	local prefixes, step;
	if base == "b" then prefixes, step = binary, 1024; else prefixes, step = decimal, 1000; end
	local n = math.floor(math.log(math.abs(value), step));
	if not prefixes[n] then n = n > 0 and #prefixes or (base == "b" and 0 or -4); end
	local scaled = value / step ^ n;
	return scaled, prefixes[n] .. (unit or "");
end

function M.format(value, unit, base)
	local scaled, u = M.adapt(value, unit, base);
	local text = string.format("%.3g", scaled);
	if u == "" then return text; end
	return text .. " " .. u;
end

return M;
