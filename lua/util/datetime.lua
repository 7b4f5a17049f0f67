-- util.datetime (reference §3.4): XEP-0082 date/time formats, always UTC.

local M = {};

function M.date(t) return os.date("!%Y-%m-%d", t and math.floor(t)); end
function M.datetime(t) return os.date("!%Y-%m-%dT%H:%M:%SZ", t and math.floor(t)); end
function M.time(t) return os.date("!%H:%M:%S", t and math.floor(t)); end
function M.legacy(t) return os.date("!%Y%m%dT%H:%M:%S", t and math.floor(t)); end

-- Days since the epoch of a civil date (proleptic Gregorian).
local function days_from_civil(y, m, d)
	if m <= 2 then y = y - 1; end
	local era = (y >= 0 and y or y - 399) // 400;
	local yoe = y - era * 400;
	local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1;
	local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy;
	return era * 146097 + doe - 719468;
end

function M.parse(s)
	if type(s) ~= "string" then return nil; end
	local year, month, day, hour, min, sec, rest =
		s:match("^(%d%d%d%d)%-?(%d%d)%-?(%d%d)T(%d%d):(%d%d):(%d%d)(.*)$");
	if not year then return nil; end
	local frac, tz = rest:match("^(%.?%d*)(.*)$");
	local offset = 0;
	if tz ~= "Z" and tz ~= "" then
		local sign, oh, om = tz:match("^([+-])(%d%d):?(%d%d)$");
		if not sign then return nil; end
		offset = (tonumber(oh) * 60 + tonumber(om)) * 60;
		if sign == "-" then offset = -offset; end
	end
	local t = days_from_civil(tonumber(year), tonumber(month), tonumber(day)) * 86400
		+ tonumber(hour) * 3600 + tonumber(min) * 60 + tonumber(sec);
	if frac ~= "" and frac ~= "." then t = t + tonumber("0" .. frac); end
	return t - offset;
end

return M;
