-- util.ip: parse addresses and test CIDR membership (IPv4 and IPv6).

local M = {};
local ip_mt = { __name = "ip" };
ip_mt.__index = ip_mt;
function ip_mt:__tostring() return self.addr; end
function ip_mt.__eq(a, b) return a.packed == b.packed; end

local function pack4(s)
	local a, b, c, d = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$");
	if not a then return nil; end
	local bytes = {};
	for i, v in ipairs({ a, b, c, d }) do
		v = tonumber(v);
		if v > 255 then return nil; end
		bytes[i] = string.char(v);
	end
	return table.concat(bytes);
end

local function pack6(s)
	if s:find("%.") then
		local head, v4 = s:match("^(.*:)(%d+%.%d+%.%d+%.%d+)$");
		local p4 = v4 and pack4(v4);
		if not p4 then return nil; end
		s = head .. string.format("%x:%x", p4:byte(1) * 256 + p4:byte(2), p4:byte(3) * 256 + p4:byte(4));
	end
	local left, right = s:match("^(.-)::(.-)$");
	local groups = {};
	local function add(part)
		if part == "" then return true; end
		for g in (part .. ":"):gmatch("([^:]*):") do
			if not g:match("^%x%x?%x?%x?$") then return false; end
			groups[#groups + 1] = tonumber(g, 16);
		end
		return true;
	end
	if left then
		if not add(left) then return nil; end
		local lcount = #groups;
		local rgroups = {};
		local saved = groups;
		groups = rgroups;
		if not add(right) then return nil; end
		groups = saved;
		for _ = 1, 8 - lcount - #rgroups do groups[#groups + 1] = 0; end
		for _, g in ipairs(rgroups) do groups[#groups + 1] = g; end
	else
		if not add(s) then return nil; end
	end
	if #groups ~= 8 then return nil; end
	local out = {};
	for _, g in ipairs(groups) do out[#out + 1] = string.char(g >> 8, g & 0xff); end
	return table.concat(out);
end

function M.new_ip(addr, proto)
	if type(addr) ~= "string" then return nil, "invalid address"; end
	local packed, family;
	if proto ~= "IPv6" then packed = pack4(addr); family = "IPv4"; end
	if not packed and proto ~= "IPv4" then packed = pack6(addr); family = "IPv6"; end
	if not packed then return nil, "invalid address"; end
	return setmetatable({ addr = addr, proto = family, packed = packed }, ip_mt);
end

function M.match(a, b, bits)
	if a.proto ~= b.proto then return false; end
	bits = bits or #a.packed * 8;
	local whole = bits // 8;
	if a.packed:sub(1, whole) ~= b.packed:sub(1, whole) then return false; end
	local rest = bits % 8;
	if rest == 0 then return true; end
	local mask = (0xff << (8 - rest)) & 0xff;
	return (a.packed:byte(whole + 1) & mask) == (b.packed:byte(whole + 1) & mask);
end

function M.parse_cidr(cidr)
	local addr, bits = cidr:match("^([^/]+)/(%d+)$");
	local ip = M.new_ip(addr or cidr);
	return ip, tonumber(bits) or (ip and #ip.packed * 8);
end

function M.match_cidr(ip, cidr)
	if type(ip) == "string" then ip = M.new_ip(ip); end
	local net, bits = M.parse_cidr(cidr);
	if not ip or not net then return false; end
	return M.match(ip, net, bits);
end

return M;
