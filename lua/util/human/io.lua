-- util.human.io: console helpers (a subset of Prosody's): durations, ellipsis, padding,
-- simple tables, and yes/no prompts that read nothing in the server.

local M = {};

function M.ellipsis(s, width)
	if #s <= width then return s; end
	return s:sub(1, width - 3) .. "...";
end

function M.left_pad(s, width) return string.rep(" ", width - #s) .. s; end
function M.right_pad(s, width) return s .. string.rep(" ", width - #s); end

local units = { s = 1, m = 60, h = 3600, d = 86400, w = 604800, mo = 2629746, y = 31556952 };

function M.parse_duration(spec)
	if type(spec) == "number" then return spec; end
	local n, unit = tostring(spec):lower():match("^%s*(%d+%.?%d*)%s*([a-z]*)%s*$");
	if not n then return nil; end
	local alias = { sec = "s", second = "s", seconds = "s", min = "m", minute = "m", minutes = "m",
		hour = "h", hours = "h", day = "d", days = "d", week = "w", weeks = "w", month = "mo",
		months = "mo", year = "y", years = "y" };
	unit = alias[unit] or unit;
	if unit == "" then unit = "s"; end
	local mult = units[unit];
	if not mult then return nil; end
	return tonumber(n) * mult;
end

function M.parse_duration_lax(spec)
	return M.parse_duration(spec) or M.parse_duration(tostring(spec):gsub("s$", ""));
end

-- table(columns, width) returns a row renderer: `row(values)` or `row()` for the header.
function M.table(columns, width)
	width = width or 80;
	local fixed, flex = 0, 0;
	for _, col in ipairs(columns) do
		if col.width then fixed = fixed + col.width; else flex = flex + 1; end
	end
	local spare = flex > 0 and math.max(1, (width - fixed - #columns) // flex) or 0;
	return function(row)
		local cells = {};
		for i, col in ipairs(columns) do
			local w = col.width or spare;
			local v;
			if row then v = row[col.key or i]; else v = col.title or col.key or ""; end
			if v ~= nil and col.mapper and row then v = col.mapper(v, row); end
			v = M.ellipsis(tostring(v == nil and "" or v), w);
			cells[i] = col.align == "right" and M.left_pad(v, w) or M.right_pad(v, w);
		end
		return table.concat(cells, " ");
	end;
end

function M.printf(fmt, ...) print(string.format(fmt, ...)); end
function M.read_line() return nil; end
function M.yesno() return false; end

return M;
